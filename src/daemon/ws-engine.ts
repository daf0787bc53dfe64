import { createRequire } from 'node:module';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ServerOptions, WebSocket, WebSocketServer as WsServer } from 'ws';

// engine.io's own copy of ws, the one it is tested with (resolved from engine.io's folder).
const requireFromEngine = createRequire(createRequire(import.meta.url).resolve('engine.io'));
const { WebSocketServer } = requireFromEngine('ws') as { WebSocketServer: typeof WsServer };

/**
 * The WebSocket server under Socket.IO:
 *
 * - `allowSynchronousEvents: false`: a connection's messages are handed on one per event-loop
 *   turn, so a client that writes thousands of events in one burst is read at the pace of
 *   everyone else, and the others' events are not queued behind its whole burst (by default ws
 *   parses every frame of a received chunk in one go).
 * - Frames written to one connection in one tick leave in one write (see `writesPerTick`).
 */
export class FairWebSocketServer extends WebSocketServer {
  constructor(options: ServerOptions) {
    super({ ...options, allowSynchronousEvents: false });
  }

  override handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, cb: (ws: WebSocket, req: IncomingMessage) => void): void {
    writesPerTick(socket);
    super.handleUpgrade(req, socket, head, cb);
  }
}

/**
 * Corks the socket at the first write of a tick and uncorks it once the tick's work is done, so
 * everything written to it meanwhile (a batch's acks and deliveries: one frame each) goes to the
 * kernel in one writev instead of one system call per frame. The writes were the event loop's
 * largest single cost in the dm benchmark's profile.
 */
export function writesPerTick(socket: Duplex): void {
  const write = socket.write;
  let corked = false;
  const uncork = () => {
    corked = false;
    socket.uncork();
  };
  socket.write = function (this: Duplex, ...args: Parameters<Duplex['write']>) {
    if (!corked) {
      corked = true;
      socket.cork();
      process.nextTick(uncork);
    }
    return write.apply(this, args);
  } as Duplex['write'];
}

/** The part of an engine.io connection that `flushesPerTick` changes. */
interface EngineConnection { flush(): void }

/**
 * An engine.io connection sends what it has buffered at once, then nothing more until that write
 * is done: a second packet in the same tick (a batch's second ack, a delivery after an ack) waits
 * for the first write's callback and leaves in a write of its own. Deferred to the end of the
 * tick, the flush sends every packet of the tick in one go, which `writesPerTick` then turns into
 * one writev. Order is kept: packets leave in the order they were buffered.
 */
export function flushesPerTick(conn: EngineConnection): void {
  const flush = conn.flush;
  let pending = false;
  const run = () => {
    pending = false;
    flush.call(conn);
  };
  conn.flush = () => {
    if (pending) return;
    pending = true;
    process.nextTick(run);
  };
}

/** An engine.io packet as its WebSocket transport is handed it. */
interface EnginePacket { type: string; data?: unknown; options?: { wsPreEncodedFrame?: unknown } }

/** The parts of engine.io's WebSocket transport that `oneWritePerFlush` replaces and uses (not in its typings). */
interface WsTransport {
  name: string;
  writable: boolean;
  perMessageDeflate: unknown;
  send(packets: EnginePacket[]): void;
  _onSentLast(err?: Error | null): void;
  socket: { readyState: number; _socket?: Duplex; _sender?: { _state: number; _queue: unknown[] } };
}

/** engine.io's packet types (engine.io-parser's PACKET_TYPES). */
const PACKET_TYPES: Record<string, string> = { open: '0', close: '1', ping: '2', pong: '3', message: '4', upgrade: '5', noop: '6' };
const OPEN = 1;

/** A frame's payload (text), or a frame already encoded (ws's `Sender.frame`: its header and payload). */
export type FramePart = string | readonly Buffer[];

/**
 * Unmasked, final text frames (RFC 6455 §5.2: what a server sends) for each text payload, and
 * the bytes of each frame given encoded, in order in one buffer: the bytes ws's Sender writes
 * for them one by one.
 */
export function framesOf(parts: readonly FramePart[]): Buffer {
  const lengths = new Array<number>(parts.length);
  let total = 0;
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    if (typeof p === 'string') {
      const n = Buffer.byteLength(p);
      lengths[i] = n;
      total += n + (n < 126 ? 2 : n < 65536 ? 4 : 10);
    } else {
      for (const b of p) total += b.length;
    }
  }
  const buf = Buffer.allocUnsafe(total);
  let at = 0;
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    if (typeof p !== 'string') {
      for (const b of p) at += b.copy(buf, at);
      continue;
    }
    const n = lengths[i]!;
    buf[at++] = 0x81; // FIN, text
    if (n < 126) buf[at++] = n;
    else if (n < 65536) {
      buf[at++] = 126;
      buf.writeUInt16BE(n, at);
      at += 2;
    } else {
      buf[at++] = 127;
      buf.writeUInt32BE(Math.floor(n / 2 ** 32), at);
      buf.writeUInt32BE(n >>> 0, at + 4);
      at += 8;
    }
    at += buf.write(p, at, n, 'utf8');
  }
  return buf;
}

/** One text frame, encoded once for a packet written to many connections (engine.io's `wsPreEncodedFrame`). */
export const encodedFrame = (payload: string): Buffer[] => [framesOf([payload])];

/**
 * engine.io's WebSocket transport hands each packet of a flush to ws on its own: an encode
 * callback, a frame header allocated, two writes (header and payload) and a write callback, per
 * packet. chatd's packets are text (files go over REST), so a flush's packets are framed here into
 * one buffer (a frame encoded once for many connections copied in) and written at once, with the
 * transport's own bookkeeping (not writable until the write is done, then `drain` and `ready` as
 * after its last packet). Anything else (binary data, compression, a closing socket, frames ws
 * still holds) takes engine.io's own path, so nothing can overtake what ws has queued.
 */
export function oneWritePerFlush(transport: WsTransport): void {
  // A transport without the parts used here (another engine.io) keeps its own path.
  if (transport.name !== 'websocket' || typeof transport._onSentLast !== 'function' || typeof transport.send !== 'function') return;
  const send = transport.send;
  transport.send = function (this: WsTransport, packets: EnginePacket[]) {
    const ws = this.socket;
    const sender = ws._sender;
    const raw = ws._socket;
    if (ws.readyState !== OPEN || this.perMessageDeflate || !raw || sender?._state !== 0 || !Array.isArray(sender._queue) || sender._queue.length > 0) return send.call(this, packets);
    const parts = new Array<FramePart>(packets.length);
    for (let i = 0; i < packets.length; i++) {
      const p = packets[i]!;
      const pre = p.options?.wsPreEncodedFrame;
      if (pre !== undefined) {
        if (!Array.isArray(pre) || !pre.every((b) => Buffer.isBuffer(b))) return send.call(this, packets);
        parts[i] = pre as Buffer[];
        continue;
      }
      const type = PACKET_TYPES[p.type];
      if (type === undefined || (p.data !== undefined && typeof p.data !== 'string')) return send.call(this, packets);
      parts[i] = p.data === undefined ? type : type + p.data;
    }
    this.writable = false;
    raw.write(framesOf(parts), this._onSentLast);
  };
}

/** Applies `oneWritePerFlush` to an engine.io connection's transport now and after an upgrade. */
export function oneWritePerFlushOf(conn: { transport: unknown; on(event: 'upgrade', fn: (transport: unknown) => void): unknown }): void {
  oneWritePerFlush(conn.transport as WsTransport);
  conn.on('upgrade', (transport) => oneWritePerFlush(transport as WsTransport));
}
