import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { uuidv7 } from '../../shared/uuid7.js';
import {
  ChatError, LIMITS, conversationMembers, dmConversationId, isGroupConversation, parseRange, sanitizeFileName,
  type Attachment, type FileInfo, type FilesQuery, type Message, type SharedFile, type UploadCreateInput,
} from '../../protocol/index.js';
import type { Config } from '../config.js';
import { isoTime } from '../iso-time.js';
import { BlobError, type BlobStore, type FileRecord, type FileStore } from '../ports/index.js';
import type { GroupDirectory } from './message-routes.js';
import { SNIFF_BYTES, sniff } from './file-sniff.js';

/** Abandoned uploads collected per pass. */
const COLLECT_BATCH = 500;

type FileSettings = Pick<Config, 'maxFileSize' | 'fileQuotaBytes' | 'maxUploadsInFlight' | 'uploadExpirySeconds'>;

/** A download: the file, and its bytes (all of them, or the range asked for). */
export interface Download { file: FileRecord; stream: Readable; range: { start: number; end: number } | null }

/** What the message path needs of files: claiming them for a send, and letting them go. */
export interface Attachments {
  /** Claims the sender's uploaded files for a send to `conversationId` (all or none): their attachments, in order. */
  claim(from: string, ids: string[], conversationId: string, key: string): Promise<Attachment[]>;
  /** The send was refused or failed: the files are unsent again. */
  release(ids: string[], key: string): Promise<void>;
  /** The message is durable: its files are readable by its conversation from now on. */
  sent(ids: string[], seq: number): Promise<void>;
  /** A message was deleted: its files go (their bytes with the last reference). */
  dropped(message: Pick<Message, 'files'>): Promise<void>;
}

const notFound = () => new ChatError('CHAT_ERR_FILE_NOT_FOUND');

/**
 * Files: uploads in resumable pieces, attachment to messages, downloads, and who may read what.
 * A file is its uploader's alone until a message carries it; then it is readable by the
 * conversation's members (a former group member: what was sent up to their removal). A request
 * for a file someone may not read is answered exactly as one for a file that does not exist.
 */
export class FileService implements Attachments {
  private groups: GroupDirectory | null = null;
  private collector: NodeJS.Timeout | null = null;
  private collecting: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: FileStore,
    private readonly blobs: BlobStore,
    private readonly config: FileSettings,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  setGroups(g: GroupDirectory) {
    this.groups = g;
  }

  /**
   * Starts the collector: at once (what a crash left: temporaries of no upload, uploads that
   * expired while chatd was down), then every tenth of the expiry, at most every minute.
   */
  start() {
    if (this.collector) return;
    const every = Math.min(60_000, Math.max(1000, (this.config.uploadExpirySeconds * 1000) / 10));
    this.collecting = this.collect().catch((err: unknown) => this.log.warn({ err }, 'collecting abandoned uploads failed'));
    this.collector = setInterval(() => {
      this.collecting = this.collecting.then(() => this.collect()).catch((err: unknown) => this.log.warn({ err }, 'collecting abandoned uploads failed'));
    }, every);
    this.collector.unref();
  }

  async stop() {
    if (this.collector) clearInterval(this.collector);
    this.collector = null;
    await this.collecting.catch(() => {});
  }

  /** Removes uploads never sent within the expiry, and any temporary that belongs to no upload. Returns how many uploads went. */
  async collect(): Promise<number> {
    const blobs = this.blobs;
    const before = isoTime(this.now() - this.config.uploadExpirySeconds * 1000);
    let n = 0;
    for (;;) {
      const batch = await this.store.abandoned(before, COLLECT_BATCH);
      if (batch.length === 0) break;
      await this.forget(batch.map((f) => f.id));
      n += batch.length;
      if (batch.length < COLLECT_BATCH) break;
    }
    // Uploads begun while the live ones are read are not among them: the sweep keeps those.
    const readAt = this.now();
    const swept = await blobs.sweep(new Set(await this.store.incomplete()), readAt);
    if (n || swept) this.log.info({ uploads: n, temporaries: swept }, 'collected abandoned uploads');
    return n;
  }

  /** Deletes records and, where no record names their content any more, their bytes. */
  private async forget(ids: string[]) {
    const blobs = this.blobs;
    for (const f of await this.store.remove(ids)) {
      await blobs.remove(f, async () => f.sha256 !== null && (await this.store.references(f.sha256)) > 0);
    }
  }

  /** Starts an upload. Refused before any byte when the size, the quota or the uploads in flight do not allow it. */
  async begin(owner: string, input: UploadCreateInput): Promise<FileInfo> {
    if (input.size > this.config.maxFileSize) throw new ChatError('CHAT_ERR_FILE_TOO_LARGE', `The file has ${input.size} bytes; this server accepts at most ${this.config.maxFileSize} (CHAT_MAX_FILE_SIZE)`);
    const file = await this.store.createUpload(
      { id: uuidv7(), owner, name: sanitizeFileName(input.name), size: input.size, createdAt: isoTime(this.now()) },
      { quotaBytes: this.config.fileQuotaBytes, maxInFlight: this.config.maxUploadsInFlight },
    );
    return this.view(file, 0);
  }

  /** A file as `me` may see it: its uploader's own, or a file sent where `me` reads. */
  async info(me: string, id: string): Promise<FileInfo> {
    const file = await this.readable(me, id);
    return this.view(file, file.completedAt ? file.size : await this.blobs.received(id));
  }

  /**
   * Appends a piece of an upload at `offset` (what the server holds). `length`, when the request
   * says it, lets an oversized piece be refused before it is read. When the last byte arrives the
   * file is hashed, sniffed and recorded. Returns the file as it now is.
   */
  async append(me: string, id: string, offset: number, body: AsyncIterable<Buffer>, length: number | null): Promise<FileInfo> {
    const blobs = this.blobs;
    const file = await this.own(id, me);
    if (file.completedAt) throw new ChatError('CHAT_ERR_UPLOAD_OFFSET', 'The upload is complete', { details: { offset: file.size } });
    if (length !== null && offset + length > file.size) throw new ChatError('CHAT_ERR_FILE_TOO_LARGE', `The upload was announced as ${file.size} bytes; this piece would end at ${offset + length}`, { details: { offset } });
    let received: number;
    try {
      received = await blobs.append(id, offset, body, file.size);
    } catch (err) {
      throw blobError(err);
    }
    if (received < file.size) return this.view(file, received);
    try {
      await blobs.commit(id, file.size, async (sha256) => {
        const head = await readAll(await blobs.read({ id, sha256 }, { start: 0, end: Math.min(file.size, SNIFF_BYTES) - 1 }));
        const what = await sniff(head);
        await this.store.complete(id, { sha256, ...what, completedAt: isoTime(this.now()) });
      });
    } catch (err) {
      throw blobError(err);
    }
    return this.view((await this.store.get(id)) ?? file, file.size);
  }

  /** Removes an upload that was not sent (its uploader). A sent file goes with its message. */
  async cancel(me: string, id: string) {
    const file = await this.own(id, me);
    if (file.conversationId !== null) throw new ChatError('CHAT_ERR_FILE_ALREADY_SENT', 'The file was sent: delete its message to remove it');
    await this.forget([id]);
  }

  /** A complete file's bytes for `me`, all or the range a Range header asks. */
  async download(me: string, id: string, rangeHeader: string | undefined): Promise<Download> {
    const file = await this.readable(me, id);
    if (!file.completedAt || !file.sha256) throw new ChatError('CHAT_ERR_UPLOAD_INCOMPLETE');
    const range = parseRange(rangeHeader, file.size);
    if (range === 'unsatisfiable') throw new ChatError('CHAT_ERR_RANGE_NOT_SATISFIABLE', undefined, { details: { size: file.size } });
    return { file, stream: await this.blobs.read(file, range ?? undefined), range };
  }

  /** Files sent in a conversation `me` reads (friend or #group), newest first. */
  async shared(me: string, peer: string, q: FilesQuery): Promise<SharedFile[]> {
    const { conversationId, upTo } = await this.conversation(me, peer);
    const list = await this.store.shared(conversationId, upTo, q.beforeSeq ?? Number.MAX_SAFE_INTEGER, q.limit ?? LIMITS.defaultHistoryLimit);
    return list.map((f) => ({ ...attachmentOf(f), from: f.owner, seq: f.seq!, uploadedAt: f.createdAt }));
  }

  /**
   * A sent file's bytes, whole, for the AI service (which checked the asker reads the
   * conversation); null when it is larger than `max`, missing or not complete.
   */
  async bytes(file: Pick<Attachment, 'id' | 'size'>, max: number): Promise<Buffer | null> {
    const f = await this.store.get(file.id);
    if (!f?.sha256 || f.size > max) return null;
    return readAll(await this.blobs.read(f));
  }

  // Attachments: what the message path calls.

  async claim(from: string, ids: string[], conversationId: string, key: string): Promise<Attachment[]> {
    const r = await this.store.claim(from, ids, conversationId, key);
    if (!Array.isArray(r)) {
      if (r.why === 'missing') throw new ChatError('CHAT_ERR_FILE_NOT_FOUND', `No such file of yours: ${r.id}`);
      if (r.why === 'incomplete') throw new ChatError('CHAT_ERR_UPLOAD_INCOMPLETE', `The file ${r.id} is not completely uploaded yet`);
      throw new ChatError('CHAT_ERR_FILE_ALREADY_SENT', `The file ${r.id} was sent with another message; upload it again to send it again`);
    }
    return r.map(attachmentOf);
  }

  release(ids: string[], key: string) {
    return this.store.release(ids, key);
  }

  sent(ids: string[], seq: number) {
    return this.store.sent(ids, seq);
  }

  async dropped(message: Pick<Message, 'files'>) {
    if (message.files?.length) await this.forget(message.files.map((f) => f.id));
  }

  /** A deleted group's files go with it. */
  async conversationDeleted(conversationId: string) {
    for (;;) {
      const batch = await this.store.ofConversation(conversationId, COLLECT_BATCH);
      if (batch.length === 0) return;
      await this.forget(batch.map((f) => f.id));
    }
  }

  private async own(id: string, me: string): Promise<FileRecord> {
    const file = await this.store.get(id);
    if (!file || file.owner !== me) throw notFound();
    return file;
  }

  /** The file if `me` may read it; else CHAT_ERR_FILE_NOT_FOUND, as for a file that does not exist. */
  private async readable(me: string, id: string): Promise<FileRecord> {
    const file = await this.store.get(id);
    if (!file) throw notFound();
    if (file.owner === me && (file.conversationId === null || file.seq === null)) return file;
    if (file.conversationId === null || file.seq === null) throw notFound();
    if (!isGroupConversation(file.conversationId)) {
      if (!conversationMembers(file.conversationId, []).includes(me)) throw notFound();
      return file;
    }
    const r = await this.groups?.readable(me, file.conversationId).catch(() => null);
    if (!r || file.seq > r.upTo) throw notFound();
    return file;
  }

  /** Where `me` reads a conversation named as in a send, and up to which seq. */
  private async conversation(me: string, peer: string): Promise<{ conversationId: string; upTo: number }> {
    if (!peer.startsWith('#')) return { conversationId: dmConversationId(me, peer), upTo: Number.MAX_SAFE_INTEGER };
    if (!this.groups) throw new ChatError('CHAT_ERR_GROUP_NOT_FOUND');
    return this.groups.readable(me, peer);
  }

  private view(f: FileRecord, received: number): FileInfo {
    const info: FileInfo = {
      id: f.id, name: f.name, size: f.size, received, type: f.type, sha256: f.sha256, owner: f.owner, createdAt: f.createdAt, completedAt: f.completedAt,
      sent: f.seq !== null, conversationId: f.seq !== null ? f.conversationId : null, seq: f.seq,
      expiresAt: f.conversationId === null ? isoTime(Date.parse(f.createdAt) + this.config.uploadExpirySeconds * 1000) : null,
    };
    if (f.width !== null) info.width = f.width;
    if (f.height !== null) info.height = f.height;
    return info;
  }
}

/** A stored, complete file as a message carries it. */
export function attachmentOf(f: FileRecord): Attachment {
  const a: Attachment = { id: f.id, name: f.name, size: f.size, type: f.type, sha256: f.sha256 ?? '' };
  if (f.width !== null) a.width = f.width;
  if (f.height !== null) a.height = f.height;
  return a;
}

/** A blob store's refusal as the coded error the client acts on. */
function blobError(err: unknown): unknown {
  if (!(err instanceof BlobError)) return err;
  const details = err.offset !== undefined ? { offset: err.offset } : undefined;
  switch (err.reason) {
    case 'offset': return new ChatError('CHAT_ERR_UPLOAD_OFFSET', err.message, { details });
    case 'busy': return new ChatError('CHAT_ERR_UPLOAD_BUSY', err.message);
    case 'too-large': return new ChatError('CHAT_ERR_FILE_TOO_LARGE', err.message, { details });
    case 'disk-full': return new ChatError('CHAT_ERR_STORAGE_FULL', 'The server ran out of disk space: the upload was dropped; start it again later', { details });
  }
}

/** A stream's bytes, whole (bounded by the caller: a sniffing head, or a file under the /ai cap). */
async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(c as Buffer);
  return Buffer.concat(parts);
}
