import type { Socket } from 'socket.io';
import type { ChatError, ClientToServerEvents, InterServerEvents, ServerToClientEvents } from '../../protocol/index.js';
import type { SocketData } from '../services/fanout.js';

export type ChatSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

/** Ends a socket with a coded reason the client can show. */
export function endSocket(socket: ChatSocket, err: ChatError) {
  socket.emit('session:end', err.toBody());
  socket.disconnect(true);
}
