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
