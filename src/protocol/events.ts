import type { Ack, AiChunkEvent, FriendEvent, GroupEvent, Message, PresenceEvent, ReceiptEvent, SyncResult, TypingEvent } from './types.js';
import type { ErrorBody } from './errors.js';
import type { DeleteInput, EditInput, ReactInput, ReceiptInput, SendInput, SyncInput, TypingInput } from './schemas.js';

/** Events a client emits. Every event takes a payload and an ack callback. */
export interface ClientToServerEvents {
  'message:send': (payload: SendInput, ack: (res: Ack<Message>) => void) => void;
  'message:sync': (payload: SyncInput, ack: (res: Ack<SyncResult>) => void) => void;
  /** Changes to an earlier message; each is acked with its change record once durable. */
  'message:edit': (payload: EditInput, ack: (res: Ack<Message>) => void) => void;
  'message:delete': (payload: DeleteInput, ack: (res: Ack<Message>) => void) => void;
  'message:react': (payload: ReactInput, ack: (res: Ack<Message>) => void) => void;
  /** Fire and forget; clients throttle it (TYPING_THROTTLE_MS). */
  'typing:update': (payload: TypingInput, ack?: (res: Ack<null>) => void) => void;
  'receipt:update': (payload: ReceiptInput, ack: (res: Ack<ReceiptEvent>) => void) => void;
}

/** Events the server emits. */
export interface ServerToClientEvents {
  /** To every socket of both users except the sending one, which has the message in its `message:send` ack. */
  'message:new': (message: Message) => void;
  /** A change record (edit, delete, react), to every socket of every member except the one that made it (it has the record in its ack). Apply it with applyRecord (changes.ts). */
  'message:change': (change: Message) => void;
  'presence:update': (event: PresenceEvent) => void;
  'typing:update': (event: TypingEvent) => void;
  'receipt:update': (event: ReceiptEvent) => void;
  'ai:chunk': (event: AiChunkEvent) => void;
  /** A friend request, acceptance or removal, to every socket of both users. */
  'friend:update': (event: FriendEvent) => void;
  /** A group was created, changed or deleted, or its members changed: to every member's sockets and to those removed. */
  'group:update': (event: GroupEvent) => void;
  /** Sent just before the server disconnects a socket it will no longer serve. */
  'session:end': (error: ErrorBody) => void;
}

/** Between chatd nodes (over the Socket.IO Redis adapter), so each node's caches forget at once. */
export interface InterServerEvents {
  ping: () => void;
  /** A user's credentials changed: revoked sessions or tokens, disabled, promoted or demoted. */
  'auth:notice': (notice: { userId: string; username: string; sessionIds?: string[]; all?: boolean; reason: 'revoked' | 'disabled' | 'changed' }) => void;
  /** A friendship between two users changed (request, acceptance or removal). */
  'friends:changed': (pair: [string, string]) => void;
  /** A group's record or membership changed: each node forgets what it cached of it. */
  'groups:changed': (groupId: string, ack: (ok: boolean) => void) => void;
  /**
   * The messages one node fanned out in one loop turn, for the other nodes' sockets: each entry is
   * the user rooms it goes to, the socket it skips (the sending connection) and the message.
   */
  'message:batch': (batch: [rooms: string[], except: string | null, message: Message][]) => void;
}

export const CLIENT_EVENTS = ['message:send', 'message:sync', 'message:edit', 'message:delete', 'message:react', 'typing:update', 'receipt:update'] as const satisfies readonly (keyof ClientToServerEvents)[];

/** Clients send typing:update at most this often while typing; the indicator expires after TYPING_TTL_MS without one. */
export const TYPING_THROTTLE_MS = 2000;
export const TYPING_TTL_MS = 5000;
