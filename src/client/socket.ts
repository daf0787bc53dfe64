import { io, type Socket } from 'socket.io-client';
import { EventEmitter } from 'node:events';
import {
  ChatError, fromErrorBody, isErrorCode, isGroupConversation,
  type Ack, type ClientToServerEvents, type ErrorBody, type Message, type SendInput, type ServerToClientEvents, type SyncResult,
} from '../protocol/index.js';
import type { ApiClient, Credentials } from './api.js';

export type ChatSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** Errors after which reconnecting cannot help. */
const FATAL = new Set(['CHAT_ERR_SESSION_REVOKED', 'CHAT_ERR_ACCOUNT_DISABLED', 'CHAT_ERR_TOKEN_INVALID', 'CHAT_ERR_UNAUTHENTICATED', 'CHAT_ERR_TOKEN_IN_QUERY']);

export interface Connection extends EventEmitter {
  socket: ChatSocket;
  close(): void;
}

/**
 * Opens an authenticated socket that survives token expiry: the token goes in
 * `auth.token` (never the URL), is fetched fresh on every (re)connect, and an
 * expiry-caused disconnect triggers a refresh and a reconnect. Emits 'fatal'
 * with a ChatError when the session cannot continue.
 */
export interface ConnectOptions {
  reconnectionDelayMax?: number;
}

export function connect(server: string, creds: Credentials, opts: ConnectOptions = {}): Connection {
  const emitter = new EventEmitter() as Connection;
  let forceRefresh = false;
  const socket: ChatSocket = io(server, {
    transports: ['websocket'],
    reconnectionDelay: 200,
    reconnectionDelayMax: opts.reconnectionDelayMax ?? 5000,
    auth: (cb) => {
      const get = forceRefresh ? creds.refresh() : creds.token();
      forceRefresh = false;
      get.then((token) => cb({ token }), (err) => {
        emitter.emit('fatal', err instanceof ChatError ? err : new ChatError('CHAT_ERR_UNAUTHENTICATED', (err as Error).message));
        cb({ token: '' });
      });
    },
  });
  emitter.socket = socket;
  let closed = false;
  emitter.close = () => {
    closed = true;
    socket.disconnect();
  };
  socket.on('connect_error', (err) => {
    const data = (err as Error & { data?: ErrorBody }).data;
    if (!data || !isErrorCode(data.code)) return; // transport error: socket.io retries by itself
    const ce = fromErrorBody(data);
    if (ce.code === 'CHAT_ERR_TOKEN_EXPIRED') {
      forceRefresh = true;
      setTimeout(() => { if (!closed) socket.connect(); }, 50);
    } else if (FATAL.has(ce.code)) emitter.emit('fatal', ce);
    else setTimeout(() => { if (!closed) socket.connect(); }, 1000);
  });
  // A connection chatd closed for sending past its limits comes back after a pause, not at once.
  let reconnectDelay = 50;
  socket.on('session:end', (body) => {
    const ce = fromErrorBody(body);
    if (FATAL.has(ce.code)) {
      closed = true;
      emitter.emit('fatal', ce);
    } else {
      forceRefresh = ce.code === 'CHAT_ERR_TOKEN_EXPIRED';
      reconnectDelay = ce.code === 'CHAT_ERR_RATE_LIMITED' ? 2000 : 50;
    }
  });
  socket.on('disconnect', (reason) => {
    // A server-side disconnect does not reconnect by itself.
    if (reason === 'io server disconnect' && !closed) setTimeout(() => { if (!closed) socket.connect(); }, reconnectDelay);
    reconnectDelay = 50;
  });
  return emitter;
}

/** Emits with an ack and a timeout; rejects with the ChatError of a failed ack. */
export async function call<E extends keyof ClientToServerEvents, T>(socket: ChatSocket, event: E, payload: Parameters<ClientToServerEvents[E]>[0], timeoutMs = 10_000): Promise<T> {
  const res = (await (socket.timeout(timeoutMs) as unknown as { emitWithAck: (e: string, p: unknown) => Promise<Ack<T>> }).emitWithAck(event, payload));
  if (!res.ok) throw fromErrorBody(res.error);
  return res.data;
}

/**
 * Sends a message and waits for the durable ack, retrying across reconnects with
 * the same clientMsgId, so a retry can never create a second message.
 */
export async function sendDurable(conn: Connection, input: SendInput & { clientMsgId: string }, deadlineMs = 30_000): Promise<Message> {
  const deadline = Date.now() + deadlineMs;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    if (!conn.socket.connected) await waitConnected(conn, deadline - Date.now());
    try {
      return await call<'message:send', Message>(conn.socket, 'message:send', input, Math.max(1000, Math.min(10_000, deadline - Date.now())));
    } catch (err) {
      lastErr = err;
      // Coded errors are answers; only transport failures (timeouts, disconnects) are retried.
      if (err instanceof ChatError && err.code !== 'CHAT_ERR_SHUTTING_DOWN' && err.code !== 'CHAT_ERR_UNAVAILABLE') throw err;
    }
  }
  throw lastErr instanceof ChatError ? lastErr : new ChatError('CHAT_ERR_UNAVAILABLE', 'No acknowledgement from chatd before the deadline');
}

export function waitConnected(conn: Connection, timeoutMs: number): Promise<void> {
  if (conn.socket.connected) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => { cleanup(); reject(new ChatError('CHAT_ERR_UNAVAILABLE', 'Cannot connect to chatd')); }, Math.max(0, timeoutMs));
    const onConnect = () => { cleanup(); resolve(); };
    const onFatal = (e: ChatError) => { cleanup(); reject(e); };
    const cleanup = () => { clearTimeout(t); conn.socket.off('connect', onConnect); conn.off('fatal', onFatal); };
    conn.socket.on('connect', onConnect);
    conn.once('fatal', onFatal);
  });
}

/**
 * A gap-free, duplicate-free stream of incoming messages across reconnects.
 * It snapshots each conversation's last seq, then on every connect syncs from
 * its cursors before releasing live messages; live messages at or below a
 * cursor are dropped, and one past a gap triggers another sync.
 */
export class MessageStream extends EventEmitter {
  private readonly cursors: Record<string, number> = {};
  private syncing = false;
  private resync = false;
  private buffer: Message[] = [];

  constructor(private readonly api: ApiClient, private readonly conn: Connection) {
    super();
  }

  /**
   * Starts from now: messages already stored are not emitted. `known` is the caller's own view
   * of the conversations, when it has one: the stream then starts exactly where that view ends
   * (a second snapshot taken later would skip what arrived between the two).
   */
  async start(known?: { conversationId: string; lastSeq: number }[]) {
    for (const c of known ?? (await this.api.conversations())) this.cursors[c.conversationId] = c.lastSeq;
    // Messages and changes share each conversation's seq: one ordered stream of records.
    this.conn.socket.on('message:new', (m) => this.onLive(m));
    this.conn.socket.on('message:change', (m) => this.onLive(m));
    this.conn.socket.on('connect', () => void this.sync());
    if (this.conn.socket.connected) await this.sync();
  }

  cursor(conversationId: string) {
    return this.cursors[conversationId] ?? 0;
  }

  /**
   * A message this connection sent, from its ack: chatd does not send it back to the socket it
   * came from, so whoever sends on the stream's connection hands the acked message in here.
   */
  accept(m: Message) {
    this.onLive(m);
  }

  private onLive(m: Message) {
    if (this.syncing) {
      this.buffer.push(m);
      return;
    }
    // A group that shows up live was joined (or created) since the stream began: it starts here,
    // and what was said before joining is history, not a gap to fill.
    if (!(m.conversationId in this.cursors) && isGroupConversation(m.conversationId)) this.cursors[m.conversationId] = m.seq - 1;
    const cur = this.cursor(m.conversationId);
    if (m.seq <= cur) return;
    if (m.seq === cur + 1) {
      this.cursors[m.conversationId] = m.seq;
      this.emit('message', m);
      return;
    }
    this.buffer.push(m);
    void this.sync();
  }

  private async sync() {
    if (this.syncing) {
      this.resync = true;
      return;
    }
    this.syncing = true;
    try {
      do {
        this.resync = false;
        let more = true;
        while (more) {
          let res: SyncResult;
          try {
            res = await call<'message:sync', SyncResult>(this.conn.socket, 'message:sync', { cursors: { ...this.cursors } });
          } catch (err) {
            // A long catch-up can outrun the sync rate limit: wait as told, then go on from the cursors.
            if (!(err instanceof ChatError) || err.code !== 'CHAT_ERR_RATE_LIMITED' || !this.conn.socket.connected) throw err;
            await new Promise((r) => setTimeout(r, Math.min(err.retryAfterMs ?? 1000, 10_000)));
            continue;
          }
          for (const m of res.messages) {
            if (m.seq <= this.cursor(m.conversationId)) continue;
            this.cursors[m.conversationId] = m.seq;
            this.emit('message', m);
          }
          more = res.more;
        }
      } while (this.resync);
    } catch (err) {
      this.emit('warn', err);
    } finally {
      this.syncing = false;
    }
    const pending = this.buffer.sort((a, b) => a.seq - b.seq);
    this.buffer = [];
    for (const m of pending) {
      const cur = this.cursor(m.conversationId);
      if (m.seq <= cur) continue;
      if (m.seq === cur + 1) {
        this.cursors[m.conversationId] = m.seq;
        this.emit('message', m);
      } else {
        // Still a gap (the sync failed or raced): ask again once connected.
        this.buffer.push(m);
      }
    }
    if (this.buffer.length > 0 && this.conn.socket.connected) setTimeout(() => void this.sync(), 200);
  }
}
