import { PacketType, type Packet } from 'socket.io-parser';
import type { Message } from '../../protocol/index.js';
import type { ChatServer } from '../ports/index.js';
import { encodedFrame } from '../ws-engine.js';

/** The parts of Socket.IO's adapter and sockets a local delivery uses (what the adapter's own broadcast calls). */
interface Internals {
  adapter: { rooms: Map<string, Set<string>>; encoder: { encode(packet: Packet): unknown[] } };
  sockets: Map<string, { client: { writeToEngine(encoded: unknown[], opts: PacketOptions): void }; notifyOutgoingListeners?(packet: Packet): void }>;
}
interface PacketOptions { preEncoded: boolean; wsPreEncodedFrame?: unknown }

/**
 * Emits an event to this node's sockets in `rooms`, except the socket `except` (a socket id), as
 * Socket.IO's local broadcast does it (the packet encoded once, each socket's client writes it,
 * outgoing listeners told), without what the broadcast builds around it for every message: two
 * BroadcastOperators (`to`, `except`), their flags, a Set of the excepted sockets and one of the
 * sockets reached. A message's delivery is one of the hottest paths of the event loop.
 *
 * The broadcast also encodes the WebSocket frame up front, which pays only from the second
 * socket on: most messages (a direct message to a recipient on one device) reach one. So the
 * frame is encoded when a second socket is reached, and that socket and the rest write it.
 *
 * A room set that holds a socket twice (two rooms of one socket) still reaches it once. The
 * brokers check those internals once, when they bind (`assertLocalDelivery`).
 */
export function emitLocally(io: ChatServer, rooms: string[], except: string | null, event: 'message:new' | 'message:change', arg: Message): void {
  const nsp = io.of('/') as unknown as Internals;
  let packet: Packet | undefined;
  let encoded: unknown[] | undefined;
  let opts: PacketOptions | undefined;
  let written = 0;
  const reached = rooms.length > 1 ? new Set<string>() : null;
  for (const room of rooms) {
    const ids = nsp.adapter.rooms.get(room);
    if (ids === undefined) continue;
    for (const id of ids) {
      if (id === except || reached?.has(id)) continue;
      const socket = nsp.sockets.get(id);
      if (socket === undefined) continue;
      if (packet === undefined) {
        packet = { type: PacketType.EVENT, data: [event, arg], nsp: '/' };
        opts = { preEncoded: true };
        encoded = nsp.adapter.encoder.encode(packet);
      } else if (written === 1 && encoded!.length === 1 && typeof encoded![0] === 'string') {
        // "4": the Engine.IO message packet the frame carries.
        opts = { preEncoded: true, wsPreEncodedFrame: encodedFrame(`4${encoded![0]}`) };
      }
      socket.notifyOutgoingListeners?.(packet);
      socket.client.writeToEngine(encoded!, opts!);
      written++;
      reached?.add(id);
    }
  }
}

/**
 * Checked when a broker binds, after its adapter is in place: a Socket.IO (or adapter) without the
 * internals emitLocally uses fails chatd's start, not its deliveries.
 */
export function assertLocalDelivery(io: ChatServer): void {
  const adapter = (io.of('/') as unknown as Internals).adapter as Partial<Internals['adapter']>;
  if (typeof adapter.encoder?.encode !== 'function' || !(adapter.rooms instanceof Map)) throw new Error('the Socket.IO adapter no longer has encoder and rooms: see emitLocally in src/daemon/deployments/local-delivery.ts');
}
