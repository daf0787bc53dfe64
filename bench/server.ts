/** Servers under test (chatd, the relays) and the load generator, as child processes, and the ways into them. */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Job } from './loadgen.js';
import { loopDelayBeyondSampling } from './figures.js';
import { hasTaskset, profile, profileDir, root, tsx, type Target } from './options.js';
import { printSummary, summarise, type ProfileSummary } from './profile.js';
import { dropDeployment } from './cleanup.js';

/** `ownsDeployment`: the first scale-out node of a deployment, which removes its data when stopped (stop it last). */
export interface Server { target: Target; url: string; proc: ChildProcess; dir?: string; inspector?: string; env?: NodeJS.ProcessEnv; ownsDeployment?: boolean }

export function pinned(core: number, cmd: string, argv: string[]): [string, string[]] {
  return hasTaskset ? ['taskset', ['-c', String(core), cmd, ...argv]] : [cmd, argv];
}

/**
 * `inspect`: the server listens for the inspector on a loopback port, so the bench can force a
 * full GC before it reads memory (connections scenario); nothing else goes over it.
 */
/** `env`: settings for chatd on top of the bench's; `dataDir`: run on this data dir, which the caller keeps (removes). */
export async function startServer(target: Target, opts: { inspect?: boolean; shareWith?: Server; env?: NodeJS.ProcessEnv; dataDir?: string } = {}): Promise<Server> {
  let cmd: string;
  let argv: string[];
  const inspect = opts.inspect ? ['--inspect=127.0.0.1:0'] : [];
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0', LOG_LEVEL: 'warn' };
  let dir: string | undefined;
  if (target === 'socketio' || target === 'ws') {
    // node --import tsx: one process, so node flags (the inspector) apply to the relay itself.
    [cmd, argv] = pinned(0, process.execPath, [...inspect, '--import', 'tsx', path.join(root, `bench/servers/${target === 'ws' ? 'ws' : 'socketio'}-relay.ts`)]);
  } else {
    dir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'chat-bench-'));
    // One load generator on one address opens up to 10k connections for 100 users, 100 at a time:
    // the per-user and per-address caps are lifted for it (loopback only).
    Object.assign(env, { CHAT_DATA_DIR: dir, CHAT_AUTH_RATE_LIMIT: '1000000', CHAT_MESSAGE_RATE_LIMIT: '10000000', CHAT_MAX_SOCKETS_PER_USER: '1000000', CHAT_MAX_PENDING_CONNECTIONS: '1000000', CHAT_FRIEND_RATE_LIMIT: '1000000', CHAT_GROUP_RATE_LIMIT: '1000000', CHAT_REQUEST_RATE_LIMIT: '10000000', CHAT_SYNC_RATE_LIMIT: '10000000', CHAT_TYPING_RATE_LIMIT: '10000000', CHAT_MAX_GROUPS_PER_USER: '100000', CHAT_CHANGE_RATE_LIMIT: '10000000', CHAT_MAX_EDITS: '10000', LOG_LEVEL: 'info' });
    if (target === 'chatd') for (const k of ['MONGODB_URI', 'REDIS_URL', 'KAFKA_BROKERS']) delete env[k];
    else if (opts.shareWith?.env) Object.assign(env, opts.shareWith.env); // another node of the same deployment
    else {
      const id = `bench${Date.now().toString(36)}`;
      const u = new URL(process.env.MONGODB_URI!);
      u.pathname = `/${id}`;
      Object.assign(env, { MONGODB_URI: u.toString(), CHAT_REDIS_PREFIX: `${id}:`, KAFKA_TOPIC: `${id}.messages`, KAFKA_DLQ_TOPIC: `${id}.dlq`, KAFKA_GROUP_ID: `${id}-persister`, JWT_ACCESS_SECRET: `a-${id}-0123456789abcdef0123456789`, JWT_REFRESH_SECRET: `r-${id}-0123456789abcdef0123456789` });
    }
    if (opts.env) Object.assign(env, opts.env);
    // One profile per thread: CPU.<date>.<time>.<pid>.<thread id>.<n>.cpuprofile (thread 0 is the event loop).
    const prof = profile ? ['--cpu-prof', `--cpu-prof-dir=${path.join(profileDir, `${target}-${Date.now()}`)}`] : [];
    // CHAT_BENCH_NODE_FLAGS: extra node flags for chatd, e.g. "--trace-gc" (with CHAT_BENCH_SERVER_LOG).
    const flags = process.env.CHAT_BENCH_NODE_FLAGS?.split(' ').filter(Boolean) ?? [];
    // CHAT_BENCH_CHATD: another build's bin/chatd.js (old against new, with one harness and one generator).
    const chatd = process.env.CHAT_BENCH_CHATD ?? path.join(root, 'bin/chatd.js');
    [cmd, argv] = pinned(0, process.execPath, [...flags, ...prof, ...inspect, chatd, 'start', '--port', '0']);
  }
  const proc = spawn(cmd, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  // CHAT_BENCH_SERVER_LOG=<file>: keep the server's own output.
  if (process.env.CHAT_BENCH_SERVER_LOG) {
    const log = fs.createWriteStream(process.env.CHAT_BENCH_SERVER_LOG, { flags: 'a' });
    proc.stdout!.pipe(log);
    proc.stderr!.pipe(log);
  }
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
  const inspector = /Debugger listening on (ws:\/\/\S+)/.exec(out)?.[1];
  const shared = target === 'chatd-scaleout' ? { env: Object.fromEntries(['MONGODB_URI', 'CHAT_REDIS_PREFIX', 'KAFKA_TOPIC', 'KAFKA_DLQ_TOPIC', 'KAFKA_GROUP_ID', 'JWT_ACCESS_SECRET', 'JWT_REFRESH_SECRET'].map((k) => [k, env[k]])), ownsDeployment: !opts.shareWith } : {};
  return { target, url, proc, dir: opts.dataDir ? undefined : dir, ...(inspector ? { inspector } : {}), ...shared };
}

/** A session on a server's inspector (loopback): the bench's only way into the server process. */
export async function inspector(s: Server) {
  if (!s.inspector) throw new Error(`${s.target} was not started with the inspector`);
  const { WebSocket } = await import('ws');
  const ws = new WebSocket(s.inspector, { maxPayload: 1 << 30 });
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  let next = 0;
  const waiting = new Map<number, (r: unknown) => void>();
  const listeners = new Map<string, ((params: never) => void)[]>();
  ws.on('message', (d) => {
    const m = JSON.parse(String(d)) as { id?: number; result?: unknown; method?: string; params?: unknown };
    if (m.id !== undefined) { waiting.get(m.id)?.(m.result); waiting.delete(m.id); }
    else if (m.method) for (const f of listeners.get(m.method) ?? []) f(m.params as never);
  });
  return {
    call: <T>(method: string, params: unknown = {}) => new Promise<T>((resolve) => { const id = ++next; waiting.set(id, resolve as (r: unknown) => void); ws.send(JSON.stringify({ id, method, params })); }),
    /** Hears the inspector's events of one method. */
    on: <P>(method: string, f: (params: P) => void) => { listeners.set(method, [...(listeners.get(method) ?? []), f as (params: never) => void]); },
    close: () => ws.close(),
  };
}

type Inspector = Awaited<ReturnType<typeof inspector>>;
/** One thread of the server as the inspector reaches it. */
type ThreadSession = { name: string; call<T>(method: string, params?: unknown): Promise<T> };

/**
 * The server's worker threads, each as a session of its own over the main inspector (the
 * NodeWorker domain): chatd's SQLite writer and checkpointer. A process started with --inspect
 * writes no --cpu-prof profile for its workers, so this is how a step profiles them.
 */
export async function workerSessions(i: Inspector): Promise<ThreadSession[]> {
  const sessions: ThreadSession[] = [];
  const waiting = new Map<string, (r: unknown) => void>();
  let next = 0;
  i.on<{ sessionId: string; message: string }>('NodeWorker.receivedMessageFromWorker', ({ sessionId, message }) => {
    const m = JSON.parse(message) as { id?: number; result?: unknown };
    if (m.id === undefined) return;
    const key = `${sessionId} ${m.id}`;
    waiting.get(key)?.(m.result);
    waiting.delete(key);
  });
  i.on<{ sessionId: string; workerInfo: { workerId: string; url: string } }>('NodeWorker.attachedToWorker', ({ sessionId, workerInfo }) => {
    sessions.push({
      name: `worker ${workerInfo.workerId} (${path.basename(workerInfo.url)})`,
      call: <T>(method: string, params: unknown = {}) => new Promise<T>((resolve) => {
        const id = ++next;
        waiting.set(`${sessionId} ${id}`, resolve as (r: unknown) => void);
        void i.call('NodeWorker.sendMessageToWorker', { sessionId, message: JSON.stringify({ id, method, params }) });
      }),
    });
  });
  await i.call('NodeWorker.enable', { waitForDebuggerOnStart: false });
  // The running workers are announced right after enable.
  await new Promise((r) => setTimeout(r, 200));
  return sessions;
}

/** A full, synchronous GC in the server (over its inspector), so memory reads show what is retained. */
export async function forceGc(s: Server): Promise<void> {
  const i = await inspector(s);
  await i.call('HeapProfiler.collectGarbage');
  i.close();
}

/**
 * --profile: the server's event loop is profiled during each measured step only (over the
 * inspector), so start-up, registration and warm-up are not in the figures.
 */
export async function profiled<T>(s: Server, label: string, fn: () => Promise<T>): Promise<T> {
  if (!profile || !s.inspector) return fn();
  const i = await inspector(s);
  const workers = await workerSessions(i);
  const threads: ThreadSession[] = [{ name: 'event loop', call: i.call }, ...workers];
  for (const t of threads) {
    await t.call('Profiler.enable');
    await t.call('Profiler.setSamplingInterval', { interval: 500 });
    await t.call('Profiler.start');
  }
  try {
    return await fn();
  } finally {
    const summaries: Record<string, ProfileSummary> = {};
    for (const t of threads) {
      const { profile: p } = await t.call<{ profile: Parameters<typeof summarise>[0] }>('Profiler.stop');
      summaries[t.name] = summarise(p);
      printSummary(summaries[t.name]!, `${label} ${t.name}`);
    }
    i.close();
    fs.writeFileSync(path.join(root, 'bench/results', `profile-${label.replace(/[^a-z0-9]+/gi, '-')}.json`), JSON.stringify({ label, date: new Date().toISOString(), summary: summaries['event loop'], workers: Object.fromEntries(Object.entries(summaries).filter(([k]) => k !== 'event loop')) }, null, 2) + '\n');
  }
}

export async function stopServer(s: Server, scenarioName?: string) {
  const gone = new Promise((r) => s.proc.on('exit', r));
  s.proc.kill('SIGTERM');
  await Promise.race([gone, new Promise((r) => setTimeout(r, 15_000))]);
  s.proc.kill('SIGKILL');
  if (s.dir) fs.rmSync(s.dir, { recursive: true, force: true });
  if (s.ownsDeployment && s.env) {
    const e = s.env;
    await dropDeployment({ mongodbUri: e.MONGODB_URI!, redisPrefix: e.CHAT_REDIS_PREFIX!, topics: [e.KAFKA_TOPIC!, e.KAFKA_DLQ_TOPIC!], groupId: e.KAFKA_GROUP_ID! })
      .catch((err: unknown) => console.log(`could not remove the bench deployment's data: ${(err as Error).message}`));
  }
  if (profile && scenarioName && s.target.startsWith('chatd')) {
    // <target>-<ms>: "chatd-" must not pick up "chatd-scaleout-".
    const dirs = fs.readdirSync(profileDir).filter((d) => new RegExp(`^${s.target}-\\d+$`).test(d)).sort();
    const dir = dirs.at(-1);
    const files = dir ? fs.readdirSync(path.join(profileDir, dir)).filter((f) => f.endsWith('.cpuprofile')) : [];
    if (files.length === 0) return console.log(`profile ${s.target}: no profile written`);
    const threads: Record<string, unknown> = {};
    for (const f of files.sort()) {
      const thread = f.split('.')[4] === '0' ? 'main' : `thread${f.split('.')[4]}`;
      const summary = summarise(JSON.parse(fs.readFileSync(path.join(profileDir, dir!, f), 'utf8')));
      printSummary(summary, `${scenarioName} ${s.target} ${thread} (${path.relative(root, path.join(profileDir, dir!, f))})`);
      threads[thread] = summary;
    }
    fs.writeFileSync(path.join(root, 'bench/results', `profile-${scenarioName}-${s.target}.json`), JSON.stringify({ scenario: scenarioName, target: s.target, date: new Date().toISOString(), threads }, null, 2) + '\n');
  }
}


export async function json<T>(url: string, init?: RequestInit): Promise<T> {
  const r = await fetch(url, init);
  if (!r.ok) throw new Error(`${url}: ${r.status} ${await r.text()}`);
  return (await r.json()) as T;
}

/** Users (pairs are friends) with their credentials; relays only need names. */
export async function users(s: Server, n: number, prefix = 'bench'): Promise<{ name: string; token: string }[]> {
  const list = Array.from({ length: n }, (_, i) => ({ name: `${prefix}${i}`, token: '' }));
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

export function loadgen(job: Job): { proc: ChildProcess; lines: AsyncIterable<string> } {
  const [cmd, argv] = pinned(1, tsx, [path.join(root, 'bench/loadgen.ts')]);
  const proc = spawn(cmd, argv, { stdio: ['pipe', 'pipe', 'inherit'] });
  // The job carries the users' tokens: on stdin, not in argv (readable by anyone in `ps`).
  proc.stdin!.write(JSON.stringify(job) + '\n');
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

export async function runLoad<T>(job: Job): Promise<T> {
  const { lines } = loadgen(job);
  for await (const l of lines) if (l.startsWith('{')) return JSON.parse(l) as T;
  throw new Error('loadgen gave no result');
}

export interface ServerMetrics { rss: number; heapUsed: number; cpuSeconds?: number; loopP99Ms?: number; loopMaxMs?: number; groupsUnder100ms?: number; groups?: number; grouped?: number; groupSeconds?: number; groupsUnder20ms?: number; walPages?: number }

export async function serverMetrics(s: Server): Promise<ServerMetrics> {
  if (!s.target.startsWith('chatd')) return json(`${s.url}/stats`);
  const text = await (await fetch(`${s.url}/metrics`)).text();
  const get = (name: string) => Number(new RegExp(`^${name} ([0-9.e+-]+)`, 'm').exec(text)?.[1] ?? NaN);
  return {
    rss: get('process_resident_memory_bytes'), cpuSeconds: get('process_cpu_seconds_total'), heapUsed: get('nodejs_heap_size_used_bytes'), loopP99Ms: loopDelayBeyondSampling(get('nodejs_eventloop_lag_p99_seconds') * 1e3), loopMaxMs: loopDelayBeyondSampling(get('nodejs_eventloop_lag_max_seconds') * 1e3),
    groups: get('chatd_pipeline_batch_size_count'), grouped: get('chatd_pipeline_batch_size_sum'), groupSeconds: get('chatd_pipeline_batch_seconds_sum'),
    groupsUnder20ms: get('chatd_pipeline_batch_seconds_bucket\\{le="0.02"\\}'),
    groupsUnder100ms: get('chatd_pipeline_batch_seconds_bucket\\{le="0.1"\\}'),
    walPages: get('chatd_sqlite_wal_pages'),
  };
}
