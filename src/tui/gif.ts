import { MAX_PREVIEW_PIXELS, type Pixels } from './image.js';

/**
 * The first frame of a GIF (87a or 89a) as RGBA, for a preview: the logical screen, transparent
 * where the frame does not cover it or its graphic control extension names a transparent index;
 * interlaced frames put back in row order. Null for anything malformed or larger than
 * MAX_PREVIEW_PIXELS (a preview never throws). No dependency: LZW as the GIF89a specification
 * describes it (variable code width up to 12 bits, clear and end codes, the deferred clear).
 */
export function decodeGif(data: Buffer): Pixels | null {
  try {
    const sig = data.toString('latin1', 0, 6);
    if (sig !== 'GIF87a' && sig !== 'GIF89a') return null;
    const width = data.readUInt16LE(6);
    const height = data.readUInt16LE(8);
    if (!width || !height || width * height > MAX_PREVIEW_PIXELS) return null;
    const packed = data[10]!;
    let at = 13;
    let global: Buffer | null = null;
    if (packed & 0x80) {
      const n = 3 << ((packed & 7) + 1);
      global = data.subarray(at, at + n);
      if (global.length !== n) return null;
      at += n;
    }
    let transparent = -1;
    while (at < data.length) {
      const block = data[at++];
      if (block === 0x3b) return null; // the trailer before any image
      if (block === 0x21) {
        const label = data[at++];
        // A graphic control extension: its fourth byte's low bit says whether an index is transparent.
        if (label === 0xf9 && data[at] === 4) transparent = data[at + 1]! & 1 ? data[at + 4]! : -1;
        at = skipSubBlocks(data, at);
        if (at < 0) return null;
        continue;
      }
      if (block !== 0x2c) return null;
      const left = data.readUInt16LE(at);
      const top = data.readUInt16LE(at + 2);
      const w = data.readUInt16LE(at + 4);
      const h = data.readUInt16LE(at + 6);
      const flags = data[at + 8]!;
      at += 9;
      let palette = global;
      if (flags & 0x80) {
        const n = 3 << ((flags & 7) + 1);
        palette = data.subarray(at, at + n);
        if (palette.length !== n) return null;
        at += n;
      }
      if (!palette || !w || !h || w * h > MAX_PREVIEW_PIXELS) return null;
      const minCode = data[at++]!;
      if (minCode < 2 || minCode > 8) return null;
      const chunks: Buffer[] = [];
      for (;;) {
        const len = data[at++];
        if (len === undefined) return null;
        if (len === 0) break;
        chunks.push(data.subarray(at, at + len));
        at += len;
      }
      const indexes = lzw(Buffer.concat(chunks), minCode, w * h);
      if (!indexes) return null;
      const rows = flags & 0x40 ? interlacedRows(h) : Array.from({ length: h }, (_, i) => i);
      const rgba = new Uint8Array(width * height * 4);
      for (let i = 0; i < h; i++) {
        const y = top + rows[i]!;
        if (y >= height) continue;
        for (let x = 0; x < w; x++) {
          if (left + x >= width) break;
          const k = indexes[i * w + x]!;
          if (k === transparent || k * 3 + 2 >= palette.length) continue;
          const o = (y * width + left + x) * 4;
          rgba[o] = palette[k * 3]!;
          rgba[o + 1] = palette[k * 3 + 1]!;
          rgba[o + 2] = palette[k * 3 + 2]!;
          rgba[o + 3] = 255;
        }
      }
      return { width, height, rgba };
    }
    return null;
  } catch {
    return null;
  }
}

/** The offset after a run of sub-blocks (each a length byte and its bytes, ended by a zero length), or -1. */
function skipSubBlocks(data: Buffer, at: number): number {
  for (;;) {
    const len = data[at];
    if (len === undefined) return -1;
    at += 1 + len;
    if (len === 0) return at;
  }
}

/** An interlaced frame's rows in the order they are stored: every 8th from 0, every 8th from 4, every 4th from 2, every 2nd from 1. */
function interlacedRows(h: number): number[] {
  const out: number[] = [];
  for (const [start, step] of [[0, 8], [4, 8], [2, 4], [1, 2]] as const) for (let y = start; y < h; y += step) out.push(y);
  return out;
}

/** LZW-decodes `count` colour indexes; missing ones (a short stream) stay 0; null for a code that cannot be. */
function lzw(bytes: Buffer, minCode: number, count: number): Uint8Array | null {
  const out = new Uint8Array(count);
  const clear = 1 << minCode;
  const end = clear + 1;
  // The dictionary: each code's prefix code and last byte, and its length (a code's string is its prefix's plus one byte).
  const prefix = new Int32Array(4096);
  const suffix = new Uint8Array(4096);
  const length = new Int32Array(4096);
  for (let i = 0; i < clear; i++) { prefix[i] = -1; suffix[i] = i; length[i] = 1; }
  let size = minCode + 1;
  let next = end + 1;
  let prev = -1;
  let n = 0;
  let bits = 0;
  let acc = 0;
  let pos = 0;
  const first = (code: number) => {
    while (prefix[code]! >= 0) code = prefix[code]!;
    return suffix[code]!;
  };
  const emit = (code: number) => {
    const len = length[code]!;
    // Written back to front, from the code's last byte up its prefixes.
    let at = n + len - 1;
    for (let c = code; c >= 0; c = prefix[c]!) if (at < count) out[at--] = suffix[c]!; else at--;
    n += len;
  };
  while (n < count) {
    while (bits < size) {
      if (pos >= bytes.length) return out;
      acc |= bytes[pos++]! << bits;
      bits += 8;
    }
    const code = acc & ((1 << size) - 1);
    acc >>>= size;
    bits -= size;
    if (code === clear) {
      size = minCode + 1;
      next = end + 1;
      prev = -1;
      continue;
    }
    if (code === end) break;
    if (prev < 0) {
      if (code >= clear) return null;
      emit(code);
      prev = code;
      continue;
    }
    // A known code: its string, then the entry (previous string + its first byte). The code being
    // defined (the KwKwK case): the entry first (previous string + the previous string's first byte), then it.
    const defining = code === next;
    if (code > next) return null;
    if (!defining) emit(code);
    const k = defining ? first(prev) : first(code);
    if (next < 4096) {
      prefix[next] = prev;
      suffix[next] = k;
      length[next] = length[prev]! + 1;
      next++;
      // The code width grows once the next code needs another bit (12 at most: then the dictionary
      // stays full until a clear code, the "deferred clear").
      if (next === 1 << size && size < 12) size++;
    } else if (defining) return null;
    if (defining) emit(code);
    prev = code;
  }
  return out;
}
