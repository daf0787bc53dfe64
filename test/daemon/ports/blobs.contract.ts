import crypto from 'node:crypto';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { v7 as uuidv7 } from 'uuid';
import { BlobError, type BlobStore } from '../../../src/daemon/ports/index.js';

const sha = (buf: Buffer) => crypto.createHash('sha256').update(buf).digest('hex');
const bytes = (n: number, seed = 1) => { const b = Buffer.alloc(n); for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 17 + (i >> 9)) & 0xff; return b; };
/** A body that delivers `buf` in chunks of `chunk` bytes. */
const body = (buf: Buffer, chunk = 64 * 1024) => Readable.from((function* () { for (let i = 0; i < buf.length; i += chunk) yield buf.subarray(i, i + chunk); })());
/** A body that delivers `n` bytes of `buf` and then fails, as a dropped connection does. */
const dropped = (buf: Buffer, n: number) => Readable.from((async function* () { yield buf.subarray(0, n); throw Object.assign(new Error('connection reset'), { code: 'ECONNRESET' }); })());
const reason = (p: Promise<unknown>) => p.then(() => 'ok', (e: unknown) => (e instanceof BlobError ? `${e.reason}@${e.offset}` : String(e)));
const readAll = async (r: Readable) => { const parts: Buffer[] = []; for await (const c of r) parts.push(c as Buffer); return Buffer.concat(parts); };

export interface BlobRig {
  blobs: BlobStore;
  /** The same store as a new process would open it (nothing kept in memory). */
  reopen(): Promise<BlobStore>;
  close(): Promise<void>;
}

/**
 * What every blob store does (ports/files.ts): resumable appends at the offset it holds, across
 * a restart; refusals with the offset to continue from; a sha256 of exactly the bytes sent;
 * reads whole and by range; removal; the sweep of what no upload owns. Sizes cross the scale-out
 * store's chunk size (255 KiB) on purpose.
 */
export function blobContract(name: string, make: () => Promise<BlobRig>) {
  describe(`BlobStore contract: ${name}`, () => {
    const rigs: BlobRig[] = [];
    const rig = async () => { const r = await make(); rigs.push(r); return r; };
    afterEach(async () => { for (const r of rigs.splice(0)) await r.close(); });

    it('resumes an upload after a restart from what it holds, and reads it back whole and by range', async () => {
      const { blobs, reopen } = await rig();
      const id = uuidv7();
      const data = bytes(700_000, 2);
      expect(await blobs.append(id, 0, body(data.subarray(0, 300_000)), data.length)).toBe(300_000);
      const again = await reopen();
      expect(await again.received(id)).toBe(300_000);
      expect(await again.append(id, 300_000, body(data.subarray(300_000)), data.length)).toBe(data.length);
      const stored: string[] = [];
      const sha256 = await again.commit(id, data.length, async (s) => { stored.push(s); });
      expect([sha256, stored]).toEqual([sha(data), [sha(data)]]);
      expect((await readAll(await again.read({ id, sha256 }))).equals(data)).toBe(true);
      expect((await readAll(await again.read({ id, sha256 }, { start: 261_000, end: 530_000 }))).equals(data.subarray(261_000, 530_001))).toBe(true);
      expect((await readAll(await again.read({ id, sha256 }, { start: data.length - 1, end: data.length - 1 }))).equals(data.subarray(-1))).toBe(true);
      await again.remove({ id, sha256 }, async () => false);
      await expect(again.read({ id, sha256 })).rejects.toThrow();
    });

    it('refuses the wrong offset (saying where to continue), bytes beyond the declared size (keeping what came before), and a commit before the end', async () => {
      const { blobs } = await rig();
      const id = uuidv7();
      const data = bytes(300_000, 3);
      await blobs.append(id, 0, body(data.subarray(0, 100_000)), data.length);
      expect(await reason(blobs.append(id, 50_000, body(data.subarray(50_000)), data.length))).toBe('offset@100000');
      expect(await reason(blobs.commit(id, data.length))).toBe('offset@100000');
      expect(await reason(blobs.append(id, 100_000, body(Buffer.concat([data.subarray(100_000), Buffer.from('extra')])), data.length))).toBe(`too-large@${data.length}`);
      expect(await blobs.received(id)).toBe(data.length);
      expect(await blobs.commit(id, data.length)).toBe(sha(data));
    });

    it('any pieces, with dropped connections resumed from what the store holds, end with the content\'s own sha256 (property)', async () => {
      const { blobs } = await rig();
      let uploads = 0;
      let drops = 0;
      await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: 600_000 }), fc.array(fc.tuple(fc.integer({ min: 1, max: 300_000 }), fc.boolean()), { minLength: 1, maxLength: 5 }), async (size, plan) => {
        const id = uuidv7();
        uploads++;
        const data = bytes(size, uploads);
        let at = 0;
        for (const [len, drop] of plan) {
          if (at >= size) break;
          const piece = data.subarray(at, Math.min(size, at + len));
          if (drop && piece.length > 1) {
            drops++;
            at = await blobs.append(id, at, dropped(piece, Math.floor(piece.length / 2)), size);
          } else at = await blobs.append(id, at, body(piece, 40_000), size);
          expect(await blobs.received(id)).toBe(at);
        }
        if (at < size) at = await blobs.append(id, at, body(data.subarray(at)), size);
        const sha256 = await blobs.commit(id, size);
        expect(sha256).toBe(sha(data));
        expect(sha(await readAll(await blobs.read({ id, sha256 })))).toBe(sha(data));
        await blobs.remove({ id, sha256 }, async () => false);
      }), { numRuns: 12, seed: 30 });
      console.log(`${name}: ${uploads} uploads, ${drops} dropped connections resumed; every sha256 matched`);
    });

    it('a sweep removes the bytes of uploads that are not live, and keeps complete files', async () => {
      const { blobs } = await rig();
      const [live, dead, done] = [uuidv7(), uuidv7(), uuidv7()];
      await blobs.append(live, 0, body(bytes(1000)), 5000);
      await blobs.append(dead, 0, body(bytes(1000)), 5000);
      await blobs.append(done, 0, body(bytes(5000)), 5000);
      const sha256 = await blobs.commit(done, 5000);
      // An upload begun after the live list was read is not in it, and is kept.
      await blobs.sweep(new Set([live]), Date.now() - 60_000);
      expect(await blobs.received(dead)).toBe(1000);
      // Read after it began, the live list speaks for it: not there, its bytes go.
      expect(await blobs.sweep(new Set([live]), Date.now() + 10_000)).toBeGreaterThanOrEqual(1);
      expect(await blobs.received(dead)).toBe(0);
      expect(await blobs.received(live)).toBe(1000);
      expect((await readAll(await blobs.read({ id: done, sha256 }))).length).toBe(5000);
      await blobs.discard(live);
      expect(await blobs.received(live)).toBe(0);
      expect((await blobs.health()).ok).toBe(true);
    });
  });
}
