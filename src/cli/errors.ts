import { ChatError, type ErrorCode } from '../protocol/errors.js';

/** Bad arguments: exit 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export const EXIT = { ok: 0, error: 1, usage: 2, auth: 4 } as const;

const AUTH_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'CHAT_ERR_UNAUTHENTICATED', 'CHAT_ERR_INVALID_CREDENTIALS', 'CHAT_ERR_TOKEN_INVALID', 'CHAT_ERR_TOKEN_EXPIRED',
  'CHAT_ERR_REFRESH_INVALID', 'CHAT_ERR_REFRESH_REUSED', 'CHAT_ERR_SESSION_REVOKED', 'CHAT_ERR_ACCOUNT_DISABLED',
]);

/** The only place that turns errors into exit codes. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof UsageError) return EXIT.usage;
  if (err instanceof ChatError && AUTH_CODES.has(err.code)) return EXIT.auth;
  return EXIT.error;
}
