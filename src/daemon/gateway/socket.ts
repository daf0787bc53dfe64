import { Socket, type Socket as IoSocket } from 'socket.io';
import type { ChatError, ClientToServerEvents, InterServerEvents, ServerToClientEvents } from '../../protocol/index.js';
import type { SocketData } from '../services/fanout.js';

export type ChatSocket = IoSocket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

/** Ends a socket with a coded reason the client can show. */
export function endSocket(socket: ChatSocket, err: ChatError) {
  socket.emit('session:end', err.toBody());
  socket.disconnect(true);
}

/** The part of Socket.IO's socket that `eventsTo` replaces and uses (not in its typings). */
interface EventPath {
  onevent(packet: { data?: unknown[]; id?: number }): void;
  ack(id: number): (...args: unknown[]) => void;
}

// Checked once, at load: a Socket.IO that no longer has these fails chatd's start, not its events.
const proto = Socket.prototype as unknown as Partial<EventPath>;
if (typeof proto.onevent !== 'function' || typeof proto.ack !== 'function') throw new Error('socket.io no longer has Socket#onevent and Socket#ack: see eventsTo in src/daemon/gateway/socket.ts');

/**
 * Makes the way every event of a socket reaches `listener` (the event's name, its payload and,
 * when the client waits for an answer, its ack), shared by all sockets. Socket.IO's own path
 * calls the catch-all listeners (a copy of their list per event), then hands the event to the
 * socket's middlewares and, on the next tick, to its listeners by name. chatd has neither: every
 * event goes to one table. That second half cost each message a closure, a `nextTick` and an
 * `emit` that nobody heard; this path is the first half alone. The listener gets the event's
 * first argument as its payload, and the ack (if any) even when the client sent no payload or
 * more than one argument (Socket.IO would hand the ack on in place of a missing payload, and an
 * extra argument in place of the ack, leaving the client waiting). Reserved events (`disconnect`,
 * `disconnecting`, `error`) do not come through here and keep their listeners.
 */
export function eventsTo(listener: (this: ChatSocket, event: string, payload: unknown, ack: unknown) => void): (socket: ChatSocket) => void {
  function onevent(this: ChatSocket, packet: { data?: unknown[]; id?: number }) {
    const args = packet.data ?? [];
    // The ack is the ack wherever it falls: an event with no payload, or with more arguments
    // than one, is still answered (with what its payload is worth).
    listener.call(this, args[0] as string, args[1], packet.id != null ? (this as unknown as EventPath).ack(packet.id) : undefined);
  }
  return (socket) => { (socket as unknown as EventPath).onevent = onevent; };
}
