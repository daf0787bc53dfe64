import type { Server, Socket } from 'socket.io';
import type { Logger } from 'pino';
import type { z } from 'zod';
import client from 'prom-client';
import {
  ChatError, ERROR_CODES, receiptSchema, syncSchema, typingSchema,
  type Ack, type ClientToServerEvents, type ErrorCode, type InterServerEvents, type Message, type SendInput, type ServerToClientEvents,
} from '../protocol/index.js';
import type { Cache } from './engines/types.js';
import type { AuthService, CredentialNotice } from './services/auth.js';
import type { FriendService } from './services/friends.js';
import type { GroupService } from './services/groups.js';
import type { MessageService } from './services/messages.js';
import type { TypingService } from './services/typing.js';
import { originAllowed, parse, reachedHost, tokenInQuery } from './validation.js';
import type { IncomingMessage } from 'node:http';
import { classify } from './errors.js';
import { requestIdFrom } from './request-id.js';

export interface SocketData {
  userId: string;
  username: string;
  sessionId: string;
  expiresAt: number | null;
  /** The handshake's x-request-id (a plain token) or a fresh UUID: on every log line about this connection. */
  reqId: string;
  /** Events refused as over a rate limit in the current window, and when that window began. */
  refused: number;
  refusedSince: number;
}

export type ChatServer = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
type ChatSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

export interface GatewayDeps {
  log: Logger;
  cache: Cache;
  auth: AuthService;
  friends: FriendService;
  groups: GroupService;
  messages: MessageService;
  typing: TypingService;
  /** Validates a message:send payload (the schema, with its fast path). */
  parseSend: (value: unknown) => SendInput;
  metrics: client.Registry;
  isClosing: () => boolean;
  trustProxy: boolean;
  allowedOrigins: readonly string[];
  maxSocketsPerUser: number;
  maxPendingConnections: number;
  /** Other chatd nodes may exist (the Redis adapter is attached): caches are kept in step over it. */
  cluster: () => boolean;
}

/** A user's sockets, on every node: one room per user (usernames never change), besides each socket's own. */
const userRoom = (u: string) => `user:${u}`;
/** How often sockets with expired access tokens are looked for. */
const EXPIRY_SWEEP_MS = 1000;

/**
 * Once authenticated, nothing reads the upgrade request, its headers or the credential again,
 * but engine.io and Socket.IO keep them reachable until the connection closes. Dropping them
 * saves memory on every idle connection, and the token is not kept in memory for its life.
 */
function slimConnection(socket: ChatSocket) {
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

/** Ends a socket with a coded reason the client can show. */
function endSocket(socket: ChatSocket, err: ChatError) {
  socket.emit('session:end', err.toBody());
  socket.disconnect(true);
}

const HEARTBEAT_MS = 20_000;
/** Refusals (over a rate limit) a connection may collect per window before it is closed. */
const MAX_REFUSALS = 100;
const REFUSAL_WINDOW_MS = 10_000;

export function attachGateway(io: ChatServer, deps: GatewayDeps): { start(): void; stop(): void } {
  const { log, cache, auth, friends, groups, messages } = deps;
  const connections = new client.Gauge({ name: 'chatd_socket_connections', help: 'Connected sockets on this node', registers: [deps.metrics] });
  const sent = new client.Counter({ name: 'chatd_messages_sent_total', help: 'Messages acknowledged to senders', registers: [deps.metrics] });
  const rejected = new client.Counter({ name: 'chatd_socket_errors_total', help: 'Socket events answered with an error', labelNames: ['code'], registers: [deps.metrics] });
  /** Per event, from its arrival to its answer; `code` is "ok" or the error code it was answered with. */
  const eventDuration = new client.Histogram({ name: 'chatd_socket_event_duration_seconds', help: 'Socket event handling time, arrival to ack', labelNames: ['event', 'code'], buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5], registers: [deps.metrics] });

  /**
   * New messages reach this node's sockets at once, and the other nodes' in one publish per loop
   * turn: the Redis adapter publishes every emit to more than one room on the one channel all nodes
   * read, so one publish of the turn's messages costs each node what one message did.
   */
  type Batch = Parameters<InterServerEvents['message:batch']>[0];
  let outbound: Batch = [];
  const deliver = (rooms: string[], except: string | null, message: Message) => {
    // Every socket joins a room named by its id, so `except` skips the sending connection.
    const to = io.local.to(rooms);
    (except === null ? to : to.except(except)).emit('message:new', message);
  };
  const publish = () => {
    const batch = outbound;
    outbound = [];
    io.serverSideEmit('message:batch', batch);
  };
  io.on('message:batch', (batch) => {
    if (!Array.isArray(batch)) return log.warn('ignored a malformed message batch from another node');
    for (const entry of batch) {
      if (!Array.isArray(entry) || !Array.isArray(entry[0]) || !entry[0].every((r) => typeof r === 'string') || (entry[1] !== null && typeof entry[1] !== 'string') || typeof entry[2] !== 'object' || entry[2] === null) {
        log.warn('ignored a malformed entry of a message batch from another node');
        continue;
      }
      deliver(entry[0], entry[1], entry[2]);
    }
  });

  messages.setFanout({
    message(usernames, message, except) {
      const rooms = usernames.map(userRoom);
      if (!deps.cluster()) {
        const to = io.to(rooms);
        (except === undefined ? to : to.except(except)).emit('message:new', message);
        return;
      }
      deliver(rooms, except ?? null, message);
      if (outbound.push([rooms, except ?? null, message]) === 1) setImmediate(publish);
    },
    aiChunk(usernames, chunk) {
      io.to(usernames.map(userRoom)).emit('ai:chunk', chunk);
    },
  });

  deps.typing.setFanout((usernames, event) => io.to(usernames.map(userRoom)).emit('typing:update', event));
  friends.onChange((to, event) => io.to(userRoom(to)).emit('friend:update', event));

  /** Ends the sockets a credential notice names: on every node, or (`local`) on this one. */
  const cut = (e: CredentialNotice, local: boolean) => {
    if (e.reason === 'changed') return;
    const err = new ChatError(e.reason === 'disabled' ? 'CHAT_ERR_ACCOUNT_DISABLED' : 'CHAT_ERR_SESSION_REVOKED');
    const room = (local ? io.local : io).in(userRoom(e.username));
    if (e.all) {
      room.emit('session:end', err.toBody());
      room.disconnectSockets(true);
      return;
    }
    // Rare, so sessions get no room of their own: the user's sockets, filtered.
    const sessions = new Set(e.sessionIds ?? []);
    if (sessions.size === 0) return;
    room.fetchSockets().then((sockets) => {
      for (const s of sockets) {
        if (!sessions.has(s.data.sessionId)) continue;
        s.emit('session:end', err.toBody());
        s.disconnect(true);
      }
    }, (err2: unknown) => log.warn({ err: err2 }, 'could not reach sockets to revoke'));
  };
  auth.onRevocation((e) => {
    cut(e, false);
    if (deps.cluster()) io.serverSideEmit('auth:notice', e);
  });
  friends.onPairChanged((a, b) => {
    if (deps.cluster()) io.serverSideEmit('friends:changed', [a, b]);
  });
  groups.onEvent((usernames, event) => {
    if (usernames.length) io.to(usernames.map(userRoom)).emit('group:update', event);
  });
  // A group change is announced to every other node, and waited for (up to the adapter's request
  // timeout, 5 s), before its system message is appended: after that no node fans out to the
  // membership it replaced.
  groups.onChanged(async (groupId) => {
    if (!deps.cluster()) return;
    try {
      await io.serverSideEmitWithAck('groups:changed', groupId);
    } catch (err) {
      log.warn({ err: (err as Error).message, groupId }, 'not every node confirmed a group change in time; their caches expire it');
    }
  });
  // Another node's notices: its caches forgot already, this node's do now. A handshake here that
  // read its cache just before is cut too (the sender's cut may have gone by before it joined).
  io.on('auth:notice', (e) => {
    auth.forget(e);
    cut(e, true);
  });
  io.on('friends:changed', ([a, b]) => friends.forget(a, b));
  io.on('groups:changed', (groupId, ack?: (ok: boolean) => void) => {
    if (typeof groupId === 'string') groups.forget(groupId);
    if (typeof ack === 'function') ack(true);
  });

  // Connections that have not authenticated yet, per client address (this node): capped, and
  // closed by Socket.IO's connectTimeout (CHAT_HANDSHAKE_TIMEOUT_MS) if they never do.
  const pending = new Map<string, Set<string>>();
  const settle = (address: string, id: string) => {
    const set = pending.get(address);
    if (set?.delete(id) && set.size === 0) pending.delete(address);
  };
  const addressOf = (req: IncomingMessage) => {
    const xff = deps.trustProxy ? req.headers['x-forwarded-for'] : undefined;
    const first = typeof xff === 'string' ? xff.split(',')[0]!.trim() : '';
    return first || req.socket.remoteAddress || 'unknown';
  };
  io.engine.opts.allowRequest = (req, callback) => {
    // engine.io answers a refusal with HTTP 400/403 and this text: the coded error, for people.
    if (!originAllowed(deps.allowedOrigins, req.headers.origin, reachedHost(req.headers, deps.trustProxy))) return callback(refusal('CHAT_ERR_ORIGIN_NOT_ALLOWED'), false);
    if ((pending.get(addressOf(req))?.size ?? 0) >= deps.maxPendingConnections) return callback(refusal('CHAT_ERR_LIMIT_REACHED', 'too many connections from this address have not authenticated yet'), false);
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
        if ((await cache.presenceCount(p.user.username)) >= deps.maxSocketsPerUser) {
          throw new ChatError('CHAT_ERR_LIMIT_REACHED', `At most ${deps.maxSocketsPerUser} connections per user; close one first`);
        }
        socket.data = { userId: p.user.id, username: p.user.username, sessionId: p.sessionId, expiresAt: p.expiresAt, reqId: requestIdFrom(socket.handshake.headers['x-request-id']), refused: 0, refusedSince: 0 };
        settle(address, (socket.conn as unknown as { id: string }).id);
        next();
      },
    ).catch((err: unknown) => next(codedError(classify(err))));
  });

  /** Answers a failed event: coded error to the ack, counted, logged when internal. */
  const fail = (socket: ChatSocket, event: string, reply: ((r: Ack<never>) => void) | undefined, err: unknown, started?: number) => {
    const ce = classify(err);
    const { reqId, userId } = socket.data;
    if (ce.code === 'CHAT_ERR_INTERNAL') log.error({ err, reqId, userId, socketId: socket.id, event }, 'socket handler failed');
    rejected.inc({ code: ce.code });
    if (started !== undefined) {
      const ms = performance.now() - started;
      eventDuration.observe({ event, code: ce.code }, ms / 1000);
      if (log.isLevelEnabled('debug')) log.debug({ reqId, userId, event, code: ce.code, ms: Math.round(ms * 10) / 10 }, 'socket event');
    }
    reply?.({ ok: false, error: ce.toBody() });
    if (ce.code === 'CHAT_ERR_RATE_LIMITED') overLimit(socket);
  };

  /**
   * A connection that keeps sending past its limits is closed: every refusal still costs this
   * node a decode and an answer, so a flood ends with its sender, who may reconnect and slow down.
   */
  const overLimit = (socket: ChatSocket) => {
    if (socket.disconnected) return;
    const now = Date.now();
    const d = socket.data;
    if (now - d.refusedSince > REFUSAL_WINDOW_MS) {
      d.refusedSince = now;
      d.refused = 0;
    }
    if (++d.refused > MAX_REFUSALS) {
      rejected.inc({ code: 'closed_for_flooding' });
      log.info({ reqId: d.reqId, userId: d.userId, refused: d.refused }, 'closed a connection that kept sending past its rate limits');
      endSocket(socket, new ChatError('CHAT_ERR_RATE_LIMITED', `More than ${MAX_REFUSALS} events over the rate limits in ${REFUSAL_WINDOW_MS / 1000} s: this connection is closed; slow down, then reconnect`));
    }
  };

  /**
   * Event handlers are made once and shared by every socket (each is called with the socket as
   * `this`), so an idle connection carries no closures of ours. `check` is a schema, or a
   * function that validates and throws a coded error; `succeeded` counts the events answered ok.
   */
  const handler = <P, R>(event: keyof ClientToServerEvents, check: z.ZodType<P> | ((payload: unknown) => P), fn: (socket: ChatSocket, payload: P) => Promise<R>, succeeded?: client.Counter) =>
    function (this: ChatSocket, payload: unknown, ack: unknown) {
      const socket = this;
      const reply = typeof ack === 'function' ? (ack as (r: Ack<R>) => void) : undefined;
      const started = performance.now();
      try {
        if (deps.isClosing()) return fail(socket, event, reply, new ChatError('CHAT_ERR_SHUTTING_DOWN'));
        const { expiresAt } = socket.data;
        if (expiresAt !== null && Date.now() >= expiresAt) {
          fail(socket, event, reply, new ChatError('CHAT_ERR_TOKEN_EXPIRED'));
          return endSocket(socket, new ChatError('CHAT_ERR_TOKEN_EXPIRED'));
        }
        fn(socket, typeof check === 'function' ? check(payload) : parse(check, payload)).then((data) => {
          succeeded?.inc();
          const ms = performance.now() - started;
          eventDuration.observe({ event, code: 'ok' }, ms / 1000);
          // Per event at debug only: at info, a busy node would log every message it carries.
          if (log.isLevelEnabled('debug')) log.debug({ reqId: socket.data.reqId, userId: socket.data.userId, event, code: 'ok', ms: Math.round(ms * 10) / 10 }, 'socket event');
          reply?.({ ok: true, data });
        }, (err) => fail(socket, event, reply, err, started));
      } catch (err) {
        fail(socket, event, reply, err, started);
      }
    };

  /**
   * One catch-all listener per socket dispatches through this table instead of one listener per
   * event: a socket's listener table is a dictionary-mode object, and each entry costs memory on
   * every idle connection.
   */
  const table = new Map<string, (this: ChatSocket, payload: unknown, ack: unknown) => void>([
    ['message:send', handler('message:send', deps.parseSend, (socket, input) => messages.send(socket.data.username, input, socket.id), sent)],
    ['message:sync', handler('message:sync', syncSchema, async (socket, input) => messages.sync(socket.data.username, input.cursors, input.limit))],
    ['typing:update', handler('typing:update', typingSchema, (socket, input) => deps.typing.update(socket.data.username, input))],
    ['receipt:update', handler('receipt:update', receiptSchema, async (socket, input) => {
      const { event, moved, recipients } = await messages.receipt(socket.data.username, input.conversationId, input);
      // Relayed only when a marker moved: repeating one costs nobody else anything.
      if (moved) io.to(recipients.map(userRoom)).emit('receipt:update', event);
      return event;
    })],
  ]);
  function onEvent(this: ChatSocket, event: string, payload: unknown, ack: unknown) {
    table.get(event)?.call(this, payload, ack);
  }

  function onDisconnect(this: ChatSocket, reason: string) {
    const { username, reqId, userId } = this.data;
    connections.dec();
    if (log.isLevelEnabled('debug')) log.debug({ reqId, userId, socketId: this.id, reason }, 'socket disconnected');
    void cache.presenceRemove(username, this.id).then(async (wentOffline) => {
      if (wentOffline) await announce(username, false);
    }).catch((err) => log.warn({ err }, 'presence remove failed'));
  }

  io.on('connection', (socket) => {
    const { username, reqId, userId } = socket.data;
    slimConnection(socket);
    connections.inc();
    if (log.isLevelEnabled('debug')) log.debug({ reqId, userId, socketId: socket.id }, 'socket connected');
    void socket.join(userRoom(username));
    void cache.presenceAdd(username, socket.id).then(async (cameOnline) => {
      if (cameOnline) await announce(username, true);
    }).catch((err) => log.warn({ err }, 'presence add failed'));
    socket.on('disconnect', onDisconnect);
    socket.onAny(onEvent);
  });

  async function announce(username: string, online: boolean) {
    if (deps.isClosing()) return;
    const names = await friends.friendNames(username);
    if (names.length > 0) io.to(names.map(userRoom)).emit('presence:update', { username, online });
  }

  // Presence entries in a shared cache expire unless this node keeps re-asserting its sockets.
  let heartbeat: NodeJS.Timeout | undefined;
  // One sweep cuts every socket whose access token has expired (instead of a timer per socket).
  let expiry: NodeJS.Timeout | undefined;
  return {
    start() {
      expiry = setInterval(() => {
        const now = Date.now();
        for (const socket of io.of('/').sockets.values()) {
          const { expiresAt } = socket.data;
          if (expiresAt !== null && now >= expiresAt) endSocket(socket, new ChatError('CHAT_ERR_TOKEN_EXPIRED'));
        }
      }, EXPIRY_SWEEP_MS);
      expiry.unref();
      heartbeat = setInterval(() => {
        const live = [...io.of('/').sockets.values()].map((s) => ({ username: s.data.username, connectionId: s.id }));
        cache.presenceHeartbeat(live).catch((err) => log.warn({ err }, 'presence heartbeat failed'));
      }, HEARTBEAT_MS);
      heartbeat.unref();
    },
    stop() {
      clearInterval(heartbeat);
      clearInterval(expiry);
    },
  };
}

function refusal(code: ErrorCode, message: string = ERROR_CODES[code].message) {
  return `${code}: ${message}`;
}

function codedError(ce: ChatError): Error {
  const err = new Error(ce.message) as Error & { data: unknown };
  err.data = ce.toBody();
  return err;
}
