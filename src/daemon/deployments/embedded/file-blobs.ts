import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BlobError, uuidv7Time, type BlobRef, type BlobStore } from '../../ports/index.js';

export { BlobError };

/**
 * File contents on the embedded deployment (issue 30): a folder of the data dir, 0700, holding
 * each distinct content once under its sha256 (`<root>/<2 hex>/<62 hex>`, 0600), and the
 * uploads in progress under `<root>/tmp/<upload id>`.
 *
 * - An upload is appended to its temporary at an offset (resumable: the client asks where it
 *   stands and sends the rest), never held whole in memory. Only when its last byte is written is
 *   it hashed, flushed and renamed to its content address, so no partial content is ever at an
 *   address, whatever stops the process; identical content is stored once (the second upload's
 *   temporary is dropped).
 * - `sweep` (at start, and as uploads expire) removes every temporary that belongs to no live
 *   upload: what a `kill -9` mid-upload left behind.
 * - Which files refer to a content is the metadata's business (the store's reference counts):
 *   `remove` asks it, and a content is removed and placed under one lock per address, so a new
 *   upload of the same content never finds its address taken and then emptied.
 *
 * Upload ids are checked here too (they name files): 1-64 of [A-Za-z0-9_-].
 */

const ID = /^[A-Za-z0-9_-]{1,64}$/;
/** Bytes gathered into one write while the previous one runs. */
const WRITE_BATCH_BYTES = 1024 * 1024;
/**
 * Batch buffers, reused across appends (at most SPARE_BATCHES kept). The network's chunks are
 * copied in and die at once, young: holding them in a batch instead kept them alive across young
 * collections, which moved them to the old generation, where their memory waits for a full one.
 */
const SPARE_BATCHES = 8;
const spareBatches: Buffer[] = [];
const takeBatch = () => spareBatches.pop() ?? Buffer.allocUnsafeSlow(WRITE_BATCH_BYTES);
const giveBatch = (b: Buffer) => { if (spareBatches.length < SPARE_BATCHES) spareBatches.push(b); };
const SHA = /^[0-9a-f]{64}$/;

/** The state of an upload's hash while its process lives: continued by each append at the right offset. */
interface Running { hash: crypto.Hash; size: number }

export class FileBlobs implements BlobStore {
  private readonly tmp: string;
  private readonly running = new Map<string, Running>();
  private readonly busy = new Set<string>();
  /** One chain of work per content address (placing it, removing it). */
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(private readonly root: string) {
    this.tmp = path.join(root, 'tmp');
  }

  async start() {
    await fsp.mkdir(this.tmp, { recursive: true, mode: 0o700 });
    await fsp.chmod(this.root, 0o700);
    await fsp.chmod(this.tmp, 0o700);
  }

  async close() {
    await Promise.allSettled([...this.locks.values()]);
  }

  async health() {
    try {
      await fsp.access(this.tmp, fs.constants.W_OK);
      return { ok: true, kind: 'files', detail: this.root };
    } catch (err) {
      return { ok: false, kind: 'files', detail: (err as Error).message };
    }
  }

  /** Runs `fn` after every earlier task on the same address. */
  private locked<T>(sha256: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(sha256) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => {});
    this.locks.set(sha256, tail);
    void tail.then(() => {
      if (this.locks.get(sha256) === tail) this.locks.delete(sha256);
    });
    return run;
  }

  private temp(id: string) {
    if (!ID.test(id)) throw new Error(`not an upload id: ${id}`);
    return path.join(this.tmp, id);
  }

  private address(sha256: string) {
    if (!SHA.test(sha256)) throw new Error(`not a sha256: ${sha256}`);
    return path.join(this.root, sha256.slice(0, 2), sha256.slice(2));
  }

  /** Bytes of an upload received so far (0 when it has none). */
  async received(id: string): Promise<number> {
    return (await fsp.stat(this.temp(id)).catch(() => null))?.size ?? 0;
  }

  /**
   * Appends `body` to upload `id`, which must hold exactly `offset` bytes now (else 'offset',
   * with the real offset), and may grow to `total` bytes at most (beyond: 'too-large', and what
   * came before the excess is kept). One append at a time per
   * upload ('busy'). Returns how many bytes the upload now holds: what reached the file, also
   * when the body stops early (a dropped connection). A full disk (ENOSPC) removes the upload's
   * bytes ('disk-full').
   */
  async append(id: string, offset: number, body: AsyncIterable<Buffer>, total: number): Promise<number> {
    const file = this.temp(id);
    if (this.busy.has(id)) throw new BlobError('busy', 'Another request is sending this upload');
    this.busy.add(id);
    try {
      const have = await this.received(id);
      if (have !== offset) throw new BlobError('offset', `This upload holds ${have} bytes: send from there`, have);
      const hash = await this.hashUpTo(id, have);
      let size = have;
      let over = false;
      // Chunks are copied into a batch while the previous batch is written (write-behind, two
      // batches per upload), and counted and hashed once written: what the file holds is exactly
      // what was counted and hashed, whenever the body stops. One write per batch, not per
      // network chunk: an awaited write per 64 KiB chunk held uploads to a third of the disk's speed.
      const fh = await fsp.open(file, 'a', 0o600);
      let batch = takeBatch();
      let batchBytes = 0;
      let inflight: Promise<void> | null = null;
      let writeError: unknown = null;
      const write = (buf: Buffer, bytes: number) => {
        const data = buf.subarray(0, bytes);
        return writeAll(fh, [data]).then(() => {
          hash.update(data);
          size += bytes;
          giveBatch(buf);
        }, (err: unknown) => { writeError = err; throw err; });
      };
      const flush = async () => {
        if (inflight) await inflight;
        inflight = null;
        if (batchBytes === 0) return;
        const [buf, bytes] = [batch, batchBytes];
        batch = takeBatch();
        batchBytes = 0;
        inflight = write(buf, bytes);
        inflight.catch(() => {});
      };
      let received = have;
      try {
        try {
          for await (const chunk of body) {
            const room = total - received;
            const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
            received += part.length;
            for (let at = 0; at < part.length;) {
              const n = part.copy(batch, batchBytes, at);
              at += n;
              batchBytes += n;
              if (batchBytes === WRITE_BATCH_BYTES) await flush();
            }
            if (part !== chunk) {
              over = true;
              break;
            }
          }
        } catch (err) {
          // The body stopped (a dropped connection): what arrived is written, and a resumed upload continues from it.
          if (writeError) throw writeError;
        }
        await flush();
        if (inflight) await inflight;
        giveBatch(batch);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOSPC') {
          this.running.delete(id);
          await fh.close().catch(() => {});
          await fsp.rm(file, { force: true });
          throw new BlobError('disk-full', 'The disk is full: the upload was dropped', 0);
        }
        // A failed write leaves the file uncertain: the hash is redone from it on the next append.
        this.running.delete(id);
        throw err;
      } finally {
        await fh.close().catch(() => {});
      }
      this.running.set(id, { hash, size });
      if (over) throw new BlobError('too-large', `This upload was declared as ${total} bytes`, size);
      return size;
    } finally {
      this.busy.delete(id);
    }
  }

  /** The running hash of an upload at `offset`: kept from the last append, or read again from its file (after a restart or an interrupted append). */
  private async hashUpTo(id: string, offset: number): Promise<crypto.Hash> {
    const r = this.running.get(id);
    if (r && r.size === offset) return r.hash;
    const hash = crypto.createHash('sha256');
    if (offset > 0) await pipeline(fs.createReadStream(this.temp(id), { start: 0, end: offset - 1 }), async function* (src: AsyncIterable<Buffer>) { for await (const c of src) hash.update(c); });
    return hash;
  }

  /**
   * Ends an upload of `size` bytes: its content flushed to disk and renamed to its address (the
   * folder flushed too), or dropped when that content is already stored; `stored` is called under
   * the address's lock, before any removal of that content can run. Returns its sha256.
   */
  async commit(id: string, size: number, stored: (sha256: string) => Promise<void> = async () => {}): Promise<string> {
    const file = this.temp(id);
    if (this.busy.has(id)) throw new BlobError('busy', 'Another request is sending this upload');
    this.busy.add(id);
    try {
      const have = await this.received(id);
      if (have !== size) throw new BlobError('offset', `This upload holds ${have} of its ${size} bytes`, have);
      const sha256 = (await this.hashUpTo(id, size)).digest('hex');
      this.running.delete(id);
      await this.locked(sha256, async () => {
        await this.place(file, sha256);
        await stored(sha256);
      });
      return sha256;
    } finally {
      this.busy.delete(id);
    }
  }

  /** Moves a complete temporary to its address, or drops it when the address holds that content. */
  private async place(file: string, sha256: string) {
    const to = this.address(sha256);
    if (await fsp.stat(to).then(() => true, () => false)) {
      await fsp.rm(file, { force: true });
      return;
    }
    const fd = await fsp.open(file, 'r');
    try {
      await fd.sync();
    } finally {
      await fd.close();
    }
    await fsp.mkdir(path.dirname(to), { recursive: true, mode: 0o700 });
    await fsp.chmod(file, 0o600);
    await fsp.rename(file, to);
    const dir = await fsp.open(path.dirname(to), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }

  /** Drops an upload's bytes (cancelled or expired). */
  async discard(id: string) {
    this.running.delete(id);
    await fsp.rm(this.temp(id), { force: true });
  }

  /**
   * Removes the temporaries of uploads not in `live`; returns how many. One being written, or of
   * an upload begun after `readAt` (when `live` was read), is kept.
   */
  async sweep(live: Set<string>, readAt: number = Date.now()): Promise<number> {
    let n = 0;
    for (const name of await fsp.readdir(this.tmp)) {
      if (live.has(name) || this.busy.has(name) || uuidv7Time(name) >= readAt) continue;
      this.running.delete(name);
      await fsp.rm(path.join(this.tmp, name), { force: true, recursive: true });
      n++;
    }
    return n;
  }

  /** A stored content's size, or null when it is not stored. */
  async size(sha256: string): Promise<number | null> {
    return (await fsp.stat(this.address(sha256)).catch(() => null))?.size ?? null;
  }

  /** Reads a stored content, or the inclusive byte range [start, end] of it. */
  async read(file: BlobRef, range?: { start: number; end: number }): Promise<Readable> {
    if (!file.sha256) throw new Error(`file ${file.id} is not complete`);
    const stream = fs.createReadStream(this.address(file.sha256), range ? { start: range.start, end: range.end } : {});
    // Opened before it is handed out: a missing content is an error here, not mid-answer.
    await new Promise<void>((resolve, reject) => {
      stream.once('open', () => resolve());
      stream.once('error', reject);
    });
    return stream;
  }

  /** Deletes a stored content's bytes, unless a record still names it. */
  async remove(file: BlobRef, referenced: () => Promise<boolean>) {
    const sha256 = file.sha256;
    if (!sha256) return this.discard(file.id);
    await this.locked(sha256, async () => {
      if (!(await referenced())) await fsp.rm(this.address(sha256), { force: true });
    });
  }
}

/** Writes every byte of `bufs`, going on after a short write (a nearly full disk writes part, then fails with ENOSPC). */
async function writeAll(fh: fsp.FileHandle, bufs: Buffer[]): Promise<void> {
  let rest = bufs;
  while (rest.length) {
    const { bytesWritten } = await fh.writev(rest);
    let skip = bytesWritten;
    const next: Buffer[] = [];
    for (const b of rest) {
      if (skip >= b.length) skip -= b.length;
      else {
        next.push(skip > 0 ? b.subarray(skip) : b);
        skip = 0;
      }
    }
    if (bytesWritten === 0 && next.length) throw Object.assign(new Error('no byte was written'), { code: 'ENOSPC' });
    rest = next;
  }
}
