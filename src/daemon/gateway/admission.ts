import type { IncomingMessage } from 'node:http';
import { ChatError, ERROR_CODES, type ErrorCode } from '../../protocol/index.js';
import { classify } from '../errors.js';
import { requestIdFrom } from '../request-id.js';
import type { AuthService } from '../services/auth.js';
import type { ChatServer } from '../services/fanout.js';
import type { PresenceService } from '../services/presence.js';
import { originAllowed, reachedHost, tokenInQuery } from '../validation.js';
import type { ChatSocket } from './socket.js';

export interface AdmissionOptions {
  trustProxy: boolean;
  allowedOrigins: readonly string[];
  maxPendingConnections: number;
}

/**
 * Who may connect: an allowed origin, a bounded number of unauthenticated connections per client
 * address (this node), a valid credential that is not in the URL, and room for one more
 * connection of that user.
 */
export function admit(io: ChatServer, auth: AuthService, presence: PresenceService, opts: AdmissionOptions) {
  // Connections that have not authenticated yet, per client address: capped, and closed by
  // Socket.IO's connectTimeout (CHAT_HANDSHAKE_TIMEOUT_MS) if they never do.
  const pending = new Map<string, Set<string>>();
  const settle = (address: string, id: string) => {
    const set = pending.get(address);
    if (set?.delete(id) && set.size === 0) pending.delete(address);
  };
  const addressOf = (req: IncomingMessage) => {
    const xff = opts.trustProxy ? req.headers['x-forwarded-for'] : undefined;
    const first = typeof xff === 'string' ? xff.split(',')[0]!.trim() : '';
    return first || req.socket.remoteAddress || 'unknown';
  };
  io.engine.opts.allowRequest = (req, callback) => {
    // engine.io answers a refusal with HTTP 400/403 and this text: the coded error, for people.
    if (!originAllowed(opts.allowedOrigins, req.headers.origin, reachedHost(req.headers, opts.trustProxy))) return callback(refusal('CHAT_ERR_ORIGIN_NOT_ALLOWED'), false);
    if ((pending.get(addressOf(req))?.size ?? 0) >= opts.maxPendingConnections) return callback(refusal('CHAT_ERR_LIMIT_REACHED', 'too many connections from this address have not authenticated yet'), false);
    callback(null, true);
  };
  io.engine.on('connection', (raw: { id: string; request: IncomingMessage; once(e: 'close', f: () => void): void }) => {
    const address = addressOf(raw.request);
    let set = pending.get(address);
    if (!set) pending.set(address, (set = new Set()));
    set.add(raw.id);
    raw.once('close', () => settle(address, raw.id));
  });

  io.use((socket, next) => {
    if (tokenInQuery(socket.handshake.query)) return next(codedError(new ChatError('CHAT_ERR_TOKEN_IN_QUERY')));
    const raw = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
    const address = addressOf(socket.request);
    auth.authenticate(typeof raw === 'string' ? raw : undefined).then(
      async (p) => {
        await presence.admit(p.user.username);
        socket.data = { userId: p.user.id, username: p.user.username, sessionId: p.sessionId, expiresAt: p.expiresAt, reqId: requestIdFrom(socket.handshake.headers['x-request-id']), refused: 0, refusedSince: 0 };
        settle(address, (socket.conn as unknown as { id: string }).id);
        next();
      },
    ).catch((err: unknown) => next(codedError(classify(err))));
  });
}

/**
 * Once authenticated, nothing reads the upgrade request, its headers or the credential again,
 * but engine.io and Socket.IO keep them reachable until the connection closes. Dropping them
 * saves memory on every idle connection, and the token is not kept in memory for its life.
 */
export function slimConnection(socket: ChatSocket) {
  const conn = socket.conn as unknown as { request: { rawHeaders?: unknown; rawTrailers?: unknown; headers?: unknown; _query?: unknown; url?: string } | null };
  if (conn.request) {
    // engine.io's handshake response object keeps the request alive until the TCP socket closes.
    conn.request.rawHeaders = [];
    conn.request.rawTrailers = [];
    conn.request.headers = {};
    conn.request._query = {};
    conn.request.url = '';
  }
  conn.request = null;
  // The handshake (time, address, url, query, headers, credential) is read only by the auth
  // middleware: every connected socket shares one empty record instead.
  (socket as unknown as { handshake: unknown }).handshake = IDLE_HANDSHAKE;
}

const IDLE_HANDSHAKE = Object.freeze({ headers: Object.freeze({}), time: '', address: '', xdomain: false, secure: false, issued: 0, url: '', query: Object.freeze({}), auth: Object.freeze({}) });

function refusal(code: ErrorCode, message: string = ERROR_CODES[code].message) {
  return `${code}: ${message}`;
}

function codedError(ce: ChatError): Error {
  const err = new Error(ce.message) as Error & { data: unknown };
  err.data = ce.toBody();
  return err;
}
