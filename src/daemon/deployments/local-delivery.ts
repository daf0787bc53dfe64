import { PacketType, type Packet } from 'socket.io-parser';
import type { Message } from '../../protocol/index.js';
import type { ChatServer } from '../ports/index.js';

/** The parts of Socket.IO's adapter and sockets a local delivery uses (what the adapter's own broadcast calls). */
interface Internals {
  adapter: { rooms: Map<string, Set<string>>; _encode(packet: Packet, opts: PacketOptions): unknown[] };
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
 * A room set that holds a socket twice (two rooms of one socket) still reaches it once. The
 * brokers check those internals once, when they bind (`assertLocalDelivery`).
 */
export function emitLocally(io: ChatServer, rooms: string[], except: string | null, event: 'message:new' | 'message:change', arg: Message): void {
  const nsp = io.of('/') as unknown as Internals;
  let packet: Packet | undefined;
  let encoded: unknown[] | undefined;
  let opts: PacketOptions | undefined;
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
        encoded = nsp.adapter._encode(packet, opts);
      }
      socket.notifyOutgoingListeners?.(packet);
      socket.client.writeToEngine(encoded!, opts!);
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
  if (typeof adapter._encode !== 'function' || !(adapter.rooms instanceof Map)) throw new Error('the Socket.IO adapter no longer has _encode and rooms: see emitLocally in src/daemon/deployments/local-delivery.ts');
}
