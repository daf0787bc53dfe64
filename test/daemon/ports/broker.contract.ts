import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { io as ioc, type Socket } from 'socket.io-client';
import { v7 as uuidv7 } from 'uuid';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Message } from '../../../src/protocol/index.js';
import type { Broker, ChatServer, NodeNotice } from '../../../src/daemon/ports/index.js';
import { waitFor } from '../../support/daemon.js';

/** One chatd node as the broker sees it: a Socket.IO server on port 0, bound to its broker. */
interface Node { broker: Broker; io: ChatServer; url: string; notices: NodeNotice[] }

/**
 * The broker contract: a message published on any node reaches every socket in the named rooms on
 * every node, once, except the one socket named; a notice reaches every other node (never the one
 * that sent it), and `notify` resolves without throwing. `make(n)` returns n brokers of one
 * deployment (the embedded one has a single node).
 */
export function brokerContract(name: string, nodes: number, make: () => Promise<Broker>, cleanup: () => Promise<void> = async () => {}) {
  describe(`Broker contract: ${name}`, () => {
    let cluster: Node[] = [];
    const clients: Socket[] = [];

    beforeEach(async () => {
      cluster = [];
      for (let i = 0; i < nodes; i++) {
        const server = http.createServer();
        const io: ChatServer = new Server(server, { serveClient: false });
        // `room` may name several rooms, comma-separated.
        io.on('connection', (socket) => void socket.join(String(socket.handshake.auth.room).split(',')));
        await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
        const broker = await make();
        await broker.bind(io);
        const node: Node = { broker, io, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, notices: [] };
        broker.onNotice((n) => node.notices.push(n));
        cluster.push(node);
      }
    });

    afterEach(async () => {
      for (const c of clients.splice(0)) c.disconnect();
      for (const n of cluster) {
        await new Promise<void>((r) => n.io.close(() => r()));
        await n.broker.close();
      }
      await cleanup();
    });

    const connect = async (node: Node, room: string) => {
      const c = ioc(node.url, { transports: ['websocket'], auth: { room }, forceNew: true });
      clients.push(c);
      await new Promise<void>((resolve, reject) => { c.once('connect', resolve); c.once('connect_error', reject); });
      return c;
    };
    const message = (text: string): Message => ({ id: uuidv7(), seq: 1, conversationId: 'dm:a:b', from: 'a', to: 'b', text, kind: 'user', createdAt: new Date().toISOString() });

    it('delivers a published message to every socket in the rooms, on every node, once, except the one named', async () => {
      // One listener per node in room A, one per node in room B, and the sender's own socket in room A.
      const got = new Map<Socket, string[]>();
      const listen = (c: Socket) => { got.set(c, []); c.on('message:new', (m: Message) => got.get(c)!.push(m.text)); return c; };
      const inA = await Promise.all(cluster.map((n) => connect(n, 'user:a').then(listen)));
      const inB = await Promise.all(cluster.map((n) => connect(n, 'user:b').then(listen)));
      const other = listen(await connect(cluster[0]!, 'user:c'));
      // In both rooms: still one copy of each message.
      const inBoth = await Promise.all(cluster.map((n) => connect(n, 'user:a,user:b').then(listen)));
      const sender = inA[0]!;
      for (const [i, n] of cluster.entries()) n.broker.publish(['user:a', 'user:b'], sender.id ?? null, message(`from node ${i}`));
      const expected = cluster.map((_, i) => `from node ${i}`);
      const reached = [...inA.slice(1), ...inB, ...inBoth];
      await waitFor(() => reached.every((c) => got.get(c)!.length >= expected.length), 10_000);
      await new Promise((r) => setTimeout(r, 200)); // a duplicate would arrive by now
      for (const c of reached) expect(got.get(c)!.sort()).toEqual(expected);
      expect(got.get(sender)).toEqual([]);
      expect(got.get(other)).toEqual([]);
      console.log(`${name}: ${cluster.length} node(s), ${expected.length} published, ${reached.length} sockets (${inBoth.length} in both rooms) got each once; the excepted socket and a bystander got none`);
    });

    it('tells every other node of a change, never the sender; notify resolves', async () => {
      const notices: NodeNotice[] = [
        { kind: 'credentials', notice: { userId: 'u1', username: 'a', all: true, reason: 'revoked' } },
        { kind: 'friends', pair: ['a', 'b'] },
        { kind: 'group', groupId: 'g1' },
      ];
      for (const n of notices) await cluster[0]!.broker.notify(n);
      if (cluster.length > 1) await waitFor(() => cluster.slice(1).every((n) => n.notices.length >= notices.length), 10_000);
      for (const n of cluster.slice(1)) expect(n.notices).toEqual(notices);
      expect(cluster[0]!.notices).toEqual([]);
    });
  });
}
