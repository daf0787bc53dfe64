import client from 'prom-client';
import { ChatError } from '../../protocol/index.js';
import type { AuthService } from '../services/auth.js';
import { userRoom, type ChatServer } from '../services/fanout.js';
import type { PresenceService } from '../services/presence.js';
import { admit, slimConnection, type AdmissionOptions } from './admission.js';
import { eventTable, socketErrors, type EventDeps } from './events.js';
import { endSocket, eventsTo, type ChatSocket } from './socket.js';

export type { ChatServer };

export interface GatewayDeps extends AdmissionOptions, EventDeps {
  auth: AuthService;
  presence: PresenceService;
}

/** How often sockets with expired access tokens are looked for. */
const EXPIRY_SWEEP_MS = 1000;
const HEARTBEAT_MS = 20_000;

/** The Socket.IO front door: admission, then each connection's events handed to the services. */
export function attachGateway(io: ChatServer, deps: GatewayDeps): { start(): void; stop(): void } {
  const { log, presence } = deps;
  const connections = new client.Gauge({ name: 'chatd_socket_connections', help: 'Connected sockets on this node', registers: [deps.metrics] });
  admit(io, deps.auth, presence, deps);
  const table = eventTable(deps);
  const rejected = socketErrors(deps.metrics);

  function onEvent(this: ChatSocket, event: string, payload: unknown, ack: unknown) {
    const handle = table.get(event);
    if (handle) return handle.call(this, payload, ack);
    // An event that is none of ours: answered when the client waits for an answer (instead of
    // leaving it to its timeout), counted under one label whatever its name, never echoed.
    rejected.inc({ event: 'unknown', code: 'CHAT_ERR_UNKNOWN_EVENT' });
    if (typeof ack === 'function') ack({ ok: false, error: new ChatError('CHAT_ERR_UNKNOWN_EVENT').toBody() });
  }
  const hearEvents = eventsTo(onEvent);

  function onDisconnect(this: ChatSocket, reason: string) {
    const { username, reqId, userId } = this.data;
    connections.dec();
    if (log.isLevelEnabled('debug')) log.debug({ reqId, userId, socketId: this.id, reason }, 'socket disconnected');
    presence.disconnected(username, this.id);
  }

  io.on('connection', (socket) => {
    const { username, reqId, userId } = socket.data;
    slimConnection(socket);
    connections.inc();
    if (log.isLevelEnabled('debug')) log.debug({ reqId, userId, socketId: socket.id }, 'socket connected');
    void socket.join(userRoom(username));
    presence.connected(username, socket.id);
    socket.on('disconnect', onDisconnect);
    hearEvents(socket);
  });

  // Presence entries in a shared store expire unless this node keeps re-asserting its sockets.
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
        presence.heartbeat([...io.of('/').sockets.values()].map((s) => ({ username: s.data.username, connectionId: s.id })));
      }, HEARTBEAT_MS);
      heartbeat.unref();
    },
    stop() {
      clearInterval(heartbeat);
      clearInterval(expiry);
    },
  };
}
