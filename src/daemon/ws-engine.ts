import { createRequire } from 'node:module';
import type { ServerOptions, WebSocketServer as WsServer } from 'ws';

// engine.io's own copy of ws, the one it is tested with (resolved from engine.io's folder).
const requireFromEngine = createRequire(createRequire(import.meta.url).resolve('engine.io'));
const { WebSocketServer } = requireFromEngine('ws') as { WebSocketServer: typeof WsServer };

/**
 * The WebSocket server under Socket.IO, with `allowSynchronousEvents: false`: a connection's
 * messages are handed on one per event-loop turn, so a client that writes thousands of events in
 * one burst is read at the pace of everyone else, and the others' events are not queued behind
 * its whole burst (by default ws parses every frame of a received chunk in one go).
 */
export class FairWebSocketServer extends WebSocketServer {
  constructor(options: ServerOptions) {
    super({ ...options, allowSynchronousEvents: false });
  }
}
