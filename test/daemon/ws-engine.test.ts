import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flushesPerTick, writesPerTick } from '../../src/daemon/ws-engine.js';

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
