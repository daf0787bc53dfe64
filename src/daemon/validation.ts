import type { z } from 'zod';
import { ChatError } from '../protocol/index.js';

/**
 * What the two front doors, REST (http.ts) and Socket.IO (gateway.ts), check the same way:
 * payloads against the protocol's schemas, credentials kept out of URLs, and browser origins.
 */

/** Query parameters that would carry a credential in the URL; always refused. */
export const TOKEN_QUERY_KEYS = ['token', 'access_token', 'accessToken', 'auth', 'apiKey', 'api_key', 'refreshToken'];

/**
 * The shapes of chatd's credentials, found anywhere in a string: a JWT (its header is base64url
 * JSON, so it starts "eyJ"), an API token (`chat_<id>.<secret>`) and a refresh token
 * (`<UUIDv7>.<secret>`).
 */
const TOKEN_SHAPES = [
  /eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/,
  /chat_[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{20,}/,
  /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.[A-Za-z0-9_-]{20,}/i,
];
const tokenShaped = (s: string) => TOKEN_SHAPES.some((re) => re.test(s));

/**
 * True when a parsed query string carries a credential: under a key that names one, or in any key
 * or value (however deeply nested) shaped like one. URLs end up in logs, proxies and histories.
 */
export function tokenInQuery(query: unknown, depth = 0): boolean {
  if (query === null || query === undefined || depth > 4) return false;
  if (typeof query === 'string') return tokenShaped(query);
  if (Array.isArray(query)) return query.some((v) => tokenInQuery(v, depth + 1));
  if (typeof query !== 'object') return false;
  for (const [k, v] of Object.entries(query as Record<string, unknown>)) {
    if ((depth === 0 && TOKEN_QUERY_KEYS.includes(k)) || tokenShaped(k) || tokenInQuery(v, depth + 1)) return true;
  }
  return false;
}

/** Headers on every REST answer: JSON for programs, never rendered, framed, sniffed or cached. */
export const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'; sandbox",
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  'cross-origin-resource-policy': 'same-origin',
} as const;

/**
 * No Origin (CLIs, curl) is allowed; a listed Origin is; and so is a same-origin request, whose
 * Origin names the very host the client reached (`host`: the Host header, or X-Forwarded-Host
 * behind a trusted proxy): python-socketio and other non-browser clients send one. The scheme is
 * not compared, since a proxy that ends TLS changes it. Credentials are bearer tokens, never
 * cookies, so a same-origin page gains nothing it could not do without a browser.
 */
export function originAllowed(allowed: readonly string[], origin: string | string[] | undefined, host?: string): boolean {
  if (origin === undefined) return true;
  if (typeof origin !== 'string') return false;
  if (allowed.includes(origin)) return true;
  if (!host) return false;
  try {
    const u = new URL(origin);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.host.toLowerCase() === host.toLowerCase();
  } catch {
    return false;
  }
}

/** The host a request reached: the first X-Forwarded-Host behind a trusted proxy, else Host. */
export function reachedHost(headers: Record<string, string | string[] | undefined>, trustProxy: boolean): string | undefined {
  const fwd = trustProxy ? headers['x-forwarded-host'] : undefined;
  const first = typeof fwd === 'string' ? fwd.split(',')[0]!.trim() : undefined;
  const host = first || headers.host;
  return typeof host === 'string' ? host : undefined;
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
