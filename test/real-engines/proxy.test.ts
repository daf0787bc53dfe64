/**
 * Issue 25, item 14: several replicas behind a real reverse proxy (HAProxy from Debian, configured
 * by deploy/haproxy/chatd.cfg as the chart's Ingress routes: affinity by client address), reached
 * by default socket.io-clients, which start with HTTP long-polling and then upgrade.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { io as ioc, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientToServerEvents, Message, ServerToClientEvents } from '../../src/protocol/index.js';
import { befriend, registerUser, startDaemon, tmpDir, type TestDaemon } from '../support/daemon.js';
import { freePort, isolation, killProcess, waitPort } from '../support/services.js';
import { services } from './env.js';

const env = services('MONGODB_URI', 'REDIS_URL', 'KAFKA_BROKERS', 'HAPROXY');
const CONFIG = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../deploy/haproxy/chatd.cfg');
type Client = Socket<ServerToClientEvents, ClientToServerEvents>;

/** HAProxy on `port` in front of two nodes, from the shipped config, or with its balance line replaced. */
async function haproxy(bin: string, port: number, a: string, b: string, balance?: string): Promise<ChildProcess> {
  let file = CONFIG;
  if (balance) {
    file = path.join(tmpDir(), 'haproxy.cfg');
    fs.writeFileSync(file, fs.readFileSync(CONFIG, 'utf8').replace(/^\s*balance source$/m, `  balance ${balance}`).replace(/^\s*hash-type consistent$/m, ''));
  }
  const proc = spawn(bin, ['-db', '-f', file], { env: { ...process.env, CHAT_PROXY_BIND: `127.0.0.1:${port}`, CHATD_A: a, CHATD_B: b }, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  for (const s of [proc.stdout!, proc.stderr!]) s.on('data', (c: Buffer) => { err += c.toString(); });
  await waitPort(port, 10_000, `haproxy (${err})`);
  // Both servers pass their health check before the test leans on either.
  await new Promise((r) => setTimeout(r, 2500));
  return proc;
}

/** A default socket.io-client (no transport options: long-polling first, then the upgrade) from a given source address. */
function defaultClient(url: string, token: string, from: string): Promise<Client | string> {
  const s: Client = ioc(url, { auth: { token }, reconnection: false, forceNew: true, agent: new http.Agent({ localAddress: from }) } as never);
  return new Promise((resolve) => {
    const t = setTimeout(() => { s.close(); resolve('timed out'); }, 15_000);
    s.once('connect', () => {
      // Wait for the upgrade to WebSocket, or for the session to break on the way there.
      const done = () => { clearTimeout(t); resolve(s); };
      if (s.io.engine.transport.name === 'websocket') done();
      else s.io.engine.once('upgrade', done);
    });
    s.once('connect_error', (e) => { clearTimeout(t); s.close(); resolve(`connect_error: ${e.message}`); });
    s.io.engine.on('close', (reason: string, desc: unknown) => { clearTimeout(t); resolve(`closed: ${reason} ${JSON.stringify((desc as { context?: { responseText?: string } })?.context?.responseText ?? '')}`); });
  });
}

/** How many sockets a node holds (its own /metrics). */
async function socketsOn(d: TestDaemon): Promise<number> {
  const m = /^chatd_socket_connections (\d+)$/m.exec(await (await fetch(new URL('/metrics', d.url))).text());
  return Number(m?.[1] ?? 0);
}

if (env) {
  describe('25.14 two replicas behind HAProxy, default socket.io-clients', () => {
    let a: TestDaemon;
    let b: TestDaemon;
    const procs: ChildProcess[] = [];
    beforeAll(async () => {
      const shared = { ...isolation('proxy').env(env), CHAT_TRUST_PROXY: 'true' };
      a = await startDaemon(shared);
      b = await startDaemon(shared);
    });
    afterAll(async () => {
      for (const p of procs) await killProcess(p);
      await a?.close();
      await b?.close();
    });

    it('with affinity by client address, clients landing on different replicas connect, upgrade and chat; round robin breaks them', async () => {
      const port = await freePort();
      procs.push(await haproxy(env.HAPROXY, port, new URL(a.url).host, new URL(b.url).host));
      const url = `http://127.0.0.1:${port}`;
      const ann = await registerUser(url);
      const bob = await registerUser(url);
      await befriend(ann, bob);
      // Find a source address for each replica (balance source hashes the client address).
      const placed = new Map<string, { from: string; client: Client }>();
      for (let i = 1; i < 40 && placed.size < 2; i++) {
        const from = `127.0.0.${i}`;
        const [onA, onB] = [await socketsOn(a), await socketsOn(b)];
        const c = await defaultClient(url, (placed.size === 0 ? ann : bob).auth.accessToken, from);
        if (typeof c === 'string') throw new Error(`a default client from ${from} failed through the proxy: ${c}`);
        const node = (await socketsOn(a)) > onA ? 'a' : (await socketsOn(b)) > onB ? 'b' : '?';
        if (placed.has(node) || node === '?') c.close();
        else placed.set(node, { from, client: c });
      }
      expect([...placed.keys()].sort()).toEqual(['a', 'b']);
      const [first, second] = [...placed.values()];
      const got = new Promise<Message>((r) => second!.client.once('message:new', r));
      const ack = await first!.client.timeout(10_000).emitWithAck('message:send', { to: bob.name, text: 'across the proxy and the nodes' });
      const received = await got;
      console.log(`through HAProxy (balance source): ${ann.name} from ${first!.from} on one replica, ${bob.name} from ${second!.from} on the other; both upgraded to ${first!.client.io.engine.transport.name}; ack ${ack.ok}, received "${received.text}"`);
      expect(ack.ok).toBe(true);
      expect(received.text).toBe('across the proxy and the nodes');
      first!.client.close();
      second!.client.close();

      // The control: the same proxy with round robin (no affinity) sends the second poll to the
      // other replica, which does not know the session.
      const rrPort = await freePort();
      procs.push(await haproxy(env.HAPROXY, rrPort, new URL(a.url).host, new URL(b.url).host, 'roundrobin'));
      const outcomes: string[] = [];
      for (let i = 0; i < 4; i++) {
        const c = await defaultClient(`http://127.0.0.1:${rrPort}`, ann.auth.accessToken, '127.0.0.1');
        outcomes.push(typeof c === 'string' ? c : 'connected');
        if (typeof c !== 'string') c.close();
      }
      console.log('without affinity (round robin), default clients ->', outcomes);
      expect(outcomes.some((o) => o !== 'connected')).toBe(true);
    }, 120_000);
  });
}
