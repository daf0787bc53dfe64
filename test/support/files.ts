/** Raw file requests against a running chatd, for the files tests (the CLI's own client is tested through it). */
import crypto from 'node:crypto';
import zlib from 'node:zlib';
import { ROUTES, type FileInfo } from '../../src/protocol/index.js';
import type { TestUser } from './daemon.js';

export const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');
/** `n` bytes that differ with `seed`. */
export const bytes = (n: number, seed = 1) => {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 17 + (i >> 8)) & 0xff;
  return b;
};

const auth = (u: TestUser) => ({ authorization: `Bearer ${u.auth.accessToken}` });

/** POST /v1/files: the answer's status and body. */
export async function begin(url: string, u: TestUser, name: string, size: number) {
  const res = await fetch(new URL(ROUTES.files, url), { method: 'POST', headers: { ...auth(u), 'content-type': 'application/json' }, body: JSON.stringify({ name, size }) });
  return { status: res.status, body: (await res.json()) as FileInfo & { error?: { code: string; details?: unknown } } };
}

/** PATCH a piece at `offset`: status, Upload-Offset and body. */
export async function piece(url: string, u: TestUser, id: string, offset: number, data: Buffer, headers: Record<string, string> = {}) {
  const res = await fetch(new URL(ROUTES.fileContent(id), url), { method: 'PATCH', headers: { ...auth(u), 'content-type': 'application/offset+octet-stream', 'upload-offset': String(offset), ...headers }, body: data });
  return { status: res.status, offset: res.headers.get('upload-offset'), body: (await res.json()) as FileInfo & { error?: { code: string; details?: unknown } } };
}

/** Begins and sends a whole file in one piece: the stored file. */
export async function uploadBytes(url: string, u: TestUser, name: string, data: Buffer): Promise<FileInfo> {
  const b = await begin(url, u, name, data.length);
  if (b.status !== 201) throw new Error(`begin: ${b.status} ${JSON.stringify(b.body)}`);
  const p = await piece(url, u, b.body.id, 0, data);
  if (p.status !== 200) throw new Error(`piece: ${p.status} ${JSON.stringify(p.body)}`);
  return p.body;
}

/** GET a file's content (with a Range header when given): status, headers and bytes. */
export async function download(url: string, u: TestUser, id: string, range?: string) {
  const res = await fetch(new URL(ROUTES.fileContent(id), url), { headers: { ...auth(u), ...(range ? { range } : {}) } });
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}

/** GET a file's details: status and body. */
export async function info(url: string, u: TestUser, id: string) {
  const res = await fetch(new URL(ROUTES.file(id), url), { headers: auth(u) });
  return { status: res.status, body: (await res.json()) as FileInfo & { error?: { code: string } } };
}

/** A valid black PNG of `w`×`h` pixels. */
export function tinyPng(w: number, h: number): Buffer {
  return pngOf(w, h, () => [0, 0, 0]);
}

/** A valid RGB PNG of `w`×`h` whose pixel (x, y) is `colour(x, y)`; rows use filters 0 to 4 in turn (so a decoder meets each). */
export function pngOf(w: number, h: number, colour: (x: number, y: number) => [number, number, number]): Buffer {
  const crc = (buf: Buffer) => {
    let c = ~0;
    for (const b of buf) { c ^= b; for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1)); }
    return ~c >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; ihdr[9] = 2;
  const stride = w * 3;
  const rows: Buffer[] = [];
  for (let y = 0; y < h; y++) {
    const row = Buffer.alloc(stride);
    for (let x = 0; x < w; x++) row.set(colour(x, y), x * 3);
    rows.push(row);
  }
  const out: Buffer[] = [];
  for (let y = 0; y < h; y++) {
    const f = y % 5;
    const cur = rows[y]!;
    const up = y > 0 ? rows[y - 1]! : Buffer.alloc(stride);
    const enc = Buffer.alloc(stride + 1);
    enc[0] = f;
    for (let i = 0; i < stride; i++) {
      const a = i >= 3 ? cur[i - 3]! : 0;
      const b = up[i]!;
      const c = i >= 3 ? up[i - 3]! : 0;
      const p = a + b - c;
      const pred = f === 0 ? 0 : f === 1 ? a : f === 2 ? b : f === 3 ? (a + b) >> 1 : Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c;
      enc[i + 1] = (cur[i]! - pred) & 0xff;
    }
    out.push(enc);
  }
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(Buffer.concat(out))), chunk('IEND', Buffer.alloc(0))]);
}

/**
 * GIF's LZW, encoded as the GIF89a specification describes it: a clear code first, codes that
 * grow a bit once the dictionary's next entry needs it (the decoder adds each entry one code
 * later than the encoder, hence `>`), a clear code when the dictionary is full (4096), the end code.
 */
export function gifLzw(indexes: Uint8Array, minCode: number): Buffer {
  const clear = 1 << minCode;
  const end = clear + 1;
  let size = minCode + 1;
  let next = end + 1;
  const dict = new Map<number, number>();
  const out: number[] = [];
  let acc = 0;
  let bits = 0;
  const put = (code: number) => {
    acc |= code << bits;
    bits += size;
    while (bits >= 8) {
      out.push(acc & 0xff);
      acc >>>= 8;
      bits -= 8;
    }
  };
  put(clear);
  let prefix = indexes[0]!;
  for (let i = 1; i < indexes.length; i++) {
    const k = indexes[i]!;
    const found = dict.get(prefix * 256 + k);
    if (found !== undefined) {
      prefix = found;
      continue;
    }
    put(prefix);
    if (next < 4096) {
      dict.set(prefix * 256 + k, next++);
      if (next > 1 << size && size < 12) size++;
    } else {
      put(clear);
      dict.clear();
      size = minCode + 1;
      next = end + 1;
    }
    prefix = k;
  }
  put(prefix);
  put(end);
  if (bits > 0) out.push(acc & 0xff);
  return Buffer.from(out);
}

/**
 * A GIF89a of one frame: `palette` (RGB triples, 2 to 256 of them) as the global table, or as
 * the frame's own with `local`; the frame `w` × `h` at (`left`, `top`) on a `screenW` × `screenH`
 * screen, its colour `indexes` row by row, stored interlaced with `interlace`, with a graphic
 * control extension naming `transparent` when given.
 */
export function gifOf(o: { w: number; h: number; palette: [number, number, number][]; indexes: Uint8Array; screenW?: number; screenH?: number; left?: number; top?: number; interlace?: boolean; transparent?: number; local?: boolean }): Buffer {
  const bitsFor = Math.max(1, Math.ceil(Math.log2(o.palette.length)));
  const table = Buffer.alloc(3 << bitsFor);
  o.palette.forEach((c, i) => table.set(c, i * 3));
  const sizeBits = bitsFor - 1;
  const screen = Buffer.alloc(7);
  screen.writeUInt16LE(o.screenW ?? o.w, 0);
  screen.writeUInt16LE(o.screenH ?? o.h, 2);
  screen[4] = o.local ? 0 : 0x80 | (7 << 4) | sizeBits;
  const parts: Buffer[] = [Buffer.from('GIF89a', 'latin1'), screen];
  if (!o.local) parts.push(table);
  if (o.transparent !== undefined) parts.push(Buffer.from([0x21, 0xf9, 4, 1, 0, 0, o.transparent, 0]));
  const desc = Buffer.alloc(10);
  desc[0] = 0x2c;
  desc.writeUInt16LE(o.left ?? 0, 1);
  desc.writeUInt16LE(o.top ?? 0, 3);
  desc.writeUInt16LE(o.w, 5);
  desc.writeUInt16LE(o.h, 7);
  desc[9] = (o.local ? 0x80 | sizeBits : 0) | (o.interlace ? 0x40 : 0);
  parts.push(desc);
  if (o.local) parts.push(table);
  // Interlaced: the rows stored in the four passes' order.
  let rows = Array.from({ length: o.h }, (_, y) => y);
  if (o.interlace) rows = [[0, 8], [4, 8], [2, 4], [1, 2]].flatMap(([s, st]) => rows.filter((y) => y >= s! && (y - s!) % st! === 0));
  const stored = new Uint8Array(o.w * o.h);
  rows.forEach((y, i) => stored.set(o.indexes.subarray(y * o.w, (y + 1) * o.w), i * o.w));
  const minCode = Math.max(2, bitsFor);
  const data = gifLzw(stored, minCode);
  parts.push(Buffer.from([minCode]));
  for (let at = 0; at < data.length; at += 255) {
    const chunk = data.subarray(at, at + 255);
    parts.push(Buffer.from([chunk.length]), chunk);
  }
  parts.push(Buffer.from([0, 0x3b]));
  return Buffer.concat(parts);
}
