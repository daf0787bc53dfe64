import { createAdapter } from '@socket.io/redis-adapter';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { InterServerEvents, Message } from '../../../protocol/index.js';
import type { Broker, ChatServer, NodeNotice } from '../../ports/index.js';
import { recordEvent } from '../../ports/broker.js';
import { assertLocalDelivery, emitLocally } from '../local-delivery.js';

type Batch = Parameters<InterServerEvents['message:batch']>[0];

/**
 * Every node of a deployment on one Redis: the Socket.IO Redis adapter carries rooms, broadcasts,
 * disconnects and node-to-node events.
 *
 * New messages reach this node's sockets at once, and the other nodes' in one publish per loop
 * turn: the adapter publishes every emit to more than one room on the one channel all nodes
 * read, so one publish of the turn's messages costs each node what one message did.
 */
export class RedisBroker implements Broker {
  private io: ChatServer | null = null;
  private clients: Redis[] = [];
  private outbound: Batch = [];
  private listener: (notice: NodeNotice) => void = () => {};

  constructor(private readonly redis: Redis, private readonly prefix: string, private readonly log: Logger) {}

  async bind(io: ChatServer) {
    this.io = io;
    // The publisher auto-pipelines: the fan-outs of one event-loop turn leave in one write (one
    // syscall per message before). The subscriber cannot (it is in subscribe mode).
    const pub = this.redis.duplicate({ connectionName: 'chatd-adapter-pub', enableAutoPipelining: true });
    const sub = this.redis.duplicate({ connectionName: 'chatd-adapter-sub', enableAutoPipelining: false });
    this.clients = [pub, sub];
    for (const c of this.clients) c.on('error', (err: Error) => this.log.warn({ err: err.message }, 'redis adapter connection error'));
    await Promise.all([pub.connect(), sub.connect()]);
    io.adapter(createAdapter(pub, sub, { key: `${this.prefix}socket.io` }));
    assertLocalDelivery(io);

    io.on('message:batch', (batch) => {
      if (!Array.isArray(batch)) return this.log.warn('ignored a malformed message batch from another node');
      for (const entry of batch) {
        if (!Array.isArray(entry) || !Array.isArray(entry[0]) || !entry[0].every((r) => typeof r === 'string') || (entry[1] !== null && typeof entry[1] !== 'string') || typeof entry[2] !== 'object' || entry[2] === null) {
          this.log.warn('ignored a malformed entry of a message batch from another node');
          continue;
        }
        this.deliver(entry[0], entry[1], entry[2]);
      }
    });
    io.on('auth:notice', (notice) => this.listener({ kind: 'credentials', notice }));
    io.on('friends:changed', (pair) => this.listener({ kind: 'friends', pair }));
    io.on('groups:changed', (groupId, ack?: (ok: boolean) => void) => {
      if (typeof groupId === 'string') this.listener({ kind: 'group', groupId });
      if (typeof ack === 'function') ack(true);
    });
  }

  private deliver(rooms: string[], except: string | null, message: Message) {
    emitLocally(this.io!, rooms, except, recordEvent(message), message);
  }

  private readonly flush = () => {
    const batch = this.outbound;
    this.outbound = [];
    this.io!.serverSideEmit('message:batch', batch);
  };

  publish(rooms: string[], except: string | null, message: Message) {
    this.deliver(rooms, except, message);
    if (this.outbound.push([rooms, except, message]) === 1) setImmediate(this.flush);
  }

  async notify(notice: NodeNotice) {
    const io = this.io!;
    switch (notice.kind) {
      case 'credentials':
        io.serverSideEmit('auth:notice', notice.notice);
        return;
      case 'friends':
        io.serverSideEmit('friends:changed', notice.pair);
        return;
      case 'group':
        // Waited for (up to the adapter's request timeout, 5 s): after that no node fans out to
        // the membership the change replaced.
        try {
          await io.serverSideEmitWithAck('groups:changed', notice.groupId);
        } catch (err) {
          this.log.warn({ err: (err as Error).message, groupId: notice.groupId }, 'not every node confirmed a group change in time; their caches expire it');
        }
    }
  }

  onNotice(fn: (notice: NodeNotice) => void) {
    this.listener = fn;
  }

  async close() {
    for (const c of this.clients) await c.quit().catch(() => c.disconnect());
  }
}
