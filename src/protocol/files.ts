import { z } from 'zod';
import { LIMITS } from './limits.js';
import { FILE_ID, MAX_FILE_NAME_LENGTH } from './uploads.js';
import { wireTime } from './wire-time.js';

export * from './uploads.js';

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
  maxFileNameLength: MAX_FILE_NAME_LENGTH,
  /** Most characters of a name as sent (before it is cleaned). */
  maxSentNameLength: 1024,
} as const;

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
  createdAt: wireTime,
  completedAt: wireTime.nullable(),
  sent: z.boolean().describe('Attached to a message: readable by the conversation\'s members'),
  conversationId: z.string().nullable().describe('Where it was sent'),
  seq: z.number().int().positive().nullable().describe('The message it was sent with'),
  expiresAt: wireTime.nullable().describe('Unsent uploads are collected then'),
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
  uploadedAt: wireTime,
});

export type Attachment = z.infer<typeof attachmentSchema>;
export type UploadCreateInput = z.infer<typeof uploadCreateSchema>;
export type FileInfo = z.infer<typeof fileInfoSchema>;
export type SharedFile = z.infer<typeof sharedFileSchema>;
export type FilesQuery = z.infer<typeof filesQuerySchema>;
