import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import type { Duplex } from 'node:stream';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodedFrame, flushesPerTick, framesOf, oneWritePerFlush, writesPerTick } from '../../src/daemon/ws-engine.js';
import { befriend, emit, nextEvents, openSocket, registerUser, startDaemon, type TestDaemon } from '../support/daemon.js';
import type { Message } from '../../src/protocol/index.js';

// ws as engine.io uses it: its Sender frames what engine.io's own path writes.
const requireFromEngine = createRequire(createRequire(import.meta.url).resolve('engine.io'));
const { Sender } = requireFromEngine('ws') as { Sender: { frame(data: Buffer, o: object): Buffer[] } };
const wsFrame = (s: string) => Buffer.concat(Sender.frame(Buffer.from(s), { fin: true, opcode: 1, mask: false, readOnly: false, rsv1: false }));

describe('a connection’s writes in one tick', () => {
  let server: net.Server;
  let port: number;
  const received: Buffer[] = [];
  beforeAll(async () => {
    server = net.createServer((s) => s.on('data', (d) => received.push(d)));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => server.close());

  it('leave in one system call, in order, and the socket is uncorked after the tick', async () => {
    const socket = net.connect(port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    writesPerTick(socket);
    // Node hands a corked socket's chunks to _writev together, one system call; uncorked, each write is its own.
    const calls: number[] = [];
    const s = socket as unknown as { _writev: (chunks: unknown[], cb: () => void) => void; _write: (c: unknown, e: string, cb: () => void) => void };
    const writev = s._writev.bind(socket);
    const write = s._write.bind(socket);
    s._writev = (chunks, cb) => { calls.push(chunks.length); writev(chunks, cb); };
    s._write = (c, e, cb) => { calls.push(1); write(c, e, cb); };
    socket.write('a');
    socket.write('b');
    socket.write('c');
    expect(socket.writableCorked).toBeGreaterThan(0);
    await new Promise((r) => setImmediate(r));
    expect(socket.writableCorked).toBe(0);
    expect(calls).toEqual([3]);
    // The next tick's writes are a new batch.
    socket.write('d');
    await new Promise((r) => setImmediate(r));
    expect(calls).toEqual([3, 1]);
    await new Promise((r) => setTimeout(r, 50));
    expect(Buffer.concat(received).toString()).toBe('abcd');
    socket.end();
  });
});

describe('an engine.io connection’s flushes in one tick', () => {
  it('run once, after the tick’s work, with everything buffered in it, and again in a later tick', async () => {
    const sent: string[][] = [];
    const buffer: string[] = [];
    const conn = { flush() { if (buffer.length) sent.push(buffer.splice(0)); } };
    flushesPerTick(conn);
    const sendPacket = (p: string) => { buffer.push(p); conn.flush(); };
    sendPacket('ack 1');
    sendPacket('message 2');
    await Promise.resolve(); // a promise continuation in the same tick still joins the flush
    sendPacket('ack 3');
    expect(sent).toEqual([]);
    await new Promise((r) => setImmediate(r));
    expect(sent).toEqual([['ack 1', 'message 2', 'ack 3']]);
    sendPacket('message 4');
    await new Promise((r) => setImmediate(r));
    expect(sent).toEqual([['ack 1', 'message 2', 'ack 3'], ['message 4']]);
  });
});

describe('a flush framed in one buffer', () => {
  it('holds exactly the frames ws writes for each payload, any text and any length, and frames encoded before', () => {
    const text = fc.oneof(fc.string({ unit: 'binary', maxLength: 300 }), fc.string({ minLength: 120, maxLength: 70_000 }));
    // Each payload given as text, or as a frame encoded beforehand (by ws, or by encodedFrame).
    const part = fc.tuple(text, fc.constantFrom('text', 'ws', 'ours'));
    fc.assert(fc.property(fc.array(part, { minLength: 1, maxLength: 5 }), (parts) => {
      const given = parts.map(([t, how]) => (how === 'text' ? t : how === 'ws' ? Sender.frame(Buffer.from(t), { fin: true, opcode: 1, mask: false, readOnly: false, rsv1: false }) : encodedFrame(t)));
      expect(framesOf(given).equals(Buffer.concat(parts.map(([t]) => wsFrame(t))))).toBe(true);
    }), { numRuns: 200 });
    // The length encodings' edges: 7 bits, 16 bits, 64 bits.
    for (const n of [0, 125, 126, 65_535, 65_536, 70_000]) expect(framesOf(['x'.repeat(n)]).equals(wsFrame('x'.repeat(n)))).toBe(true);
  });

  /** A WebSocket transport's parts that oneWritePerFlush reads, with what reaches the socket and engine.io's own path recorded. */
  const transport = () => {
    const writes: Buffer[] = [];
    const own: unknown[][] = [];
    const t = {
      name: 'websocket', writable: true, perMessageDeflate: null as unknown, drained: 0,
      send(packets: unknown[]) { own.push(packets); },
      _onSentLast(err?: Error | null) { if (!err) { t.writable = true; t.drained++; } },
      socket: { readyState: 1, _socket: { write: (b: Buffer, cb: (e?: Error | null) => void) => { writes.push(b); setImmediate(cb); return true; } } as unknown as Duplex, _sender: { _state: 0, _queue: [] as unknown[] } },
    };
    oneWritePerFlush(t);
    return { t, writes, own };
  };

  it('writes a flush of text packets once, and the transport is writable again only after that write', async () => {
    const { t, writes, own } = transport();
    t.send([{ type: 'message', data: '2["a",1]' }, { type: 'ping' }, { type: 'message', data: '31[{"ok":true}]' }, { type: 'message', data: '2["b"]', options: { wsPreEncodedFrame: encodedFrame('42["b"]') } }]);
    expect(t.writable).toBe(false);
    expect(writes).toHaveLength(1);
    expect(writes[0]!.equals(Buffer.concat(['42["a",1]', '2', '431[{"ok":true}]', '42["b"]'].map(wsFrame)))).toBe(true);
    expect(own).toHaveLength(0);
    await new Promise((r) => setImmediate(r));
    expect(t.writable).toBe(true);
    expect(t.drained).toBe(1);
  });

  it('leaves to engine.io what it does not frame: binary data, a pre-encoded frame it cannot read, compression, a socket not open, frames ws holds', () => {
    const cases: [string, (x: ReturnType<typeof transport>) => unknown[]][] = [
      ['binary', () => [{ type: 'message', data: Buffer.from('x') }]],
      ['pre-encoded, not buffers', () => [{ type: 'message', data: 'x', options: { wsPreEncodedFrame: ['x'] } }]],
      ['compression', (x) => { x.t.perMessageDeflate = {}; return [{ type: 'message', data: 'x' }]; }],
      ['closing', (x) => { x.t.socket.readyState = 2; return [{ type: 'message', data: 'x' }]; }],
      ['queued in ws', (x) => { x.t.socket._sender._queue.push([]); return [{ type: 'message', data: 'x' }]; }],
    ];
    for (const [what, make] of cases) {
      const x = transport();
      const packets = make(x);
      x.t.send(packets as never);
      expect({ what, writes: x.writes.length, own: x.own }).toEqual({ what, writes: 0, own: [packets] });
    }
  });
});

describe('a real chatd writes each connection’s flush once', () => {
  let d: TestDaemon;
  beforeAll(async () => { d = await startDaemon(); });
  afterAll(() => d.close());

  for (const transports of [['websocket'], ['polling', 'websocket']]) {
    it(`over ${transports.join(' then ')}: a burst of sends is acked and delivered whole, in order, in fewer writes than frames`, async () => {
      const [a, b] = [await registerUser(d.url), await registerUser(d.url)];
      await befriend(a, b);
      const sa = await openSocket(d.url, a.auth.accessToken, { transports });
      const sb = await openSocket(d.url, b.auth.accessToken, { transports });
      // The recipient's second device: a message reaching two sockets goes out as one frame encoded once.
      const sb2 = await openSocket(d.url, b.auth.accessToken, { transports });
      try {
        if (transports[0] === 'polling') await Promise.all([sa, sb].map((s) => new Promise<void>((r) => (s.io.engine.transport.name === 'websocket' ? r() : s.io.engine.once('upgrade', () => r())))));
        // The sender's connection on the server: its raw socket's writes are counted.
        const conn = (d.daemon.io.engine as unknown as { clients: Record<string, { transport: { name: string; socket: { _socket: Duplex } } }> }).clients[sa.io.engine.id]!;
        expect(conn.transport.name).toBe('websocket');
        const raw = conn.transport.socket._socket;
        let writes = 0;
        const write = raw.write;
        raw.write = function (this: Duplex, ...args: Parameters<Duplex['write']>) { writes++; return write.apply(this, args); } as Duplex['write'];
        const n = 200;
        const got = nextEvents<Message>(sb, 'message:new', n);
        const got2 = nextEvents<Message>(sb2, 'message:new', n);
        const acks = await Promise.all(Array.from({ length: n }, (_, i) => emit<Message>(sa, 'message:send', { to: b.name, text: `m${i} ${'é'.repeat(i)}` })));
        expect(acks.every((r) => r.ok)).toBe(true);
        const seqs = acks.map((r) => (r.ok ? r.data.seq : 0));
        expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
        const texts = Array.from({ length: n }, (_, i) => `m${i} ${'é'.repeat(i)}`);
        expect((await got).map((m) => m.text)).toEqual(texts);
        expect((await got2).map((m) => m.text)).toEqual(texts);
        console.log(`${transports.join('+')}: ${n} acks to the sender in ${writes} writes`);
        expect(writes).toBeGreaterThan(0);
        expect(writes).toBeLessThan(n);
      } finally {
        sa.close();
        sb.close();
        sb2.close();
      }
    });
  }
});
