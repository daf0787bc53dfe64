import type { Server, Socket } from 'socket.io';
import type { Logger } from 'pino';
import type { z } from 'zod';
import client from 'prom-client';
import {
  ChatError, dmConversationId, receiptSchema, syncSchema, typingSchema,
  type Ack, type ClientToServerEvents, type InterServerEvents, type SendInput, type ServerToClientEvents,
} from '../protocol/index.js';
import type { Cache } from './engines/types.js';
import type { AuthService } from './services/auth.js';
import type { FriendService } from './services/friends.js';
import type { MessageService } from './services/messages.js';
import { TOKEN_QUERY_KEYS, parse } from './http.js';
import { classify } from './errors.js';

export interface SocketData {
  userId: string;
  username: string;
  sessionId: string;
  expiresAt: number | null;
}

export type ChatServer = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
type ChatSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

export interface GatewayDeps {
  log: Logger;
  cache: Cache;
  auth: AuthService;
  friends: FriendService;
  messages: MessageService;
  sendSchema: z.ZodType<SendInput>;
  metrics: client.Registry;
  isClosing: () => boolean;
}

const userRoom = (u: string) => `user:${u}`;
const uidRoom = (id: string) => `uid:${id}`;
const sessionRoom = (s: string) => `session:${s}`;
/** setTimeout's ceiling; longer expiries are re-armed. */
const MAX_TIMER = 2 ** 31 - 1;

/** Ends a socket with a coded reason the client can show. */
function endSocket(socket: ChatSocket, err: ChatError) {
  socket.emit('session:end', err.toBody());
  socket.disconnect(true);
}

const HEARTBEAT_MS = 20_000;

export function attachGateway(io: ChatServer, deps: GatewayDeps): { start(): void; stop(): void } {
  const { log, cache, auth, friends, messages } = deps;
  const connections = new client.Gauge({ name: 'chatd_socket_connections', help: 'Connected sockets on this node', registers: [deps.metrics] });
  const sent = new client.Counter({ name: 'chatd_messages_sent_total', help: 'Messages acknowledged to senders', registers: [deps.metrics] });
  const rejected = new client.Counter({ name: 'chatd_socket_errors_total', help: 'Socket events answered with an error', labelNames: ['code'], registers: [deps.metrics] });

  messages.setFanout({
    message(usernames, message) {
      io.to(usernames.map(userRoom)).emit('message:new', message);
    },
    aiChunk(usernames, chunk) {
      io.to(usernames.map(userRoom)).emit('ai:chunk', chunk);
    },
  });

  auth.onRevocation((e) => {
    const err = new ChatError(e.reason === 'disabled' ? 'CHAT_ERR_ACCOUNT_DISABLED' : 'CHAT_ERR_SESSION_REVOKED');
    const rooms = e.all ? [uidRoom(e.userId)] : (e.sessionIds ?? []).map(sessionRoom);
    if (rooms.length === 0) return;
    io.in(rooms).emit('session:end', err.toBody());
    io.in(rooms).disconnectSockets(true);
  });

  io.use((socket, next) => {
    const q = socket.handshake.query as Record<string, unknown>;
    if (TOKEN_QUERY_KEYS.some((k) => k in q)) return next(codedError(new ChatError('CHAT_ERR_TOKEN_IN_QUERY')));
    const raw = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
    auth.authenticate(typeof raw === 'string' ? raw : undefined).then(
      (p) => {
        socket.data = { userId: p.user.id, username: p.user.username, sessionId: p.sessionId, expiresAt: p.expiresAt };
        next();
      },
      (err) => next(codedError(classify(err))),
    );
  });

  io.on('connection', (socket) => {
    const { username, userId, sessionId, expiresAt } = socket.data;
    connections.inc();
    void socket.join([userRoom(username), uidRoom(userId), sessionRoom(sessionId)]);

    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      if (expiresAt === null) return;
      const left = expiresAt - Date.now();
      if (left <= 0) return endSocket(socket, new ChatError('CHAT_ERR_TOKEN_EXPIRED'));
      timer = setTimeout(arm, Math.min(left, MAX_TIMER));
    };
    arm();

    void cache.presenceAdd(username, socket.id).then(async (cameOnline) => {
      if (cameOnline) await announce(username, true);
    }).catch((err) => log.warn({ err }, 'presence add failed'));

    socket.on('disconnect', () => {
      connections.dec();
      clearTimeout(timer);
      void cache.presenceRemove(username, socket.id).then(async (wentOffline) => {
        if (wentOffline) await announce(username, false);
      }).catch((err) => log.warn({ err }, 'presence remove failed'));
    });

    /** Wraps a handler: expiry check, schema parse, coded error acks, never a throw out of the handler. */
    const handle = <P, R>(event: keyof ClientToServerEvents, schema: z.ZodType<P>, fn: (payload: P) => Promise<R>) => {
      socket.on(event, ((payload: unknown, ack: unknown) => {
        const reply = typeof ack === 'function' ? (ack as (r: Ack<R>) => void) : () => {};
        const fail = (err: unknown) => {
          const ce = classify(err);
          if (ce.code === 'CHAT_ERR_INTERNAL') log.error({ err, event }, 'socket handler failed');
          rejected.inc({ code: ce.code });
          reply({ ok: false, error: ce.toBody() });
        };
        try {
          if (deps.isClosing()) return fail(new ChatError('CHAT_ERR_SHUTTING_DOWN'));
          if (expiresAt !== null && Date.now() >= expiresAt) {
            fail(new ChatError('CHAT_ERR_TOKEN_EXPIRED'));
            return endSocket(socket, new ChatError('CHAT_ERR_TOKEN_EXPIRED'));
          }
          const input = parse(schema, payload);
          fn(input).then((data) => reply({ ok: true, data }), fail);
        } catch (err) {
          fail(err);
        }
      }) as never);
    };

    handle('message:send', deps.sendSchema, async (input) => {
      const m = await messages.send(username, input);
      sent.inc();
      return m;
    });
    handle('message:sync', syncSchema, async (input) => messages.sync(username, input.cursors, input.limit));
    handle('typing:update', typingSchema, async (input) => {
      // Only between friends; ephemeral, so nothing is stored.
      if (input.to !== username && (await friends.areFriends(username, input.to))) {
        io.to(userRoom(input.to)).emit('typing:update', { conversationId: dmConversationId(username, input.to), username, typing: input.typing });
      }
      return null;
    });
    handle('receipt:update', receiptSchema, async (input) => {
      const event = await messages.receipt(username, input.conversationId, input);
      const members = input.conversationId.startsWith('dm:') ? input.conversationId.slice(3).split(':') : [];
      io.to(members.map(userRoom)).emit('receipt:update', event);
      return event;
    });
  });

  async function announce(username: string, online: boolean) {
    if (deps.isClosing()) return;
    const names = await friends.friendNames(username);
    if (names.length > 0) io.to(names.map(userRoom)).emit('presence:update', { username, online });
  }

  // Presence entries in a shared cache expire unless this node keeps re-asserting its sockets.
  let heartbeat: NodeJS.Timeout | undefined;
  return {
    start() {
      heartbeat = setInterval(() => {
        const live = [...io.of('/').sockets.values()].map((s) => ({ username: s.data.username, connectionId: s.id }));
        cache.presenceHeartbeat(live).catch((err) => log.warn({ err }, 'presence heartbeat failed'));
      }, HEARTBEAT_MS);
      heartbeat.unref();
    },
    stop() {
      clearInterval(heartbeat);
    },
  };
}

function codedError(ce: ChatError): Error {
  const err = new Error(ce.message) as Error & { data: unknown };
  err.data = ce.toBody();
  return err;
}
