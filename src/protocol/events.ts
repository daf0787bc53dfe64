import type { Ack, Message, PresenceEvent, SyncResult } from './types.js';
import type { ErrorBody } from './errors.js';
import type { SendInput, SyncInput } from './schemas.js';

/** Events a client emits. Every event takes a payload and an ack callback. */
export interface ClientToServerEvents {
  'message:send': (payload: SendInput, ack: (res: Ack<Message>) => void) => void;
  'message:sync': (payload: SyncInput, ack: (res: Ack<SyncResult>) => void) => void;
}

/** Events the server emits. */
export interface ServerToClientEvents {
  'message:new': (message: Message) => void;
  'presence:update': (event: PresenceEvent) => void;
  /** Sent just before the server disconnects a socket it will no longer serve. */
  'session:end': (error: ErrorBody) => void;
}

export interface InterServerEvents {
  ping: () => void;
}

export const CLIENT_EVENTS = ['message:send', 'message:sync'] as const satisfies readonly (keyof ClientToServerEvents)[];
