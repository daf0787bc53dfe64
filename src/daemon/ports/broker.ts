import type { Server } from 'socket.io';
import type { ClientToServerEvents, InterServerEvents, Message, ServerToClientEvents } from '../../protocol/index.js';
import { isChange } from '../../protocol/changes.js';

/** What chatd keeps on each authenticated socket. */
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

/**
 * A change to a user's credentials. 'revoked' and 'disabled' must cut live sockets; 'changed'
 * (a promotion or demotion) only makes every node read the user again. `username` names the
 * user's sockets (usernames never change); `sessionIds` narrows to those sessions.
 */
export type CredentialNotice = Parameters<InterServerEvents['auth:notice']>[0];

/** What one node tells the others so that their caches and sockets follow a change. */
export type NodeNotice =
  | { kind: 'credentials'; notice: CredentialNotice }
  | { kind: 'friends'; pair: [string, string] }
  | { kind: 'group'; groupId: string };

/**
 * Cross-node fan-out, the Socket.IO side of a deployment (Centrifuge's Broker, for rooms):
 * - `bind` joins this node's Socket.IO server to the deployment's other nodes, so that an emit to a
 *   room reaches the sockets in that room on every node;
 * - `publish` carries a new record to user rooms on every node (the hot path: an implementation
 *   may batch the records of one event-loop turn), as `recordEvent` names it;
 * - `notify` tells the other nodes of a change; it resolves when they confirmed (a group change)
 *   or at once, and never rejects;
 * - `onNotice` hears the other nodes' notices.
 * The embedded deployment has one node: publish emits locally and there is nobody to notify.
 */
export interface Broker {
  bind(io: ChatServer): Promise<void>;
  publish(rooms: string[], except: string | null, message: Message): void;
  notify(notice: NodeNotice): Promise<void>;
  onNotice(fn: (notice: NodeNotice) => void): void;
  close(): Promise<void>;
}

/** The event a record goes to clients as: a message is new, a change changes one. */
export function recordEvent(record: Message): 'message:new' | 'message:change' {
  return isChange(record) ? 'message:change' : 'message:new';
}
