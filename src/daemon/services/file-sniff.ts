import { fileTypeFromBuffer } from 'file-type';
import { UNKNOWN_FILE_TYPE } from '../../protocol/index.js';

/** How many leading bytes are read to tell what a file is (a JPEG's size may follow 64 KiB of metadata). */
export const SNIFF_BYTES = 64 * 1024;

/** What a file's bytes say it is: its media type and, for an image, its pixel size. */
export interface Sniffed { type: string; width: number | null; height: number | null }

/**
 * The media type from the bytes alone (file-type's signatures), never from the name or the
 * uploader's claim: HTML sent as `.png` is text/html here, or text/plain. Bytes file-type does not
 * know are text/plain when they are UTF-8 without NUL or other control bytes besides tab, line
 * feed, carriage return and form feed; anything else is application/octet-stream.
 */
export async function sniff(head: Buffer): Promise<Sniffed> {
  const known = await fileTypeFromBuffer(head);
  if (known) {
    const size = imageSize(head, known.mime);
    return { type: known.mime, width: size?.width ?? null, height: size?.height ?? null };
  }
  return { type: looksLikeText(head) ? 'text/plain' : UNKNOWN_FILE_TYPE, width: null, height: null };
}

function looksLikeText(head: Buffer): boolean {
  if (head.length === 0) return false;
  for (const b of head) if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d && b !== 0x0c) return false;
  // The head may end inside a character: a cut sequence at the very end is forgiven.
  const text = new TextDecoder('utf-8', { fatal: false }).decode(head);
  const bad = text.indexOf('\ufffd');
  return bad === -1 || bad >= text.length - 1;
}

/** Width and height in pixels from an image's header: PNG, GIF, BMP, WebP, JPEG; null when it cannot be read. */
export function imageSize(b: Buffer, mime: string): { width: number; height: number } | null {
  const ok = (width: number, height: number) => (width > 0 && height > 0 && Number.isSafeInteger(width) && Number.isSafeInteger(height) ? { width, height } : null);
  switch (mime) {
    case 'image/png':
      return b.length >= 24 && b.toString('latin1', 12, 16) === 'IHDR' ? ok(b.readUInt32BE(16), b.readUInt32BE(20)) : null;
    case 'image/gif':
      return b.length >= 10 ? ok(b.readUInt16LE(6), b.readUInt16LE(8)) : null;
    case 'image/bmp':
      return b.length >= 26 ? ok(Math.abs(b.readInt32LE(18)), Math.abs(b.readInt32LE(22))) : null;
    case 'image/webp':
      return webpSize(b);
    case 'image/jpeg':
      return jpegSize(b);
    default:
      return null;
  }
}

function webpSize(b: Buffer): { width: number; height: number } | null {
  if (b.length < 30) return null;
  const chunk = b.toString('latin1', 12, 16);
  if (chunk === 'VP8X') return { width: 1 + b.readUIntLE(24, 3), height: 1 + b.readUIntLE(27, 3) };
  if (chunk === 'VP8L' && b[20] === 0x2f) {
    const bits = b.readUInt32LE(21);
    return { width: 1 + (bits & 0x3fff), height: 1 + ((bits >> 14) & 0x3fff) };
  }
  if (chunk === 'VP8 ' && b[23] === 0x9d && b[24] === 0x01 && b[25] === 0x2a) return { width: b.readUInt16LE(26) & 0x3fff, height: b.readUInt16LE(28) & 0x3fff };
  return null;
}

/** Walks a JPEG's segments to its start-of-frame (SOF0-SOF15 but DHT, JPG and DAC), which holds the size. */
function jpegSize(b: Buffer): { width: number; height: number } | null {
  let i = 2;
  while (i + 9 < b.length) {
    if (b[i] !== 0xff) return null;
    const marker = b[i + 1]!;
    if (marker === 0xff) {
      i++;
      continue;
    }
    const len = b.readUInt16BE(i + 2);
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      const height = b.readUInt16BE(i + 5);
      const width = b.readUInt16BE(i + 7);
      return width > 0 && height > 0 ? { width, height } : null;
    }
    if (len < 2) return null;
    i += 2 + len;
  }
  return null;
}
