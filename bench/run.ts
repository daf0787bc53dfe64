/**
 * npm run bench -- <dm|connections|persist|all> [--quick]
 *
 * Every figure comes from this one harness on this machine, chatd side by side with its
 * baselines in the same run: a bare Socket.IO relay, a raw ws relay, chatd embedded, and
 * chatd scale-out when MONGODB_URI, REDIS_URL and KAFKA_BROKERS are set. Servers run on
 * core 0 and the load generator on core 1 (taskset, where available).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Job } from './loadgen.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const scenario = args.find((a) => !a.startsWith('--')) ?? 'all';
const hasTaskset = !process.env.CHAT_BENCH_NO_PIN && spawnSync('taskset', ['-c', '0', 'true']).status === 0 && os.cpus().length > 1;
const tsx = path.join(root, 'node_modules/.bin/tsx');

type Target = 'chatd' | 'chatd-scaleout' | 'socketio' | 'ws';
interface Server { target: Target; url: string; proc: ChildProcess; dir?: string }

function pinned(core: number, cmd: string, argv: string[]): [string, string[]] {
  return hasTaskset ? ['taskset', ['-c', String(core), cmd, ...argv]] : [cmd, argv];
}

async function startServer(target: Target): Promise<Server> {
  let cmd: string;
  let argv: string[];
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0', LOG_LEVEL: 'warn' };
  let dir: string | undefined;
  if (target === 'socketio' || target === 'ws') {
    [cmd, argv] = pinned(0, tsx, [path.join(root, `bench/servers/${target === 'ws' ? 'ws' : 'socketio'}-relay.ts`)]);
  } else {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chat-bench-'));
    Object.assign(env, { CHAT_DATA_DIR: dir, CHAT_AUTH_RATE_LIMIT: '1000000', CHAT_MESSAGE_RATE_LIMIT: '10000000', LOG_LEVEL: 'info' });
    if (target === 'chatd') for (const k of ['MONGODB_URI', 'REDIS_URL', 'KAFKA_BROKERS']) delete env[k];
    else {
      const id = `bench${Date.now().toString(36)}`;
      const u = new URL(process.env.MONGODB_URI!);
      u.pathname = `/${id}`;
      Object.assign(env, { MONGODB_URI: u.toString(), CHAT_REDIS_PREFIX: `${id}:`, KAFKA_TOPIC: `${id}.messages`, KAFKA_DLQ_TOPIC: `${id}.dlq`, KAFKA_GROUP_ID: `${id}-persister`, JWT_ACCESS_SECRET: `a-${id}-0123456789abcdef0123456789`, JWT_REFRESH_SECRET: `r-${id}-0123456789abcdef0123456789` });
    }
    [cmd, argv] = pinned(0, process.execPath, [path.join(root, 'bin/chatd.js'), 'start', '--port', '0']);
  }
  const proc = spawn(cmd, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${target} did not start: ${out}`)), 60_000);
    const on = (c: Buffer) => {
      out += c.toString();
      const m = /listening (\d+)/.exec(out) ?? /chatd listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (m) { clearTimeout(t); resolve(`http://127.0.0.1:${m[1]}`); }
    };
    proc.stdout!.on('data', on);
    proc.stderr!.on('data', on);
    proc.on('exit', (code) => { clearTimeout(t); reject(new Error(`${target} exited ${code}: ${out}`)); });
  });
  return { target, url, proc, dir };
}

async function stopServer(s: Server) {
  const gone = new Promise((r) => s.proc.on('exit', r));
  s.proc.kill('SIGTERM');
  await Promise.race([gone, new Promise((r) => setTimeout(r, 15_000))]);
  s.proc.kill('SIGKILL');
  if (s.dir) fs.rmSync(s.dir, { recursive: true, force: true });
}

async function json<T>(url: string, init?: RequestInit): Promise<T> {
  const r = await fetch(url, init);
  if (!r.ok) throw new Error(`${url}: ${r.status} ${await r.text()}`);
  return (await r.json()) as T;
}

/** Users (pairs are friends) with their credentials; relays only need names. */
async function users(s: Server, n: number): Promise<{ name: string; token: string }[]> {
  const list = Array.from({ length: n }, (_, i) => ({ name: `bench${i}`, token: '' }));
  if (!s.target.startsWith('chatd')) return list;
  const post = (p: string, body: unknown, token?: string) => json<{ accessToken: string }>(`${s.url}${p}`, {
    method: 'POST',
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  for (const u of list) u.token = (await post('/v1/auth/register', { username: u.name, password: 'bench-password' })).accessToken;
  for (let i = 0; i + 1 < n; i += 2) {
    await post(`/v1/friends/${list[i + 1]!.name}`, undefined, list[i]!.token);
    await post(`/v1/friends/${list[i]!.name}`, undefined, list[i + 1]!.token);
  }
  return list;
}

function loadgen(job: Job): { proc: ChildProcess; lines: AsyncIterable<string> } {
  const [cmd, argv] = pinned(1, tsx, [path.join(root, 'bench/loadgen.ts'), JSON.stringify(job)]);
  const proc = spawn(cmd, argv, { stdio: ['pipe', 'pipe', 'inherit'] });
  async function* lines() {
    let buf = '';
    for await (const c of proc.stdout!) {
      buf += String(c);
      let i;
      while ((i = buf.indexOf('\n')) >= 0) { yield buf.slice(0, i); buf = buf.slice(i + 1); }
    }
  }
  return { proc, lines: lines() };
}

async function runLoad<T>(job: Job): Promise<T> {
  const { lines } = loadgen(job);
  for await (const l of lines) if (l.startsWith('{')) return JSON.parse(l) as T;
  throw new Error('loadgen gave no result');
}

interface DmStep { offeredRate: number; sent: number; delivered: number; lost: number; dup: number; deliveredPerSec: number; e2eMs: { p50: number; p99: number; p999: number; max: number }; ackMs: { p50: number; p99: number }; loadgenLoopDelayP99Ms: number }

async function serverMetrics(s: Server): Promise<{ rss: number; heapUsed: number; loopP99Ms?: number }> {
  if (!s.target.startsWith('chatd')) return json(`${s.url}/stats`);
  const text = await (await fetch(`${s.url}/metrics`)).text();
  const get = (name: string) => Number(new RegExp(`^${name} ([0-9.e+-]+)`, 'm').exec(text)?.[1] ?? NaN);
  return { rss: get('process_resident_memory_bytes'), heapUsed: get('nodejs_heap_size_used_bytes'), loopP99Ms: Math.round(get('nodejs_eventloop_lag_p99_seconds') * 1e5) / 100 };
}

async function dmScenario(targets: Target[]) {
  const rates = quick ? [100, 200] : [500, 1000, 2000, 3000, 4000, 5000, 6000, 8000, 10000, 12000, 16000, 20000, 24000, 32000];
  const durationMs = quick ? 1500 : 5000;
  const pairs = quick ? 4 : 50;
  const out: Record<string, { maxRate: number; p99AtMaxMs: number | null; steps: (DmStep & { serverLoopP99Ms?: number })[] }> = {};
  for (const target of targets) {
    const s = await startServer(target);
    try {
      const list = await users(s, pairs * 2);
      // Warm-up, not recorded: first messages pay one-off costs (JIT, friendship and seq lookups).
      await runLoad<DmStep>({ mode: 'dm', target: target === 'chatd-scaleout' ? 'chatd' : target, url: s.url, users: list, rate: Math.min(rates[0]!, 200), durationMs: quick ? 500 : 2000, textBytes: 64 });
      const steps: (DmStep & { serverLoopP99Ms?: number })[] = [];
      let maxRate = 0;
      let p99AtMax: number | null = null;
      for (const rate of rates) {
        const r = await runLoad<DmStep>({ mode: 'dm', target: target === 'chatd-scaleout' ? 'chatd' : target, url: s.url, users: list, rate, durationMs, textBytes: 64 });
        const m = await serverMetrics(s).catch(() => null);
        steps.push({ ...r, ...(m?.loopP99Ms !== undefined ? { serverLoopP99Ms: m.loopP99Ms } : {}) });
        const pass = r.lost === 0 && r.dup === 0 && r.e2eMs.p99 <= 100;
        console.log(`dm ${target.padEnd(15)} rate ${String(rate).padStart(6)}/s  delivered ${String(r.deliveredPerSec).padStart(6)}/s  p50 ${r.e2eMs.p50}ms p99 ${r.e2eMs.p99}ms p99.9 ${r.e2eMs.p999}ms max ${r.e2eMs.max}ms  ack p99 ${r.ackMs.p99}ms  lost ${r.lost} dup ${r.dup}  loadgen loop p99 ${r.loadgenLoopDelayP99Ms}ms ${pass ? '' : ' ✗'}`);
        if (!pass) break;
        maxRate = rate;
        p99AtMax = r.e2eMs.p99;
      }
      out[target] = { maxRate, p99AtMaxMs: p99AtMax, steps };
    } finally {
      await stopServer(s);
    }
  }
  const ratio = out.chatd && out.socketio?.maxRate ? Math.round((out.chatd.maxRate / out.socketio.maxRate) * 100) / 100 : null;
  return { ...out, ratioToSocketio: ratio, settings: { rates, durationMs, pairs, textBytes: 64, passRule: 'p99 <= 100 ms, no loss, no duplicate' } };
}

async function connectionsScenario(targets: Target[]) {
  const counts = quick ? [200] : [1000, 5000, 10000];
  const out: Record<string, { count: number; connectPerSec: number; rssPerConnKB: number; heapPerConnKB: number; rssMB: number }[]> = {};
  for (const target of targets) {
    out[target] = [];
    for (const count of counts) {
      const s = await startServer(target);
      try {
        const list = await users(s, quick ? 10 : 100);
        await new Promise((r) => setTimeout(r, 500));
        const before = await serverMetrics(s);
        const { proc, lines } = loadgen({ mode: 'connect', target: target === 'chatd-scaleout' ? 'chatd' : target, url: s.url, users: list, count });
        let res: { connected: number; connectPerSec: number } | undefined;
        for await (const l of lines) if (l.startsWith('{')) { res = JSON.parse(l); break; }
        await new Promise((r) => setTimeout(r, 2000));
        const after = await serverMetrics(s);
        proc.stdin!.end();
        await new Promise((r) => proc.on('exit', r));
        const row = { count, connectPerSec: res!.connectPerSec, rssPerConnKB: Math.round(((after.rss - before.rss) / count / 1024) * 10) / 10, heapPerConnKB: Math.round(((after.heapUsed - before.heapUsed) / count / 1024) * 10) / 10, rssMB: Math.round(after.rss / 1048576) };
        out[target].push(row);
        console.log(`connections ${target.padEnd(15)} ${String(count).padStart(6)}: connect ${row.connectPerSec}/s  RSS ${row.rssPerConnKB} KB/conn  heap ${row.heapPerConnKB} KB/conn  total RSS ${row.rssMB} MB`);
      } finally {
        await stopServer(s);
      }
    }
  }
  return out;
}

async function persistScenario(targets: Target[]) {
  const total = quick ? 500 : 20_000;
  const out: Record<string, { messages: number; perSec: number; seconds: number; measuredTo: string }> = {};
  for (const target of targets.filter((t) => t.startsWith('chatd'))) {
    const s = await startServer(target);
    try {
      const list = await users(s, 2);
      const admin = list[0]!.token;
      const t0 = Date.now();
      // Closed loop, 200 in flight: an ack on the embedded store means the row is committed.
      const r = await runLoad<DmStep>({ mode: 'dm', target: 'chatd', url: s.url, users: list, rate: quick ? 2000 : 20000, durationMs: Math.ceil((total / (quick ? 2000 : 20000)) * 1000), textBytes: 64 });
      let measuredTo = 'ack (committed to SQLite)';
      if (target === 'chatd-scaleout') {
        measuredTo = 'consumer lag 0 (rows in MongoDB)';
        for (;;) {
          const st = await json<{ consumerLag: number | null; failedStore: number | null }>(`${s.url}/v1/admin/status`, { headers: { authorization: `Bearer ${admin}` } });
          if (st.consumerLag === 0 && st.failedStore === 0) break;
          await new Promise((res) => setTimeout(res, 100));
        }
      }
      const seconds = (Date.now() - t0) / 1000;
      out[target] = { messages: r.acked, perSec: Math.round(r.acked / seconds), seconds: Math.round(seconds * 100) / 100, measuredTo };
      console.log(`persist ${target.padEnd(15)} ${r.acked} messages in ${out[target].seconds}s = ${out[target].perSec}/s (${measuredTo})`);
    } finally {
      await stopServer(s);
    }
  }
  return out;
}

const scaleout = !!(process.env.MONGODB_URI && process.env.REDIS_URL && process.env.KAFKA_BROKERS);
const only = args.find((a) => a.startsWith('--targets='))?.slice('--targets='.length).split(',') as Target[] | undefined;
const targets: Target[] = only ?? ['socketio', 'ws', 'chatd', ...(scaleout ? ['chatd-scaleout' as const] : [])];
const machine = { cores: os.cpus().length, cpu: os.cpus()[0]?.model, memGB: Math.round(os.totalmem() / 1e9), node: process.version, taskset: hasTaskset, quick };
const scenarios = scenario === 'all' ? ['dm', 'connections', 'persist'] : [scenario];
fs.mkdirSync(path.join(root, 'bench/results'), { recursive: true });
for (const name of scenarios) {
  const run = name === 'dm' ? dmScenario : name === 'connections' ? connectionsScenario : name === 'persist' ? persistScenario : null;
  if (!run) { console.error(`unknown scenario ${name}: dm, connections, persist or all`); process.exit(2); }
  console.log(`== ${name}${quick ? ' (quick)' : ''} on ${machine.cores} cores, ${machine.node}; targets: ${targets.join(', ')}`);
  const result = await run(targets);
  const file = path.join(root, 'bench/results', `${name}${quick ? '.quick' : ''}.json`);
  fs.writeFileSync(file, JSON.stringify({ scenario: name, date: new Date().toISOString(), machine, ...result }, null, 2) + '\n');
  console.log(`wrote ${path.relative(root, file)}`);
}
process.exit(0);
