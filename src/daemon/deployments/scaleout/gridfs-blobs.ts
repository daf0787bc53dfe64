import crypto from 'node:crypto';
import type { Readable } from 'node:stream';
import mongoose from 'mongoose';
import { BlobError, uuidv7Time, type BlobRef, type BlobStore } from '../../ports/index.js';

type Db = NonNullable<mongoose.Connection['db']>;

/** GridFS's own default chunk size (255 KiB): every chunk but the last is exactly this long. */
export const CHUNK_BYTES = 255 * 1024;
const BUCKET = 'blobs';
/** How far nodes' clocks may differ, for the sweep's "begun after" test. */
const CLOCK_SKEW_MS = 5_000;

interface ChunkDoc { _id?: unknown; files_id: string; n: number; data: { buffer: Buffer } | Buffer }

const bytesOf = (d: ChunkDoc['data']): Buffer => (Buffer.isBuffer(d) ? d : Buffer.from((d as { buffer: Buffer }).buffer));

/**
 * Files' bytes on scale-out, in MongoDB GridFS (`blobs.files`, `blobs.chunks`), so any node serves
 * any file. Downloads go through the driver's GridFSBucket; uploads write GridFS chunks
 * themselves, because an upload arrives in pieces, perhaps through different nodes, perhaps
 * after a restart: every chunk but the upload's last is full, the last is rewritten as it grows,
 * and what MongoDB holds is the offset a client resumes from. The `blobs.files` document that
 * makes a file readable is written only when the last byte is in, with its sha256. A node holds
 * at most one chunk of an upload in memory.
 *
 * Content is stored per file, not deduplicated: without transactions (FerretDB), two nodes
 * placing and removing one shared content could not be serialized.
 */
export class GridFsBlobs implements BlobStore {
  private readonly running = new Map<string, { hash: crypto.Hash; size: number }>();
  private readonly busy = new Set<string>();

  constructor(private readonly db: () => Db) {}

  private get chunks() {
    return this.db().collection<ChunkDoc>(`${BUCKET}.chunks`);
  }

  private get filesColl() {
    return this.db().collection<{ _id: string; length: number }>(`${BUCKET}.files`);
  }

  private bucket() {
    return new mongoose.mongo.GridFSBucket(this.db(), { bucketName: BUCKET, chunkSizeBytes: CHUNK_BYTES });
  }

  async start() {
    // The indexes GridFSBucket would create on its first upload.
    await this.chunks.createIndex({ files_id: 1, n: 1 }, { unique: true });
    await this.filesColl.createIndex({ filename: 1, uploadDate: 1 });
  }

  async close() {}

  async health() {
    try {
      await this.db().command({ ping: 1 });
      return { ok: true, kind: 'gridfs', detail: BUCKET };
    } catch (err) {
      return { ok: false, kind: 'gridfs', detail: (err as Error).message };
    }
  }

  /** The upload's last chunk (n and bytes), or null when it has none. */
  private async last(id: string): Promise<{ n: number; data: Buffer } | null> {
    const d = await this.chunks.find({ files_id: id }).sort({ n: -1 }).limit(1).next();
    return d ? { n: d.n, data: bytesOf(d.data) } : null;
  }

  async received(id: string): Promise<number> {
    const done = await this.filesColl.findOne({ _id: id });
    if (done) return done.length;
    const l = await this.last(id);
    return l ? l.n * CHUNK_BYTES + l.data.length : 0;
  }

  async append(id: string, offset: number, body: AsyncIterable<Buffer>, total: number): Promise<number> {
    if (this.busy.has(id)) throw new BlobError('busy', 'Another request is sending this upload');
    this.busy.add(id);
    try {
      const tail = await this.last(id);
      const have = tail ? tail.n * CHUNK_BYTES + tail.data.length : 0;
      if (have !== offset) throw new BlobError('offset', `This upload holds ${have} bytes: send from there`, have);
      const hash = await this.hashUpTo(id, have);
      // The chunk being filled: the partial last one, or a new one.
      const rewrite = tail && tail.data.length < CHUNK_BYTES ? tail.n : -1;
      let n = rewrite >= 0 ? rewrite : tail ? tail.n + 1 : 0;
      let buf: Buffer = rewrite >= 0 ? tail!.data : Buffer.alloc(0);
      let size = have;
      let over = false;
      let failed: unknown = null;
      // A chunk that existed (the partial last one) is replaced; new ones are inserted.
      const put = async (at: number, data: Buffer) => {
        if (at === rewrite) await this.chunks.updateOne({ files_id: id, n: at }, { $set: { data } }, { upsert: true });
        else await this.chunks.insertOne({ files_id: id, n: at, data });
      };
      // One full chunk is written while the next one fills (at most two in memory).
      let pending: Promise<void> = Promise.resolve();
      try {
        for await (const chunk of body) {
          const room = total - size;
          const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
          let at = 0;
          while (at < part.length) {
            const take = Math.min(CHUNK_BYTES - buf.length, part.length - at);
            buf = buf.length === 0 && take === CHUNK_BYTES ? part.subarray(at, at + take) : Buffer.concat([buf, part.subarray(at, at + take)]);
            at += take;
            if (buf.length === CHUNK_BYTES) {
              await pending;
              const [full, index] = [buf, n];
              pending = put(index, full).then(() => { hash.update(full); });
              pending.catch(() => {});
              n++;
              buf = Buffer.alloc(0);
            }
          }
          size += part.length;
          if (part !== chunk) {
            over = true;
            break;
          }
        }
      } catch (err) {
        // A body that stopped (a dropped connection) keeps what arrived; a failed write is an error.
        failed = err;
      }
      try {
        await pending;
      } catch (err) {
        this.running.delete(id);
        throw err;
      }
      // The partial chunk is written as the upload's last, for a resume to continue from.
      const pendingFrom = size - buf.length;
      if (buf.length > 0) {
        try {
          await this.chunks.updateOne({ files_id: id, n }, { $set: { data: buf } }, { upsert: true });
        } catch (err) {
          this.running.delete(id);
          throw err;
        }
      }
      // The running hash covers full chunks only; the partial one is hashed again once it is full.
      this.running.set(id, { hash, size: pendingFrom });
      if (failed && isStoreError(failed)) {
        this.running.delete(id);
        throw failed;
      }
      if (over) throw new BlobError('too-large', `This upload was declared as ${total} bytes`, size);
      return size;
    } finally {
      this.busy.delete(id);
    }
  }

  /** The hash of an upload's first `offset` bytes rounded down to whole chunks: kept from the last append, or read again from MongoDB. */
  private async hashUpTo(id: string, offset: number): Promise<crypto.Hash> {
    const whole = Math.floor(offset / CHUNK_BYTES) * CHUNK_BYTES;
    const r = this.running.get(id);
    if (r && r.size === whole) return r.hash;
    const hash = crypto.createHash('sha256');
    const full = whole / CHUNK_BYTES;
    for await (const d of this.chunks.find({ files_id: id, n: { $lt: full } }).sort({ n: 1 })) hash.update(bytesOf(d.data));
    return hash;
  }

  async commit(id: string, size: number, stored: (sha256: string) => Promise<void> = async () => {}): Promise<string> {
    if (this.busy.has(id)) throw new BlobError('busy', 'Another request is sending this upload');
    this.busy.add(id);
    try {
      const tail = await this.last(id);
      const have = tail ? tail.n * CHUNK_BYTES + tail.data.length : 0;
      if (have !== size) throw new BlobError('offset', `This upload holds ${have} of its ${size} bytes`, have);
      const hash = await this.hashUpTo(id, size);
      if (tail && tail.data.length < CHUNK_BYTES) hash.update(tail.data);
      const sha256 = hash.digest('hex');
      this.running.delete(id);
      await this.filesColl.updateOne({ _id: id }, { $setOnInsert: { length: size, chunkSize: CHUNK_BYTES, uploadDate: new Date(), filename: id, metadata: { sha256 } } }, { upsert: true });
      await stored(sha256);
      return sha256;
    } finally {
      this.busy.delete(id);
    }
  }

  async read(file: BlobRef, range?: { start: number; end: number }): Promise<Readable> {
    if (!(await this.filesColl.findOne({ _id: file.id }))) throw Object.assign(new Error(`no stored content for file ${file.id}`), { code: 'ENOENT' });
    return this.bucket().openDownloadStream(file.id as never, range ? { start: range.start, end: range.end + 1 } : {});
  }

  /** Deletes the file's bytes: each file has its own (no content is shared on scale-out). */
  async remove(file: BlobRef) {
    await this.discard(file.id);
  }

  async discard(id: string) {
    this.running.delete(id);
    await this.filesColl.deleteOne({ _id: id });
    await this.chunks.deleteMany({ files_id: id });
  }

  /** Nodes' clocks differ: an upload begun up to this long before `readAt` (by another node's clock) is kept too. */
  async sweep(live: Set<string>, readAt: number = Date.now()): Promise<number> {
    const keepFrom = readAt - CLOCK_SKEW_MS;
    const ids = (await this.chunks.distinct('files_id')) as string[];
    const complete = new Set((await this.filesColl.find({ _id: { $in: ids } }, { projection: { _id: 1 } }).toArray()).map((d) => d._id));
    let n = 0;
    for (const id of ids) {
      if (live.has(id) || complete.has(id) || this.busy.has(id) || uuidv7Time(id) >= keepFrom) continue;
      await this.discard(id);
      n++;
    }
    return n;
  }
}

/** A MongoDB error (the write failed), as opposed to the request body breaking off. */
function isStoreError(err: unknown): boolean {
  const name = (err as { name?: string }).name ?? '';
  return name.startsWith('Mongo');
}
