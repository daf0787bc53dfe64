import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectWire, field, numberOf } from '../../bench/wire.js';

/** The load generator's wire-level client against a real Socket.IO server: what it writes and reads must be the protocol. */
describe('bench wire client', () => {
  let io: Server;
  let url: string;
  beforeAll(async () => {
    const server = http.createServer();
    io = new Server(server, { serveClient: false });
    io.use((socket, next) => (socket.handshake.auth.token === 'good' ? next() : next(new Error('no entry'))));
    io.on('connection', (socket) => {
      socket.on('message:send', (p: { to: string; text: string }, ack: (r: unknown) => void) => {
        if (p.text === 'refuse') return ack({ ok: false, error: { code: 'CHAT_ERR_VALIDATION' } });
        socket.emit('message:new', { id: 'm1', from: 'me', to: p.to, text: p.text });
        ack({ ok: true, data: { seq: 1 } });
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => io.close());

  it('connects with its auth, gets acks as ok or not, and reads events', async () => {
    const events: [string, string][] = [];
    const s = await connectWire(url, { token: 'good' }, (name, json) => events.push([name, json]));
    const ok = await new Promise<boolean>((r) => s.emit('message:send', '{"to":"ann","text":"12|xx"}', r));
    const refused = await new Promise<boolean>((r) => s.emit('message:send', '{"to":"ann","text":"refuse"}', r));
    s.close();
    expect([ok, refused]).toEqual([true, false]);
    expect(events.map(([n]) => n)).toEqual(['message:new']);
    const json = events[0]![1];
    expect(JSON.parse(json)).toEqual({ id: 'm1', from: 'me', to: 'ann', text: '12|xx' });
    expect(field(json, 'to')).toBe('ann');
    expect(numberOf(field(json, 'text'))).toBe(12);
    expect(field(json, 'missing')).toBe('');
  });

  it('is refused as the server refuses', async () => {
    await expect(connectWire(url, { token: 'bad' }, () => {})).rejects.toThrow(/no entry/);
  });
});
