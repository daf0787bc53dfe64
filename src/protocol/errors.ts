/**
 * The one error registry. Every coded error the daemon, the CLI or the TUI can
 * show is listed here with its HTTP status and a human message. The README's
 * error table is checked against this list by a test.
 */
import type { z } from 'zod';
import type { errorBodySchema } from './responses.js';

export const ERROR_CODES = {
  CHAT_ERR_INTERNAL: { status: 500, message: 'Internal server error' },
  CHAT_ERR_VALIDATION: { status: 400, message: 'The request is malformed or violates a limit' },
  CHAT_ERR_UNKNOWN_EVENT: { status: 400, message: 'No such socket event (the events are listed at GET /v1/events.schema.json)' },
  CHAT_ERR_PAYLOAD_TOO_LARGE: { status: 413, message: 'The payload exceeds the size limit' },
  CHAT_ERR_NOT_FOUND: { status: 404, message: 'Not found' },
  CHAT_ERR_UNAUTHENTICATED: { status: 401, message: 'Authentication is required' },
  CHAT_ERR_INVALID_CREDENTIALS: { status: 401, message: 'Invalid username or password' },
  CHAT_ERR_TOKEN_INVALID: { status: 401, message: 'The token is invalid' },
  CHAT_ERR_TOKEN_EXPIRED: { status: 401, message: 'The token has expired' },
  CHAT_ERR_TOKEN_IN_QUERY: { status: 400, message: 'Tokens must not be sent in the URL; use auth.token or the Authorization header' },
  CHAT_ERR_REFRESH_INVALID: { status: 401, message: 'The refresh token is invalid, expired or revoked' },
  CHAT_ERR_REFRESH_REUSED: { status: 401, message: 'Refresh token reuse detected; the session was revoked' },
  CHAT_ERR_SESSION_REVOKED: { status: 401, message: 'The session was revoked' },
  CHAT_ERR_ACCOUNT_DISABLED: { status: 403, message: 'The account is disabled' },
  CHAT_ERR_FORBIDDEN: { status: 403, message: 'Not allowed' },
  CHAT_ERR_ADMIN_REQUIRED: { status: 403, message: 'Administrator rights are required' },
  CHAT_ERR_USERNAME_TAKEN: { status: 409, message: 'The username is taken' },
  CHAT_ERR_USERNAME_RESERVED: { status: 409, message: 'The username is reserved' },
  CHAT_ERR_USER_NOT_FOUND: { status: 404, message: 'No such user' },
  CHAT_ERR_NOT_FRIENDS: { status: 403, message: 'Direct messages go only between friends' },
  CHAT_ERR_FRIEND_SELF: { status: 400, message: 'You cannot befriend yourself' },
  CHAT_ERR_MESSAGE_SELF: { status: 400, message: 'You cannot message yourself' },
  CHAT_ERR_NO_REQUEST: { status: 404, message: 'There is no pending friend request from that user' },
  CHAT_ERR_RATE_LIMITED: { status: 429, message: 'Too many requests; retry later' },
  CHAT_ERR_UNAVAILABLE: { status: 503, message: 'A backend is unavailable; the request was not accepted' },
  CHAT_ERR_SHUTTING_DOWN: { status: 503, message: 'The server is shutting down' },
  CHAT_ERR_NOT_CONFIGURED: { status: 409, message: 'This needs an engine the server does not run (e.g. the Kafka pipeline)' },
  CHAT_ERR_LIMIT_REACHED: { status: 403, message: 'A per-user or per-address limit is reached' },
  CHAT_ERR_STORAGE_FULL: { status: 507, message: 'The server is out of storage; nothing was accepted' },
  CHAT_ERR_GROUP_NOT_FOUND: { status: 404, message: 'No such group, or you are not in it' },
  CHAT_ERR_GROUP_ROLE: { status: 403, message: 'Your role in this group does not allow that' },
  CHAT_ERR_GROUP_FULL: { status: 409, message: 'The group has as many members as it may' },
  CHAT_ERR_GROUP_LAST_OWNER: { status: 409, message: 'The last owner must make another member owner before leaving' },
  CHAT_ERR_HANDLE_TAKEN: { status: 409, message: 'That group handle is taken' },
  CHAT_ERR_MESSAGE_NOT_FOUND: { status: 404, message: 'No such message in this conversation' },
  CHAT_ERR_NOT_AUTHOR: { status: 403, message: 'Only the author of the message may do that' },
  CHAT_ERR_EDIT_WINDOW: { status: 403, message: 'The message can no longer be edited (CHAT_EDIT_WINDOW_SECONDS)' },
  CHAT_ERR_NOT_EDITABLE: { status: 409, message: 'Only messages people wrote can be edited (not AI answers or system messages)' },
  CHAT_ERR_MESSAGE_DELETED: { status: 409, message: 'The message was deleted' },
  CHAT_ERR_EDIT_LIMIT: { status: 409, message: 'The message was edited as many times as it may be (CHAT_MAX_EDITS)' },
  CHAT_ERR_REACTION_LIMIT: { status: 409, message: 'The message has as many different reactions as it may (CHAT_MAX_REACTIONS)' },
  CHAT_ERR_ORIGIN_NOT_ALLOWED: { status: 403, message: 'Requests from this Origin are not allowed' },
  CHAT_ERR_FILE_NOT_FOUND: { status: 404, message: 'No such file, or you may not read it' },
  CHAT_ERR_FILE_TOO_LARGE: { status: 413, message: 'The file is larger than the server accepts (CHAT_MAX_FILE_SIZE)' },
  CHAT_ERR_QUOTA_EXCEEDED: { status: 413, message: 'Your stored files would exceed your quota (CHAT_FILE_QUOTA_BYTES)' },
  CHAT_ERR_TOO_MANY_UPLOADS: { status: 429, message: 'You have as many uploads in progress as you may (CHAT_MAX_UPLOADS_IN_FLIGHT)' },
  CHAT_ERR_UPLOAD_OFFSET: { status: 409, message: 'The server holds a different number of bytes of this upload: continue from its Upload-Offset' },
  CHAT_ERR_UPLOAD_BUSY: { status: 409, message: 'Another request is sending this upload' },
  CHAT_ERR_UPLOAD_INCOMPLETE: { status: 409, message: 'The file is not completely uploaded yet' },
  CHAT_ERR_UPLOAD_TIMEOUT: { status: 408, message: 'The upload sent too little for too long and was cut off; resume it from its Upload-Offset' },
  CHAT_ERR_FILE_ALREADY_SENT: { status: 409, message: 'The file was sent with another message; upload it again to send it again' },
  CHAT_ERR_RANGE_NOT_SATISFIABLE: { status: 416, message: 'The requested range starts past the end of the file' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** What goes on the wire for an error; its schema (errorBodySchema, responses.ts) documents each field. */
export type ErrorBody = z.infer<typeof errorBodySchema>;

export class ChatError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly retryAfterMs?: number;
  readonly details?: unknown;

  constructor(code: ErrorCode, message?: string, opts: { cause?: unknown; retryAfterMs?: number; details?: unknown } = {}) {
    super(message ?? ERROR_CODES[code].message, { cause: opts.cause });
    this.name = 'ChatError';
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.retryAfterMs = opts.retryAfterMs;
    this.details = opts.details;
  }

  toBody(): ErrorBody {
    const body: ErrorBody = { code: this.code, message: this.message };
    if (this.retryAfterMs !== undefined) body.retryAfterMs = this.retryAfterMs;
    if (this.details !== undefined) body.details = this.details;
    return body;
  }
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}

/** Turns any thrown value into a ChatError. Unknown errors become a generic internal error; the caller logs the cause. */
export function toChatError(err: unknown): ChatError {
  if (err instanceof ChatError) return err;
  if (err && typeof err === 'object' && isErrorCode((err as { code?: unknown }).code)) {
    const e = err as { code: ErrorCode; message?: string; retryAfterMs?: number; details?: unknown };
    return new ChatError(e.code, e.message || undefined, { retryAfterMs: e.retryAfterMs, details: e.details, cause: err });
  }
  return new ChatError('CHAT_ERR_INTERNAL', undefined, { cause: err });
}

/** Rebuilds a ChatError from a wire body (REST error response or failed ack). */
export function fromErrorBody(body: unknown, fallback: ErrorCode = 'CHAT_ERR_INTERNAL'): ChatError {
  if (body && typeof body === 'object') {
    const b = body as Partial<ErrorBody>;
    if (isErrorCode(b.code)) return new ChatError(b.code, b.message, { retryAfterMs: b.retryAfterMs, details: b.details });
  }
  return new ChatError(fallback);
}
