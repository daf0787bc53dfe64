/** JPEG previews: decoded through jpeg-js, within the preview's limits. */
import { encode } from 'jpeg-js';
import { describe, expect, it } from 'vitest';
import { decodeJpeg } from '../../src/tui/jpeg.js';

/**
 * 48×32 pixels in four quadrants (red, green; blue, white), written by Go's image/jpeg at quality 90
 * (another encoder than the one tested against below): generated for this test, 684 bytes.
 */
const QUADRANTS = Buffer.from([
  'ffd8ffdb0084000302020302020303030304030304050805050404050a070706080c0a0c0c0b0a0b0b0d0e12100d0e110e0b0b101610111314151515',
  '0c0f1718161418121415140103040405040509050509140d0b0d14141414141414141414141414141414141414141414141414141414141414141414',
  '14141414141414141414141414141414ffc00011080020003003012200021101031101ffc401a2000001050101010101010000000000000000010203',
  '0405060708090a0b100002010303020403050504040000017d01020300041105122131410613516107227114328191a1082342b1c11552d1f0243362',
  '7282090a161718191a25262728292a3435363738393a434445464748494a535455565758595a636465666768696a737475767778797a838485868788',
  '898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3',
  'f4f5f6f7f8f9fa0100030101010101010101010000000000000102030405060708090a0b110002010204040304070504040001027700010203110405',
  '2131061241510761711322328108144291a1b1c109233352f0156272d10a162434e125f11718191a262728292a35363738393a434445464748494a53',
  '5455565758595a636465666768696a737475767778797a82838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2',
  'c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae2e3e4e5e6e7e8e9eaf2f3f4f5f6f7f8f9faffda000c03010002110311003f00f9d28a28afc30ff54c2bec',
  '6af8e6bec6af89e25ff973ff006f7e87f98ff4d4ff009a7bfee6bff75c28a28af883fcc73f2f28a28aff00a333fb942bfa5bafe692bfa5bafe55f1cf',
  'fe65bff717ff00711ee659f6fe5fa8514515fcac7b87ffd9',
].join(''), 'hex');

const at = (p: { width: number; rgba: Uint8Array }, x: number, y: number) => [...p.rgba.subarray((y * p.width + x) * 4, (y * p.width + x) * 4 + 4)];
const near = (got: number[], want: number[], by: number) => got.every((v, i) => Math.abs(v - want[i]!) <= by);

describe('JPEG previews', () => {
  it('decode a JPEG written by Go to its colours, opaque, at its size', async () => {
    const p = await decodeJpeg(QUADRANTS);
    expect([p?.width, p?.height]).toEqual([48, 32]);
    // Away from the edges, where the 8x8 blocks and the chroma subsampling blur: the quadrants' colours.
    for (const [x, y, want] of [[6, 5, [255, 0, 0, 255]], [40, 5, [0, 255, 0, 255]], [6, 27, [0, 0, 255, 255]], [40, 27, [255, 255, 255, 255]]] as const) {
      expect(near(at(p!, x, y), [...want], 12), `pixel ${x},${y}: ${at(p!, x, y)}`).toBe(true);
    }
  });

  it('decode a gradient written by jpeg-js itself close to the original (quality 95)', async () => {
    const width = 64;
    const height = 40;
    const data = Buffer.alloc(width * height * 4);
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set([x * 4, y * 6, 255 - x * 2, 255], (y * width + x) * 4);
    const p = (await decodeJpeg(encode({ width, height, data }, 95).data))!;
    expect([p.width, p.height]).toEqual([width, height]);
    let err = 0;
    for (let i = 0; i < data.length; i++) if (i % 4 !== 3) err += Math.abs(p.rgba[i]! - data[i]!);
    const mean = err / (width * height * 3);
    console.log(`jpeg-js at quality 95, decoded: mean error ${mean.toFixed(2)} per channel`);
    expect(mean).toBeLessThan(4);
  });

  it('refuses what it does not read, without throwing: not a JPEG, truncated, a picture of too many pixels', async () => {
    expect(await decodeJpeg(Buffer.from('<html>'))).toBeNull();
    expect(await decodeJpeg(QUADRANTS.subarray(0, 100))).toBeNull();
    // The frame header (SOF0, FFC0) says 60000 x 60000: refused before pixels are allocated.
    const huge = Buffer.from(QUADRANTS);
    const sof = huge.indexOf(Buffer.from([0xff, 0xc0]));
    expect(sof).toBeGreaterThan(0);
    huge.writeUInt16BE(60000, sof + 5);
    huge.writeUInt16BE(60000, sof + 7);
    expect(await decodeJpeg(huge)).toBeNull();
  });
});
