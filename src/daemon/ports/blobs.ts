import type { Readable } from 'node:stream';
import type { Lifecycle } from './lifecycle.js';

/** A stored (or partly uploaded) file. */
export interface BlobInfo {
  id: string;
  /** The uploader's username. */
  owner: string;
  /** The size announced when the upload began. */
  size: number;
  /** Bytes stored so far: `size` once complete. */
  received: number;
  contentType: string;
  /** Hex SHA-256 of the content, set once complete. */
  sha256: string | null;
  createdAt: string;
  completedAt: string | null;
}

/**
 * Files, streamed in and out, resumable (filled by the files issue: SQLite or the data dir on the
 * embedded deployment, GridFS on scale-out). The contract every implementation passes:
 * - `begin` records an upload of `size` bytes; an id that exists is an error (ids are UUIDv7s).
 * - `append` writes a stream at `offset`, which must equal `received` (else CHAT_ERR_CONFLICT with
 *   the current offset, so a client resumes where the store is); it never stores past `size`, and
 *   it keeps what arrived before a broken stream (that is what a resume continues from). It
 *   resolves with the new `received`.
 * - The upload is complete when `received === size`: `sha256` and `completedAt` are set then.
 * - `read` streams a complete blob, or the byte range [start, end); never an incomplete one.
 * - `remove` deletes a blob and every byte of it, complete or not; removing a missing id is a no-op.
 * - Bytes are never held whole in memory: chunks stream through.
 */
export interface BlobStore extends Lifecycle {
  begin(info: Pick<BlobInfo, 'id' | 'owner' | 'size' | 'contentType' | 'createdAt'>): Promise<BlobInfo>;
  append(id: string, offset: number, data: Readable): Promise<number>;
  stat(id: string): Promise<BlobInfo | null>;
  read(id: string, range?: { start: number; end: number }): Promise<Readable>;
  remove(id: string): Promise<void>;
  /** Incomplete uploads begun before `before`, for the sweep that removes abandoned ones. */
  stale(before: string, limit: number): Promise<BlobInfo[]>;
}
