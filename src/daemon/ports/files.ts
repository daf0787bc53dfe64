import type { Readable } from 'node:stream';
import type { Lifecycle } from './lifecycle.js';

/** A file's metadata: an upload, complete or not, sent with a message or not. */
export interface FileRecord {
  /** A UUIDv7, chosen by chatd. */
  id: string;
  /** The uploader's username. */
  owner: string;
  /** Cleaned (protocol sanitizeFileName). */
  name: string;
  /** The size announced when the upload began: the bytes it counts against the owner's quota. */
  size: number;
  /** Sniffed from the bytes once complete; application/octet-stream until then. */
  type: string;
  /** Hex SHA-256, once complete. */
  sha256: string | null;
  width: number | null;
  height: number | null;
  createdAt: string;
  completedAt: string | null;
  /** Where it was sent (claimed by a send), or null while it is only its uploader's. */
  conversationId: string | null;
  /** The send that claimed it (its clientMsgId, or its message id): a resend of that send claims it again. */
  claim: string | null;
  /** The seq of the message it was sent with, once that message is durable. */
  seq: number | null;
}

/** Why a send could not claim one of its files. */
export type ClaimRefusal = { id: string; why: 'missing' | 'incomplete' | 'sent' };

/**
 * Files' metadata (the files issue): on the embedded deployment a table of the SQLite file, on
 * scale-out a MongoDB collection. Every implementation passes the FileStore part of
 * test/daemon/ports/store.contract.ts.
 */
export interface FileStore {
  /**
   * Records a new upload, if the owner's files (any state) plus this one stay within
   * `quotaBytes` and the owner has fewer than `maxInFlight` incomplete uploads; else refuses with
   * CHAT_ERR_QUOTA_EXCEEDED or CHAT_ERR_TOO_MANY_UPLOADS. Checked and recorded at once.
   */
  createUpload(file: Pick<FileRecord, 'id' | 'owner' | 'name' | 'size' | 'createdAt'>, caps: { quotaBytes: number; maxInFlight: number }): Promise<FileRecord>;
  get(id: string): Promise<FileRecord | null>;
  /** Marks an upload complete with what its bytes are. */
  complete(id: string, done: Pick<FileRecord, 'sha256' | 'type' | 'width' | 'height' | 'completedAt'>): Promise<void>;
  /**
   * Claims the owner's complete, unsent files for a send to `conversationId`, all or none: a file
   * already claimed by the same `claim` counts as claimable (a resend). Returns the files in the
   * order of `ids`, or the first refusal.
   */
  claim(owner: string, ids: string[], conversationId: string, claim: string): Promise<FileRecord[] | ClaimRefusal>;
  /** Gives back the files `claim` holds that have no seq yet (the send was not accepted). */
  release(ids: string[], claim: string): Promise<void>;
  /** The message the files were sent with is durable: its seq. */
  sent(ids: string[], seq: number): Promise<void>;
  /** Deletes these records; returns those that existed. */
  remove(ids: string[]): Promise<FileRecord[]>;
  /** The files of a conversation (for its deletion), at most `limit`. */
  ofConversation(conversationId: string, limit: number): Promise<FileRecord[]>;
  /** Files sent in a conversation with a seq at most `upTo` and below `beforeSeq`, newest first. */
  shared(conversationId: string, upTo: number, beforeSeq: number, limit: number): Promise<FileRecord[]>;
  /** How many records name this content. */
  references(sha256: string): Promise<number>;
  /** Bytes of the owner's files, any state. */
  usage(owner: string): Promise<number>;
  /** Unsent files begun before `before` (ISO time), oldest first: what the collector removes. */
  abandoned(before: string, limit: number): Promise<FileRecord[]>;
  /** The ids of every incomplete upload (the blob sweep keeps their bytes). */
  incomplete(): Promise<string[]>;
}

/** Where a file's bytes are: its id, and its content address once complete. */
export type BlobRef = Pick<FileRecord, 'id' | 'sha256'>;

/**
 * Why an upload's bytes were refused; the files service answers each with its coded error.
 * `offset`: the bytes the upload holds (where the client must continue from).
 */
export class BlobError extends Error {
  constructor(readonly reason: 'busy' | 'offset' | 'too-large' | 'disk-full', message: string, readonly offset?: number) {
    super(message);
  }
}

/**
 * Files' bytes, streamed in and out, never whole in memory: content-addressed files in the data
 * dir (embedded), GridFS (scale-out). The contract:
 * - `append` writes a stream at `offset`, which must be what the upload holds (else BlobError
 *   'offset' with the real one); it keeps what arrived before a broken stream, never stores past
 *   `total` ('too-large'), and resolves with the bytes held.
 * - `commit` ends a complete upload: hashes it, makes it readable through `read`, and calls
 *   `stored(sha256)` before anything can remove that content (the caller records it there).
 * - `read` streams a complete file, or the inclusive byte range [start, end] of it.
 * - `remove` deletes a complete file's bytes unless `referenced()` (content shared by another
 *   record, where the store dedupes) says otherwise; `discard` an incomplete upload's.
 * - `sweep` removes the bytes of every incomplete upload not in `live` (what a crash left), except
 *   those begun after `live` was read.
 */
export interface BlobStore extends Lifecycle {
  received(uploadId: string): Promise<number>;
  append(uploadId: string, offset: number, body: AsyncIterable<Buffer>, total: number): Promise<number>;
  commit(uploadId: string, size: number, stored?: (sha256: string) => Promise<void>): Promise<string>;
  read(file: BlobRef, range?: { start: number; end: number }): Promise<Readable>;
  remove(file: BlobRef, referenced: () => Promise<boolean>): Promise<void>;
  discard(uploadId: string): Promise<void>;
  /** `readAt`: when `live` was read; an upload begun after it (its id is a UUIDv7) may be missing from it, and is kept. */
  sweep(live: Set<string>, readAt: number): Promise<number>;
}

/** The creation time of a UUIDv7 (its first 48 bits, in ms); 0 for anything else (a stray file). */
export function uuidv7Time(id: string): number {
  const hex = id.replace(/-/g, '').slice(0, 12);
  return /^[0-9a-f]{8}-[0-9a-f]{4}-7/.test(id) && /^[0-9a-f]{12}$/.test(hex) ? parseInt(hex, 16) : 0;
}
