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
