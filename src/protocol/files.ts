import { z } from 'zod';
import { LIMITS } from './limits.js';

/**
 * Files: uploaded over REST in pieces that resume (an offset-based form of tus 1.0's core
 * protocol), then attached to a message by id. The upload:
 *
 * 1. `POST /v1/files` with `{ name, size }`: refused at once when the size or the sender's quota
 *    does not allow it; answers the file's id.
 * 2. `PATCH /v1/files/{id}/content` with `Upload-Offset: <bytes the server holds>` and the bytes
 *    from there (`Content-Type: application/offset+octet-stream`), in one request or several. A
 *    request cut short keeps what arrived; `HEAD` (or `GET /v1/files/{id}`) tells the offset to go
 *    on from. An offset that is not the server's answers 409 CHAT_ERR_UPLOAD_OFFSET with the right
 *    one in `Upload-Offset`. The answer to the last piece carries the file as stored (its sha256
 *    and the type sniffed from its bytes).
 * 3. Send a message with `files: [id, …]`. Until then only the uploader sees the file; an upload
 *    never sent is collected after CHAT_UPLOAD_EXPIRY_SECONDS.
 *
 * `GET /v1/files/{id}/content` downloads (range requests answered, so a download resumes).
 */
export const FILE_LIMITS = {
  /** Most files on one message. */
  maxFilesPerMessage: LIMITS.maxFilesPerMessage,
  /** Most code points of a file name as stored (longer names are cut, keeping the extension). */
  maxFileNameLength: 200,
  /** Most characters of a name as sent (before it is cleaned). */
  maxSentNameLength: 1024,
} as const;

/** The media type of an upload's bytes (tus). */
export const UPLOAD_CONTENT_TYPE = 'application/offset+octet-stream';
/** How many bytes the server holds of an upload: sent with each piece, answered after it. */
export const UPLOAD_OFFSET_HEADER = 'upload-offset';
/** The upload's whole size, on HEAD. */
export const UPLOAD_LENGTH_HEADER = 'upload-length';

/** A file id: a UUID (v7, in lower-case hex). */
export const FILE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

// C0 and C1 controls, DEL, and the invisible format characters that reorder or hide text (bidi
// overrides and isolates, zero-width joiners, the BOM): a name must read as what it is.
// eslint-disable-next-line no-control-regex
const UNSAFE_IN_NAME = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]/gu;

/**
 * A file name as chatd stores it and clients save it: the last path part only (`/` and `\`),
 * without control or invisible format characters, without leading dots (no hidden files) or
 * surrounding spaces, at most FILE_LIMITS.maxFileNameLength code points with its extension kept,
 * and `file` when nothing is left. Idempotent.
 */
export function sanitizeFileName(name: string): string {
  const base = name.replace(UNSAFE_IN_NAME, '').split(/[/\\]/u).pop() ?? '';
  const cleaned = base.trim().replace(/^[.\s]+/u, '').replace(/\s+$/u, '');
  const cps = [...cleaned];
  if (cps.length === 0) return 'file';
  if (cps.length <= FILE_LIMITS.maxFileNameLength) return cleaned;
  const dot = cleaned.lastIndexOf('.');
  const ext = dot > 0 ? [...cleaned.slice(dot)] : [];
  const keep = ext.length > 0 && ext.length <= 16 ? ext : [];
  return cps.slice(0, FILE_LIMITS.maxFileNameLength - keep.length).join('').trimEnd() + keep.join('');
}

export const fileIdSchema = z.string().regex(FILE_ID, 'not a file id');

/** A file as a message carries it. */
export const attachmentSchema = z.object({
  id: z.string().describe('The file id: download it from /v1/files/{id}/content'),
  name: z.string().describe('The file name, cleaned (no path, no control characters)'),
  size: z.number().int().min(0).describe('Bytes'),
  type: z.string().describe('The media type sniffed from the bytes (application/octet-stream when unknown; never the uploader\'s claim)'),
  sha256: z.string().describe('Hex SHA-256 of the content'),
  width: z.number().int().positive().optional().describe('An image\'s width in pixels'),
  height: z.number().int().positive().optional().describe('An image\'s height in pixels'),
});

/** Starting an upload: the name the file goes by and its exact size in bytes. */
export const uploadCreateSchema = z.strictObject({
  name: z.string().min(1, 'name must not be empty').max(FILE_LIMITS.maxSentNameLength).refine((t) => t.isWellFormed(), 'name is not valid Unicode (a lone surrogate)'),
  size: z.number().int().min(1, 'a file has at least one byte').max(Number.MAX_SAFE_INTEGER),
});

/** A file as its uploader or a reader sees it (GET /v1/files/{id}). */
export const fileInfoSchema = z.object({
  id: z.string(),
  name: z.string(),
  size: z.number().int().describe('The whole size in bytes, as announced'),
  received: z.number().int().describe('Bytes the server holds: size once the upload is complete'),
  type: z.string().describe('Sniffed from the bytes once complete (application/octet-stream until then)'),
  sha256: z.string().nullable().describe('Hex SHA-256 once complete'),
  width: z.number().int().positive().optional(),
  height: z.number().int().positive().optional(),
  owner: z.string().describe('Who uploaded it'),
  createdAt: z.string(),
  completedAt: z.string().nullable(),
  sent: z.boolean().describe('Attached to a message: readable by the conversation\'s members'),
  conversationId: z.string().nullable().describe('Where it was sent'),
  seq: z.number().int().positive().nullable().describe('The message it was sent with'),
  expiresAt: z.string().nullable().describe('Unsent uploads are collected then'),
});

/** A page of the files shared in a conversation (GET /v1/messages/{peer}/files), newest first. */
export const filesQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).optional(),
  beforeSeq: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional(),
});

export const fileParamSchema = z.strictObject({ id: fileIdSchema });

/** A shared file with who sent it, where and when. */
export const sharedFileSchema = attachmentSchema.extend({
  from: z.string(),
  seq: z.number().int().positive(),
  uploadedAt: z.string(),
});

export type Attachment = z.infer<typeof attachmentSchema>;
export type UploadCreateInput = z.infer<typeof uploadCreateSchema>;
export type FileInfo = z.infer<typeof fileInfoSchema>;
export type SharedFile = z.infer<typeof sharedFileSchema>;
export type FilesQuery = z.infer<typeof filesQuerySchema>;

/**
 * The inclusive byte range a `Range: bytes=…` header asks of a `size`-byte file: null when there
 * is no header or it is not a single range (the whole file is sent), 'unsatisfiable' when it
 * starts past the end (416). Multiple ranges are answered with the whole file, as RFC 9110 allows.
 */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | null | 'unsatisfiable' {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size) return 'unsatisfiable';
  if (end < start) return null;
  return { start, end };
}
