import type { z } from 'zod';
import { ChatError } from '../protocol/index.js';

/**
 * What the two front doors, REST (http.ts) and Socket.IO (gateway.ts), check the same way:
 * payloads against the protocol's schemas, credentials kept out of URLs, and browser origins.
 */

/** Query parameters that would carry a credential in the URL; always refused. */
export const TOKEN_QUERY_KEYS = ['token', 'access_token', 'accessToken', 'auth', 'apiKey', 'api_key', 'refreshToken'];

/** Headers on every REST answer: JSON for programs, never rendered, framed, sniffed or cached. */
export const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  'cross-origin-resource-policy': 'same-origin',
} as const;

/** No Origin (CLIs, bots, curl) is allowed; a browser's Origin only when listed. */
export function originAllowed(allowed: readonly string[], origin: string | string[] | undefined): boolean {
  if (origin === undefined) return true;
  return typeof origin === 'string' && allowed.includes(origin);
}

export function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const r = schema.safeParse(value ?? {});
  if (!r.success) {
    const first = r.error.issues[0];
    const where = first?.path.length ? `${first.path.join('.')}: ` : '';
    throw new ChatError('CHAT_ERR_VALIDATION', `${where}${first?.message ?? 'invalid input'}`, { details: r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) });
  }
  return r.data;
}
