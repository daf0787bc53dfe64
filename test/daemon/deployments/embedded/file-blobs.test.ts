/**
 * The embedded deployment's file contents (issue 30, item 3): resumable appends at an offset,
 * content addresses by sha256 written only once the whole content is hashed and flushed,
 * identical content stored once, 0600 files in 0700 folders, and temporaries swept.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { BlobError, FileBlobs } from '../../../../src/daemon/deployments/embedded/file-blobs.js';
import { tmpDir } from '../../../support/daemon.js';
import { blobContract } from '../../ports/blobs.contract.js';

const dirs: string[] = [];
afterEach(() => { for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true }); });

async function blobs() {
  const dir = tmpDir('chat-blobs-');
  dirs.push(dir);
  const b = new FileBlobs(path.join(dir, 'files'));
  await b.start();
  return { b, root: path.join(dir, 'files') };
}

const sha = (buf: Buffer) => crypto.createHash('sha256').update(buf).digest('hex');
const bytes = (n: number, seed = 1) => { const b = Buffer.alloc(n); for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 17) & 0xff; return b; };
/** A body that delivers `buf` in chunks of `chunk` bytes. */
const body = (buf: Buffer, chunk = 1000) => Readable.from((function* () { for (let i = 0; i < buf.length; i += chunk) yield buf.subarray(i, i + chunk); })());
/** A body that delivers `n` bytes of `buf` and then fails, as a dropped connection does. */
const dropped = (buf: Buffer, n: number) => Readable.from((async function* () { yield buf.subarray(0, n); throw new Error('connection reset'); })());
const reason = (p: Promise<unknown>) => p.then(() => 'ok', (e: unknown) => (e instanceof BlobError ? `${e.reason}@${e.offset}` : String(e)));
const readAll = async (r: Readable) => { const parts: Buffer[] = []; for await (const c of r) parts.push(c as Buffer); return Buffer.concat(parts); };

describe('embedded file contents', () => {
  it('an upload resumed after a restart (its running hash lost) ends at the address of its whole content, 0600 in 0700 folders', async () => {
    const { b, root } = await blobs();
    const data = bytes(300_000);
    expect(await b.append('up1', 0, body(data.subarray(0, 120_000)), data.length)).toBe(120_000);
    // A new process: the hash is read again from what the file holds.
    const again = new FileBlobs(root);
    await again.start();
    expect(await again.received('up1')).toBe(120_000);
    expect(await again.append('up1', 120_000, body(data.subarray(120_000)), data.length)).toBe(300_000);
    const recorded: string[] = [];
    const sha256 = await again.commit('up1', data.length, async (s) => { recorded.push(s); });
    expect(sha256).toBe(sha(data));
    expect(recorded).toEqual([sha256]);
    const file = path.join(root, sha256.slice(0, 2), sha256.slice(2));
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    expect(fs.statSync(root).mode & 0o777).toBe(0o700);
    expect(fs.readdirSync(path.join(root, 'tmp'))).toEqual([]);
    expect((await readAll(await again.read({ id: 'up1', sha256 }))).equals(data)).toBe(true);
    expect((await readAll(await again.read({ id: 'up1', sha256 }, { start: 1000, end: 1999 }))).equals(data.subarray(1000, 2000))).toBe(true);
    expect(await again.size(sha256)).toBe(data.length);
  });

  it('refuses an append at the wrong offset (saying where to continue), beyond the declared size (keeping what came before), and two at once', async () => {
    const { b } = await blobs();
    const data = bytes(10_000);
    await b.append('up2', 0, body(data.subarray(0, 4000)), data.length);
    expect(await reason(b.append('up2', 3000, body(data.subarray(3000)), data.length))).toBe('offset@4000');
    expect(await reason(b.append('up2', 4000, body(Buffer.concat([data.subarray(4000), Buffer.from('extra')])), data.length))).toBe('too-large@10000');
    expect(await b.received('up2')).toBe(10_000);
    expect(await b.commit('up2', data.length)).toBe(sha(data));
    // One append at a time per upload: the second is refused while the first runs.
    let release!: () => void;
    const slow = Readable.from((async function* () { yield Buffer.from('a'); await new Promise<void>((r) => { release = r; }); yield Buffer.from('b'); })());
    const first = b.append('up3', 0, slow, 10);
    await new Promise((r) => setTimeout(r, 20));
    expect(await reason(b.append('up3', 0, body(Buffer.from('zz')), 10))).toBe('busy@undefined');
    release();
    expect(await first).toBe(2);
    expect(await reason(b.commit('up3', 10))).toBe('offset@2');
  });

  it('identical content is stored once: the second upload of it is dropped at commit', async () => {
    const { b, root } = await blobs();
    const data = bytes(50_000, 7);
    await b.append('a1', 0, body(data), data.length);
    await b.append('a2', 0, body(data, 333), data.length);
    const one = await b.commit('a1', data.length);
    const two = await b.commit('a2', data.length);
    expect(two).toBe(one);
    expect(fs.readdirSync(path.join(root, one.slice(0, 2)))).toEqual([one.slice(2)]);
    expect(fs.readdirSync(path.join(root, 'tmp'))).toEqual([]);
    // Removed only once nothing refers to it.
    await b.remove({ id: 'a1', sha256: one }, async () => true);
    expect(await b.size(one)).toBe(data.length);
    await b.remove({ id: 'a2', sha256: one }, async () => false);
    expect(await b.size(one)).toBeNull();
    await expect(b.read({ id: 'a2', sha256: one })).rejects.toThrow(/ENOENT/);
  });

  it('uploads at once share the reused write batches without mixing bytes: chunks cross batch ends, one is larger than a batch', async () => {
    const { b } = await blobs();
    // 3.5 MiB each (three full 1 MiB batches and a part), in chunks of 64 KiB, of odd sizes, and of 1.5 MiB.
    const chunks = [65_536, 99_991, 1_572_864, 7, 65_536, 333_333];
    const datas = chunks.map((_, i) => bytes(3.5 * 1024 * 1024, i + 2));
    const ids = datas.map((_, i) => `many${i}`);
    const sizes = await Promise.all(datas.map((d, i) => b.append(ids[i]!, 0, body(d, chunks[i]), d.length)));
    expect(sizes).toEqual(datas.map((d) => d.length));
    const addresses = await Promise.all(datas.map((d, i) => b.commit(ids[i]!, d.length)));
    expect(addresses).toEqual(datas.map(sha));
    for (const [i, d] of datas.entries()) expect((await readAll(await b.read({ id: ids[i]!, sha256: addresses[i]! }))).equals(d)).toBe(true);
  });

  it('a sweep removes the temporaries of uploads that are not live (what a kill -9 mid-upload leaves)', async () => {
    const { b, root } = await blobs();
    await b.append('live', 0, body(bytes(100)), 1000);
    await b.append('dead', 0, body(bytes(100)), 1000);
    fs.writeFileSync(path.join(root, 'tmp', 'stray'), 'x');
    expect(await b.sweep(new Set(['live']))).toBe(2);
    expect(fs.readdirSync(path.join(root, 'tmp'))).toEqual(['live']);
    await expect(b.read({ id: 'x', sha256: '../../etc/passwd' })).rejects.toThrow(/not a sha256/);
    await expect(b.append('../x', 0, body(bytes(1)), 1)).rejects.toThrow(/not an upload id/);
  });
});

blobContract('embedded: files in the data dir', async () => {
  const dir = tmpDir('chat-blobs-');
  const root = path.join(dir, 'files');
  const b = new FileBlobs(root);
  await b.start();
  return {
    blobs: b,
    reopen: async () => { const again = new FileBlobs(root); await again.start(); return again; },
    close: async () => { fs.rmSync(dir, { recursive: true, force: true }); },
  };
});
