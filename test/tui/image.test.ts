/** Inline image previews: the PNG decoder (every filter, the colour types) and the half-block drawing. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodePng, halfBlocks, imageMode, previewSize } from '../../src/tui/image.js';
import { pngOf, tinyPng } from '../support/files.js';

describe('PNG previews', () => {
  it('decodes RGB PNGs written with every row filter to their exact pixels (property)', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 30 }), fc.integer(), (w, h, seed) => {
      const colour = (x: number, y: number): [number, number, number] => [(x * 37 + seed) & 255, (y * 91 + seed * 3) & 255, (x * y + seed * 7) & 255];
      const p = decodePng(pngOf(w, h, colour));
      expect(p).not.toBeNull();
      expect([p!.width, p!.height]).toEqual([w, h]);
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
        const i = (y * w + x) * 4;
        expect([p!.rgba[i], p!.rgba[i + 1], p!.rgba[i + 2], p!.rgba[i + 3]]).toEqual([...colour(x, y), 255]);
      }
    }), { numRuns: 60, seed: 30 });
    expect(decodePng(tinyPng(3, 2))).toMatchObject({ width: 3, height: 2 });
  });

  it('refuses what it does not read, without throwing: not a PNG, truncated, a bomb of pixels, a corrupt stream', () => {
    const good = pngOf(4, 4, () => [1, 2, 3]);
    expect(decodePng(Buffer.from('<html>'))).toBeNull();
    expect(decodePng(good.subarray(0, 40))).toBeNull();
    const huge = Buffer.from(good);
    huge.writeUInt32BE(100_000, 16);
    huge.writeUInt32BE(100_000, 20);
    expect(decodePng(huge)).toBeNull();
    const corrupt = Buffer.from(good);
    corrupt.fill(0x55, 45, 60);
    expect(decodePng(corrupt)).toBeNull();
  });

  it('draws two pixels per cell: the top one as the foreground of ▀, the bottom one as the background, in the picture\'s proportions', () => {
    const p = decodePng(pngOf(4, 2, (x, y) => (y === 0 ? [255, 0, 0] : [0, 0, 255 - x])))!;
    const lines = halfBlocks(p, 40, 10);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('\x1b[38;2;255;0;0m\x1b[48;2;0;0;255m▀');
    expect(lines[0]!.replace(/\x1b\[[0-9;]*m/g, '')).toBe('▀▀▀▀');
    expect(lines[0]!.endsWith('\x1b[0m')).toBe(true);
    expect(previewSize(1600, 1200, 40, 10)).toEqual({ cols: 27, rows: 10 });
    expect(previewSize(16, 12, 40, 10)).toEqual({ cols: 16, rows: 6 });
    expect(previewSize(4000, 10, 40, 10)).toEqual({ cols: 40, rows: 1 });
    expect(imageMode({}, false)).toBe('halfblocks');
    expect(imageMode({ CHAT_IMAGES: 'off' }, false)).toBe('off');
    expect(imageMode({}, true)).toBe('off');
  });
});
