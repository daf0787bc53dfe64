import { MAX_PREVIEW_PIXELS, type Pixels } from './image.js';

/**
 * A JPEG (baseline or progressive) as RGBA, for a preview, through jpeg-js (pure JavaScript, no
 * native code), loaded only when a JPEG is previewed. Its own limits refuse a picture over the
 * preview's pixel cap and a decode that would take more than 256 MB; null for anything malformed
 * (a preview never throws).
 */
export async function decodeJpeg(data: Buffer): Promise<Pixels | null> {
  try {
    const { decode } = await import('jpeg-js');
    const img = decode(data, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: MAX_PREVIEW_PIXELS / 1e6, maxMemoryUsageInMB: 256 });
    if (!img.width || !img.height || img.width * img.height > MAX_PREVIEW_PIXELS || img.data.length !== img.width * img.height * 4) return null;
    return { width: img.width, height: img.height, rgba: img.data };
  } catch {
    return null;
  }
}
