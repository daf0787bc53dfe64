/** GIF previews: the first frame decoded (LZW, interlacing, transparency, frames smaller than the screen). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeGif } from '../../src/tui/gif.js';
import { gifLzw, gifOf } from '../support/files.js';

describe('GIF previews', () => {
  it('decodes the GIF89a walkthrough\'s 10×10 sample (written by another encoder) to its pattern', () => {
    // "What's in a GIF" (Matthew Flickinger): four colours, white, red, blue, black; LZW minimum code size 2.
    const sample = Buffer.from([
      '474946383961', '0a000a00', '910000', 'ffffffff0000', '0000ff000000', '21f90400000000' + '00',
      '2c000000000a000a0000', '02', '16', '8c2d99872a1cdc33a00275ec95faa8de608c04914c01', '00', '3b',
    ].join(''), 'hex');
    const p = decodeGif(sample);
    expect(p).not.toBeNull();
    const rows = [
      '1111122222', '1111122222', '1111122222', '1110000222', '1110000222',
      '2220000111', '2220000111', '2222211111', '2222211111', '2222211111',
    ];
    const colours = [[255, 255, 255], [255, 0, 0], [0, 0, 255], [0, 0, 0]];
    for (let y = 0; y < 10; y++) for (let x = 0; x < 10; x++) {
      const i = (y * 10 + x) * 4;
      expect([...p!.rgba.subarray(i, i + 4)]).toEqual([...colours[Number(rows[y]![x])]!, 255]);
    }
  });

  it('gives back every frame\'s pixels, any palette size, interlaced or not, with transparency and offsets (property)', () => {
    const gif = fc.record({
      screenW: fc.integer({ min: 1, max: 48 }), screenH: fc.integer({ min: 1, max: 40 }),
      bits: fc.integer({ min: 1, max: 8 }), alphabet: fc.integer({ min: 1, max: 6 }),
      interlace: fc.boolean(), local: fc.boolean(), transparent: fc.boolean(), seed: fc.integer(),
      fx: fc.double({ min: 0, max: 1, noNaN: true }), fy: fc.double({ min: 0, max: 1, noNaN: true }),
    });
    fc.assert(fc.property(gif, (g) => {
      let s = g.seed;
      const rand = () => ((s = (Math.imul(s, 1103515245) + 12345) | 0) >>> 8) / 16777216;
      const colours = 1 << g.bits;
      const palette = Array.from({ length: colours }, (_, i) => [(i * 53) & 255, (i * 97 + 7) & 255, (i * 31 + 200) & 255] as [number, number, number]);
      const w = Math.max(1, Math.round(g.screenW * (0.5 + g.fx / 2)));
      const h = Math.max(1, Math.round(g.screenH * (0.5 + g.fy / 2)));
      const left = g.screenW - w;
      const top = g.screenH - h;
      // Runs from a few colours, so the dictionary's long strings (and the KwKwK case) come up.
      const used = Array.from({ length: Math.min(colours, g.alphabet) }, () => Math.floor(rand() * colours));
      const indexes = new Uint8Array(w * h);
      for (let i = 0; i < indexes.length; ) {
        const run = 1 + Math.floor(rand() * 12);
        const c = used[Math.floor(rand() * used.length)]!;
        for (let r = 0; r < run && i < indexes.length; r++) indexes[i++] = c;
      }
      const transparent = g.transparent ? used[0] : undefined;
      const p = decodeGif(gifOf({ w, h, palette, indexes, screenW: g.screenW, screenH: g.screenH, left, top, interlace: g.interlace, transparent, local: g.local }));
      expect(p).not.toBeNull();
      expect([p!.width, p!.height]).toEqual([g.screenW, g.screenH]);
      for (let y = 0; y < g.screenH; y++) for (let x = 0; x < g.screenW; x++) {
        const inside = x >= left && y >= top;
        const k = inside ? indexes[(y - top) * w + (x - left)]! : -1;
        const want = !inside || k === transparent ? [0, 0, 0, 0] : [...palette[k]!, 255];
        const i = (y * g.screenW + x) * 4;
        expect([...p!.rgba.subarray(i, i + 4)]).toEqual(want);
      }
    }), { numRuns: 150, seed: 30 });
  });

  it('follows the dictionary past 4096 entries (clear codes in the stream) on a large noisy frame', () => {
    let s = 7;
    const indexes = Uint8Array.from({ length: 300 * 200 }, () => ((s = (Math.imul(s, 1103515245) + 12345) | 0) >>> 24) & 255);
    const palette = Array.from({ length: 256 }, (_, i) => [i, 255 - i, (i * 7) & 255] as [number, number, number]);
    expect(gifLzw(indexes, 8).length).toBeGreaterThan(4096);
    const p = decodeGif(gifOf({ w: 300, h: 200, palette, indexes }))!;
    for (let i = 0; i < indexes.length; i += 997) expect([...p.rgba.subarray(i * 4, i * 4 + 3)]).toEqual(palette[indexes[i]!]);
    expect([...p.rgba.subarray(p.rgba.length - 4, p.rgba.length - 1)]).toEqual(palette[indexes.at(-1)!]);
  });

  it('refuses what it does not read, without throwing: not a GIF, truncated, a code past the dictionary, a frame of too many pixels', () => {
    const good = gifOf({ w: 8, h: 8, palette: [[0, 0, 0], [255, 255, 255]], indexes: new Uint8Array(64).map((_, i) => i % 2) });
    expect(decodeGif(Buffer.from('GIF88a'))).toBeNull();
    expect(decodeGif(good.subarray(0, 20))).toBeNull();
    const huge = Buffer.from(good);
    huge.writeUInt16LE(65535, 6);
    huge.writeUInt16LE(65535, 8);
    expect(decodeGif(huge)).toBeNull();
    // The first code after the clear (3 bits with 2 colours: minimum code size 2) names a code not defined yet.
    const bad = Buffer.from(good);
    const lzwAt = bad.indexOf(Buffer.from([0x2c])) + 10;
    bad[lzwAt + 2] = 0xff;
    expect(() => decodeGif(bad)).not.toThrow();
    expect(decodeGif(bad)).toBeNull();
  });
});
