/**
 * npm run bench -- <dm|connections|persist|cli|all> [--quick] [--targets=a,b] [--rates=r1,r2] [--repeat=N] [--nodes=2] [--profile]
 *
 * dm runs every chatd target twice: sends with a clientMsgId, and without one. --nodes=2 adds two
 * chatd scale-out nodes of one deployment with every pair split across them (cross-node p99 at
 * half of one node's maximum, and CPU per message on both nodes against one node at that rate).
 *
 * --profile profiles chatd's event loop during each measured dm step (over the inspector), and runs
 * chatd under `node --cpu-prof` for whole-process, per-thread profiles; it prints where the CPU time went
 * (bench/profile.ts); the summary is written to bench/results/profile-<scenario>-<target>.json.
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
import { cpuPerDocText, loopDelayBeyondSampling } from './figures.js';
import { printSummary, summarise } from './profile.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const scenario = args.find((a) => !a.startsWith('--')) ?? 'all';
const hasTaskset = !process.env.CHAT_BENCH_NO_PIN && spawnSync('taskset', ['-c', '0', 'true']).status === 0 && os.cpus().length > 1;
const tsx = path.join(root, 'node_modules/.bin/tsx');
const profile = args.includes('--profile');
const profileDir = path.join(root, 'bench/results/profiles');

type Target = 'chatd' | 'chatd-scaleout' | 'socketio' | 'ws';
interface Server { target: Target; url: string; proc: ChildProcess; dir?: string; inspector?: string; env?: NodeJS.ProcessEnv }

function pinned(core: number, cmd: string, argv: string[]): [string, string[]] {
  return hasTaskset ? ['taskset', ['-c', String(core), cmd, ...argv]] : [cmd, argv];
}

/**
 * `inspect`: the server listens for the inspector on a loopback port, so the bench can force a
 * full GC before it reads memory (connections scenario); nothing else goes over it.
 */
async function startServer(target: Target, opts: { inspect?: boolean; shareWith?: Server } = {}): Promise<Server> {
  let cmd: string;
  let argv: string[];
  const inspect = opts.inspect ? ['--inspect=127.0.0.1:0'] : [];
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0', LOG_LEVEL: 'warn' };
  let dir: string | undefined;
  if (target === 'socketio' || target === 'ws') {
    // node --import tsx: one process, so node flags (the inspector) apply to the relay itself.
    [cmd, argv] = pinned(0, process.execPath, [...inspect, '--import', 'tsx', path.join(root, `bench/servers/${target === 'ws' ? 'ws' : 'socketio'}-relay.ts`)]);
  } else {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chat-bench-'));
    // One load generator on one address opens up to 10k connections for 100 users, 100 at a time:
    // the per-user and per-address caps are lifted for it (loopback only).
    Object.assign(env, { CHAT_DATA_DIR: dir, CHAT_AUTH_RATE_LIMIT: '1000000', CHAT_MESSAGE_RATE_LIMIT: '10000000', CHAT_MAX_SOCKETS_PER_USER: '1000000', CHAT_MAX_PENDING_CONNECTIONS: '1000000', LOG_LEVEL: 'info' });
    if (target === 'chatd') for (const k of ['MONGODB_URI', 'REDIS_URL', 'KAFKA_BROKERS']) delete env[k];
    else if (opts.shareWith?.env) Object.assign(env, opts.shareWith.env); // another node of the same deployment
    else {
      const id = `bench${Date.now().toString(36)}`;
      const u = new URL(process.env.MONGODB_URI!);
      u.pathname = `/${id}`;
      Object.assign(env, { MONGODB_URI: u.toString(), CHAT_REDIS_PREFIX: `${id}:`, KAFKA_TOPIC: `${id}.messages`, KAFKA_DLQ_TOPIC: `${id}.dlq`, KAFKA_GROUP_ID: `${id}-persister`, JWT_ACCESS_SECRET: `a-${id}-0123456789abcdef0123456789`, JWT_REFRESH_SECRET: `r-${id}-0123456789abcdef0123456789` });
    }
    // One profile per thread: CPU.<date>.<time>.<pid>.<thread id>.<n>.cpuprofile (thread 0 is the event loop).
    const prof = profile ? ['--cpu-prof', `--cpu-prof-dir=${path.join(profileDir, `${target}-${Date.now()}`)}`] : [];
    // CHAT_BENCH_NODE_FLAGS: extra node flags for chatd, e.g. "--trace-gc" (with CHAT_BENCH_SERVER_LOG).
    const flags = process.env.CHAT_BENCH_NODE_FLAGS?.split(' ').filter(Boolean) ?? [];
    [cmd, argv] = pinned(0, process.execPath, [...flags, ...prof, ...inspect, path.join(root, 'bin/chatd.js'), 'start', '--port', '0']);
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
  const shared = target === 'chatd-scaleout' ? { env: Object.fromEntries(['MONGODB_URI', 'CHAT_REDIS_PREFIX', 'KAFKA_TOPIC', 'KAFKA_DLQ_TOPIC', 'KAFKA_GROUP_ID', 'JWT_ACCESS_SECRET', 'JWT_REFRESH_SECRET'].map((k) => [k, env[k]])) } : {};
  return { target, url, proc, dir, ...(inspector ? { inspector } : {}), ...shared };
}

/** A session on a server's inspector (loopback): the bench's only way into the server process. */
async function inspector(s: Server) {
  if (!s.inspector) throw new Error(`${s.target} was not started with the inspector`);
  const { WebSocket } = await import('ws');
  const ws = new WebSocket(s.inspector, { maxPayload: 1 << 30 });
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  let next = 0;
  const waiting = new Map<number, (r: unknown) => void>();
  ws.on('message', (d) => {
    const m = JSON.parse(String(d)) as { id?: number; result?: unknown };
    if (m.id !== undefined) { waiting.get(m.id)?.(m.result); waiting.delete(m.id); }
  });
  return {
    call: <T>(method: string, params: unknown = {}) => new Promise<T>((resolve) => { const id = ++next; waiting.set(id, resolve as (r: unknown) => void); ws.send(JSON.stringify({ id, method, params })); }),
    close: () => ws.close(),
  };
}

/** A full, synchronous GC in the server (over its inspector), so memory reads show what is retained. */
async function forceGc(s: Server): Promise<void> {
  const i = await inspector(s);
  await i.call('HeapProfiler.collectGarbage');
  i.close();
}

/**
 * --profile: the server's event loop is profiled during each measured step only (over the
 * inspector), so start-up, registration and warm-up are not in the figures.
 */
async function profiled<T>(s: Server, label: string, fn: () => Promise<T>): Promise<T> {
  if (!profile || !s.inspector) return fn();
  const i = await inspector(s);
  await i.call('Profiler.enable');
  await i.call('Profiler.setSamplingInterval', { interval: 500 });
  await i.call('Profiler.start');
  try {
    return await fn();
  } finally {
    const { profile: p } = await i.call<{ profile: Parameters<typeof summarise>[0] }>('Profiler.stop');
    i.close();
    const summary = summarise(p);
    printSummary(summary, `${label} event loop`);
    fs.writeFileSync(path.join(root, 'bench/results', `profile-${label.replace(/[^a-z0-9]+/gi, '-')}.json`), JSON.stringify({ label, date: new Date().toISOString(), summary }, null, 2) + '\n');
  }
}

async function stopServer(s: Server, scenarioName?: string) {
  const gone = new Promise((r) => s.proc.on('exit', r));
  s.proc.kill('SIGTERM');
  await Promise.race([gone, new Promise((r) => setTimeout(r, 15_000))]);
  s.proc.kill('SIGKILL');
  if (s.dir) fs.rmSync(s.dir, { recursive: true, force: true });
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

/** Scale-out: how long after the last step the persister takes to store everything (consumer lag 0, failed store empty). */
async function drained(s: Server, token: string, label: string) {
  const t0 = Date.now();
  for (;;) {
    const st = await json<{ consumerLag: number | null; failedStore: number | null }>(`${s.url}/v1/admin/status`, { headers: { authorization: `Bearer ${token}` } }).catch(() => null);
    if (st && st.consumerLag === 0 && st.failedStore === 0) break;
    if (Date.now() - t0 > 120_000) { console.log(`dm ${label}: the store did not catch up within 120 s`); return null; }
    await new Promise((r) => setTimeout(r, 100));
  }
  const ms = Date.now() - t0;
  console.log(`dm ${label}: MongoDB caught up ${ms} ms after the last step`);
  return ms;
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

interface DmStep { offeredRate: number; sent: number; delivered: number; lost: number; dup: number; deliveredPerSec: number; e2eMs: { p50: number; p99: number; p999: number; max: number }; ackMs: { p50: number; p99: number }; loadgenLoopDelayP99Ms: number; loadgenCpuPct?: number }

interface ServerMetrics { rss: number; heapUsed: number; cpuSeconds?: number; loopP99Ms?: number; groups?: number; grouped?: number; groupSeconds?: number; groupsUnder20ms?: number; walPages?: number }

async function serverMetrics(s: Server): Promise<ServerMetrics> {
  if (!s.target.startsWith('chatd')) return json(`${s.url}/stats`);
  const text = await (await fetch(`${s.url}/metrics`)).text();
  const get = (name: string) => Number(new RegExp(`^${name} ([0-9.e+-]+)`, 'm').exec(text)?.[1] ?? NaN);
  return {
    rss: get('process_resident_memory_bytes'), cpuSeconds: get('process_cpu_seconds_total'), heapUsed: get('nodejs_heap_size_used_bytes'), loopP99Ms: loopDelayBeyondSampling(get('nodejs_eventloop_lag_p99_seconds') * 1e3),
    groups: get('chatd_pipeline_group_size_count'), grouped: get('chatd_pipeline_group_size_sum'), groupSeconds: get('chatd_pipeline_group_seconds_sum'),
    groupsUnder20ms: get('chatd_pipeline_group_seconds_bucket\\{le="0.02"\\}'),
    walPages: get('chatd_sqlite_wal_pages'),
  };
}

/** CPU ticks (user + system) of each thread of a process, from /proc; empty where there is no /proc. */
function threadTicks(pid: number | undefined): Map<string, number> {
  const out = new Map<string, number>();
  if (!pid) return out;
  try {
    for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
      const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(tid, Number(f[11]) + Number(f[12]));
    }
  } catch {
    // The process is gone or this is not Linux.
  }
  return out;
}
/**
 * The engines' processes on this machine (scale-out runs them beside chatd): CPU ticks of each
 * kind, summed over its processes (PostgreSQL runs one per connection), from /proc.
 */
const ENGINES: [string, RegExp][] = [['redis', /^redis-server/], ['kafka', /kafka\.Kafka/], ['ferretdb', /(^|\/)ferretdb\b/], ['postgres', /^postgres/]];
function engineTicks(): Map<string, number> {
  const out = new Map<string, number>();
  let pids: string[] = [];
  try { pids = fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)); } catch { return out; }
  for (const pid of pids) {
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      const kind = ENGINES.find(([, re]) => re.test(cmd) || re.test(cmd.split(' ').slice(1).join(' ')))?.[0];
      if (!kind) continue;
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(kind, (out.get(kind) ?? 0) + Number(f[11]) + Number(f[12]));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}
/** Engine CPU per message during a step, µs by engine (processes that ended meanwhile are not counted). */
function engineSplit(a: Map<string, number>, b: Map<string, number>, sent: number) {
  if (a.size === 0 || sent === 0) return {};
  const us = (ticks: number) => Math.round((ticks / CLK_TCK / sent) * 1e7) / 10;
  return { engineCpuUsPerMsg: Object.fromEntries([...b].map(([k, t]) => [k, us(Math.max(0, t - (a.get(k) ?? 0)))])) };
}
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK']).stdout?.toString().trim()) || 100;

/**
 * Server CPU per message by thread during a step: the event loop (the main thread), the busiest
 * other thread (chatd's SQLite writer when embedded) and all the rest (GC helpers, libuv pool).
 */
function threadSplit(pid: number | undefined, a: Map<string, number>, b: Map<string, number>, sent: number) {
  if (!pid || a.size === 0 || b.size === 0 || sent === 0) return {};
  const us = (ticks: number) => Math.round((ticks / CLK_TCK / sent) * 1e7) / 10;
  const deltas = [...b].map(([tid, t]) => [tid, t - (a.get(tid) ?? 0)] as const);
  const main = deltas.find(([tid]) => tid === String(pid))?.[1] ?? 0;
  const others = deltas.filter(([tid]) => tid !== String(pid)).map(([, d]) => d).sort((x, y) => y - x);
  return { serverCpuUsPerMsgByThread: { eventLoop: us(main), busiestOther: us(others[0] ?? 0), rest: us(others.slice(1).reduce((s, d) => s + d, 0)) } };
}

/** Group commit (or produce) during a step: mean group size and mean time per group. */
function groupStats(a: ServerMetrics | null, b: ServerMetrics | null): { groups?: number; meanGroupSize?: number; meanGroupMs?: number; groupsOver20ms?: number } {
  if (!a?.groups || !b?.groups || b.groups === a.groups) return {};
  const n = b.groups - a.groups;
  // Groups that took over 20 ms to commit: every message in one waits that long for its ack.
  const slow = n - (b.groupsUnder20ms! - a.groupsUnder20ms!);
  return { groups: n, meanGroupSize: Math.round(((b.grouped! - a.grouped!) / n) * 10) / 10, meanGroupMs: Math.round(((b.groupSeconds! - a.groupSeconds!) / n) * 1e5) / 100, ...(Number.isNaN(slow) ? {} : { groupsOver20ms: slow }) };
}

type DmRun = Record<string, { maxRate: number; p99AtMaxMs: number | null; steps: (DmStep & { serverLoopP99Ms?: number; serverCpuUsPerMsg?: number })[]; storeCaughtUpMs?: number | null }>;

const median = (xs: number[]) => { const a = [...xs].sort((x, y) => x - y); return a[Math.floor((a.length - 1) / 2)]!; };

/**
 * --repeat=N runs every target N times (interleaved, so drift hits all alike). The ratio is
 * taken within each run, against that run's relay; the record keeps every run's maxima, the
 * median ratio, and the full steps of the run whose ratio is the median.
 */
async function dmScenario(targets: Target[]) {
  const repeat = Number(args.find((a) => a.startsWith('--repeat='))?.slice('--repeat='.length) ?? 1);
  const runs: { out: DmRun; ratio: number | null; atGoal?: unknown }[] = [];
  let settings: unknown;
  for (let i = 0; i < repeat; i++) {
    if (repeat > 1) console.log(`== dm run ${i + 1} of ${repeat}`);
    const r = await dmRun(targets);
    settings = r.settings;
    runs.push({ out: r.out, ratio: r.ratio, atGoal: r.atGoal });
  }
  const ratios = runs.map((r) => r.ratio).filter((x): x is number => x !== null);
  const mid = ratios.length ? median(ratios) : null;
  const chosen = runs.find((r) => r.ratio === mid) ?? runs[0]!;
  const repeats = runs.map((r) => ({ ...Object.fromEntries(Object.entries(r.out).map(([t, v]) => [t, { maxRate: v.maxRate, p99AtMaxMs: v.p99AtMaxMs }])), ratioToSocketio: r.ratio, atTargetRate: r.atGoal }));
  if (repeat > 1) console.log(`dm ratioToSocketio per run: ${ratios.join(', ')}; median ${mid}`);
  return { ...chosen.out, ratioToSocketio: mid, atTargetRate: chosen.atGoal, repeats, settings };
}

/** chatd and the relay at the issue's target rate, 0.6x the relay's maximum. chatdP99Ms is null when chatd lost or duplicated a message there. */
interface AtGoal {
  rate: number;
  chatdP99Ms: number | null;
  socketioP99Ms: number | null;
  met: boolean;
  /** 'steps': chatd's own stepping reached the rate; 'ramp': it failed earlier and was run again up to it. */
  chatdMeasuredBy: 'steps' | 'ramp';
  chatd?: { p99Ms: number; deliveredPerSec: number; lost: number; dup: number };
}

async function dmRun(targets: Target[]) {
  const rates = onlyRates ?? (quick ? [100, 200] : [500, 1000, 2000, 3000, 4000, 5000, 6000, 8000, 10000, 11000, 12000, 13000, 14000, 15000, 16000, 18000, 20000, 22000, 24000, 26000, 28000, 30000, 32000, 36000]);
  const durationMs = quick ? 1500 : 5000;
  // Each step is a fresh load generator process: its first second (cold JIT, first packets on
  // every socket) runs at the step's rate but is not recorded, for every target alike.
  const warmupMs = quick ? 200 : 1000;
  const pairs = quick ? 4 : 50;
  const out: DmRun = {};
  // The issue's target point: 0.6x the relay's maximum (known once the relay has run, and it runs first).
  const goalOf = () => (out.socketio?.maxRate ? Math.round((0.6 * out.socketio.maxRate) / 100) * 100 : undefined);
  /**
   * One target stepped through `grid`. `clientMsgIds: false`: chatd sends without one (the path
   * without dedupe). `nodes: 2`: two chatd nodes of one deployment, every pair split across them
   * (user 2p on the first node, 2p+1 on the second), so every message crosses nodes.
   */
  const stepsFor = async (target: Target, grid: number[], stopAtFailure: boolean, variant: { clientMsgIds?: boolean; nodes?: number; label?: string } = {}) => {
    const label = variant.label ?? target;
    const first = await startServer(target, { inspect: profile });
    const servers = [first];
    try {
      for (let n = 1; n < (variant.nodes ?? 1); n++) servers.push(await startServer(target, { shareWith: first }));
      const list = (await users(first, pairs * 2)).map((u, i) => ({ ...u, url: servers[i % servers.length]!.url }));
      const job = { mode: 'dm' as const, target: target === 'chatd-scaleout' ? 'chatd' as const : target, url: first.url, users: list, textBytes: 64, ...(variant.clientMsgIds === false ? { clientMsgIds: false } : {}) };
      // Warm-up, not recorded: first messages pay one-off costs (JIT, friendship and seq lookups).
      await runLoad<DmStep>({ ...job, rate: Math.min(grid[0]!, 200), durationMs: quick ? 500 : 2000 });
      const steps: (DmStep & { serverLoopP99Ms?: number; serverCpuUsPerMsg?: number })[] = [];
      let maxRate = 0;
      let p99AtMax: number | null = null;
      let before = await Promise.all(servers.map((x) => serverMetrics(x).catch(() => null)));
      // chatd runs as node itself (taskset execs it); the relays run under tsx, whose pid is a launcher.
      const serverPid = target.startsWith('chatd') && servers.length === 1 ? first.proc.pid : undefined;
      let ticks = threadTicks(serverPid);
      let engines = target === 'chatd-scaleout' ? engineTicks() : new Map<string, number>();
      for (const rate of grid) {
        const r = await profiled(first, `dm ${label} ${rate}`, () => runLoad<DmStep>({ ...job, rate, durationMs, warmupMs }));
        const m = await Promise.all(servers.map((x) => serverMetrics(x).catch(() => null)));
        const ticksAfter = threadTicks(serverPid);
        const byThread = threadSplit(serverPid, ticks, ticksAfter, r.sent);
        ticks = ticksAfter;
        const enginesAfter = target === 'chatd-scaleout' ? engineTicks() : engines;
        const byEngine = engineSplit(engines, enginesAfter, r.sent);
        engines = enginesAfter;
        const g = groupStats(before[0]!, m[0]!);
        // Server CPU (all threads) per message sent: what each message costs the server (with two
        // nodes, the sum of both, and each node's share).
        const cpuOf = (i: number) => { const a = before[i]?.cpuSeconds; const b = m[i]?.cpuSeconds; return a !== undefined && b !== undefined && r.sent > 0 ? Math.round(((b - a) / r.sent) * 1e7) / 10 : undefined; };
        const perNode = servers.map((_, i) => cpuOf(i));
        const cpuUsPerMsg = perNode.every((x) => x !== undefined) ? Math.round(perNode.reduce((a, b) => a! + b!, 0)! * 10) / 10 : undefined;
        const nodesCpu = servers.length > 1 ? { serverCpuUsPerMsgByNode: perNode } : {};
        before = m;
        // The embedded store's WAL length at its last checkpoint (checkpoints run on their own thread).
        const wal = m[0]?.walPages !== undefined && !Number.isNaN(m[0].walPages) ? { walPagesAtCheckpoint: m[0].walPages } : {};
        steps.push({ ...r, ...wal, ...(m[0]?.loopP99Ms !== undefined ? { serverLoopP99Ms: m[0].loopP99Ms } : {}), ...(cpuUsPerMsg !== undefined ? { serverCpuUsPerMsg: cpuUsPerMsg } : {}), ...nodesCpu, ...byThread, ...byEngine, ...g });
        const pass = r.lost === 0 && r.dup === 0 && r.e2eMs.p99 <= 100;
        console.log(`dm ${label.padEnd(15)} rate ${String(rate).padStart(6)}/s  delivered ${String(r.deliveredPerSec).padStart(6)}/s  p50 ${r.e2eMs.p50}ms p99 ${r.e2eMs.p99}ms p99.9 ${r.e2eMs.p999}ms max ${r.e2eMs.max}ms  ack p99 ${r.ackMs.p99}ms  lost ${r.lost} dup ${r.dup}  loadgen loop p99 ${r.loadgenLoopDelayP99Ms}ms cpu ${r.loadgenCpuPct}%${cpuUsPerMsg !== undefined ? `  server CPU ${cpuUsPerMsg}us/msg` : ''}${servers.length > 1 ? ` (by node ${perNode.join(' + ')})` : ''}${byThread.serverCpuUsPerMsgByThread ? ` (loop ${byThread.serverCpuUsPerMsgByThread.eventLoop}, next thread ${byThread.serverCpuUsPerMsgByThread.busiestOther}, rest ${byThread.serverCpuUsPerMsgByThread.rest})` : ''}${byEngine.engineCpuUsPerMsg ? `  engines ${Object.entries(byEngine.engineCpuUsPerMsg).map(([k, v]) => `${k} ${v}`).join(', ')}us/msg` : ''}${g.groups ? `  groups ${g.groups} × ${g.meanGroupSize} msg, ${g.meanGroupMs}ms each, ${g.groupsOver20ms ?? '?'} over 20ms` : ''}${wal.walPagesAtCheckpoint !== undefined ? `, WAL ${wal.walPagesAtCheckpoint} pages` : ''}${pass ? '' : '  ✗'}`);
        if (!pass && stopAtFailure) break;
        if (!pass) continue;
        maxRate = rate;
        p99AtMax = r.e2eMs.p99;
      }
      const storeCaughtUpMs = target === 'chatd-scaleout' ? await drained(first, list[0]!.token, label) : undefined;
      return { maxRate, p99AtMaxMs: p99AtMax, steps, ...(storeCaughtUpMs !== undefined ? { storeCaughtUpMs } : {}) };
    } finally {
      for (const x of servers.slice(1)) await stopServer(x);
      await stopServer(first, 'dm');
    }
  };
  for (const target of targets) {
    const goal = target === 'chatd' ? goalOf() : undefined;
    // chatd also steps through the target point itself.
    const grid = goal && !rates.includes(goal) ? [...rates, goal].sort((a, b) => a - b) : rates;
    out[target] = await stepsFor(target, grid, true);
  }
  // The same chatd targets with sends that carry no clientMsgId (what many clients send).
  for (const target of targets.filter((t) => t.startsWith('chatd'))) {
    out[`${target}:no-clientMsgId`] = await stepsFor(target, rates, true, { clientMsgIds: false, label: `${target}:no-id` });
  }
  // Two scale-out nodes, every pair split across them: cross-node delivery at half of one node's
  // maximum, and the CPU both nodes spend per message against one node's at that rate.
  if (nodes > 1 && out['chatd-scaleout']) {
    // One node's maximum: the better of its two runs (with and without clientMsgId); when neither
    // passed a step, half of the lowest step.
    const oneMax = Math.max(out['chatd-scaleout'].maxRate, out['chatd-scaleout:no-clientMsgId']?.maxRate ?? 0) || rates[0]!;
    const half = Math.max(50, Math.round(oneMax / 2 / 50) * 50);
    const ramp = [...new Set([Math.round(half / 2), half])];
    const two = await stepsFor('chatd-scaleout', ramp, false, { nodes, label: `scaleout x${nodes}` });
    const one = await stepsFor('chatd-scaleout', [half], false, { label: 'scaleout x1' });
    const at = two.steps.find((x) => x.offeredRate === half);
    const oneAt = one.steps[0];
    const nodesOut = {
      rate: half, crossNodeP99Ms: at?.e2eMs.p99 ?? null, lost: at?.lost, dup: at?.dup, cpuUsPerMsgBothNodes: at?.serverCpuUsPerMsg, cpuUsPerMsgOneNode: oneAt?.serverCpuUsPerMsg,
      cpuRatio: at?.serverCpuUsPerMsg && oneAt?.serverCpuUsPerMsg ? Math.round((at.serverCpuUsPerMsg / oneAt.serverCpuUsPerMsg) * 100) / 100 : null,
      targets: { crossNodeP99Ms: '<= 50', cpuRatio: '<= 1.2' },
    };
    (out as Record<string, unknown>)[`chatd-scaleout-x${nodes}`] = { ...two, summary: nodesOut };
    console.log(`dm ${nodes} nodes at half of one node's maximum (${half}/s): cross-node p99 ${nodesOut.crossNodeP99Ms} ms (target <= 50), lost ${at?.lost} dup ${at?.dup}; server CPU ${nodesOut.cpuUsPerMsgBothNodes} us/msg on both nodes against ${nodesOut.cpuUsPerMsgOneNode} on one (ratio ${nodesOut.cpuRatio}, target <= 1.2)`);
  }
  const ratio = out.chatd && out.socketio?.maxRate ? Math.round((out.chatd.maxRate / out.socketio.maxRate) * 100) / 100 : null;
  // At the target point, the relay's own p99 too (a short ramp, then that rate), so chatd's p99
  // there reads against what the bare stack does at the same rate on this machine.
  const goal = goalOf();
  let atGoal: AtGoal | undefined;
  if (goal && out.chatd && !onlyRates) {
    const ramp = [...new Set([Math.round(goal / 4), Math.round(goal / 2), goal])];
    const relay = await stepsFor('socketio', ramp, false);
    const stepAt = (steps: DmStep[]) => steps.find((x) => x.offeredRate === goal);
    const p99At = (steps: DmStep[]) => { const x = stepAt(steps); return x && x.lost === 0 && x.dup === 0 ? x.e2eMs.p99 : null; };
    // When chatd failed a lower step, its stepping stopped there: it is run again up to the target
    // rate the same way as the relay, so the record says what happens at that rate, not only that
    // it was not reached.
    const measuredBy = stepAt(out.chatd.steps) ? 'steps' : 'ramp';
    const chatdStep = stepAt(out.chatd.steps) ?? stepAt((await stepsFor('chatd', ramp, false)).steps);
    const chatdP99 = chatdStep && chatdStep.lost === 0 && chatdStep.dup === 0 ? chatdStep.e2eMs.p99 : null;
    atGoal = {
      rate: goal, chatdP99Ms: chatdP99, socketioP99Ms: p99At(relay.steps), met: chatdP99 !== null && chatdP99 <= 50, chatdMeasuredBy: measuredBy,
      ...(chatdStep ? { chatd: { p99Ms: chatdStep.e2eMs.p99, deliveredPerSec: chatdStep.deliveredPerSec, lost: chatdStep.lost, dup: chatdStep.dup } } : {}),
    };
    const chatdText = chatdStep ? `p99 ${chatdStep.e2eMs.p99} ms, lost ${chatdStep.lost}, dup ${chatdStep.dup}${measuredBy === 'ramp' ? ' (run again up to that rate)' : ''}` : 'not measured';
    console.log(`dm at 0.6x the relay's maximum (${goal}/s): chatd ${chatdText}, bare Socket.IO relay p99 ${atGoal.socketioP99Ms ?? 'failed'} ms; target p99 <= 50 ms ${atGoal.met ? 'met' : 'not met'}`);
  }
  return { out, ratio, atGoal, settings: { rates, durationMs, warmupMs, pairs, textBytes: 64, passRule: 'p99 <= 100 ms, no loss, no duplicate' } };
}

async function connectionsScenario(targets: Target[]) {
  const counts = quick ? [200] : [1000, 5000, 10000];
  const out: Record<string, { count: number; connectPerSec: number; rssPerConnKB: number; heapPerConnKB: number; rssMB: number; afterGc: { rssPerConnKB: number; heapPerConnKB: number; rssMB: number } }[]> = {};
  for (const target of targets) {
    out[target] = [];
    for (const count of counts) {
      const s = await startServer(target, { inspect: true });
      try {
        const list = await users(s, quick ? 10 : 100);
        await new Promise((r) => setTimeout(r, 500));
        const before = await serverMetrics(s);
        await forceGc(s);
        const beforeGc = await serverMetrics(s);
        const { proc, lines } = loadgen({ mode: 'connect', target: target === 'chatd-scaleout' ? 'chatd' : target, url: s.url, users: list, count });
        let res: { connected: number; connectPerSec: number } | undefined;
        for await (const l of lines) if (l.startsWith('{')) { res = JSON.parse(l); break; }
        await new Promise((r) => setTimeout(r, 2000));
        const after = await serverMetrics(s);
        // The same after a full GC: what the idle connections retain, without handshake garbage.
        await forceGc(s);
        await new Promise((r) => setTimeout(r, 500));
        const afterGc = await serverMetrics(s);
        proc.stdin!.end();
        await new Promise((r) => proc.on('exit', r));
        const perConn = (a: number, b: number) => Math.round(((b - a) / count / 1024) * 10) / 10;
        const row = {
          count, connectPerSec: res!.connectPerSec, rssPerConnKB: perConn(before.rss, after.rss), heapPerConnKB: perConn(before.heapUsed, after.heapUsed), rssMB: Math.round(after.rss / 1048576),
          afterGc: { rssPerConnKB: perConn(beforeGc.rss, afterGc.rss), heapPerConnKB: perConn(beforeGc.heapUsed, afterGc.heapUsed), rssMB: Math.round(afterGc.rss / 1048576) },
        };
        out[target].push(row);
        console.log(`connections ${target.padEnd(15)} ${String(count).padStart(6)}: connect ${row.connectPerSec}/s  RSS ${row.rssPerConnKB} KB/conn  heap ${row.heapPerConnKB} KB/conn  total RSS ${row.rssMB} MB; after a full GC: RSS ${row.afterGc.rssPerConnKB} KB/conn  heap ${row.afterGc.heapPerConnKB} KB/conn`);
      } finally {
        await stopServer(s);
      }
    }
  }
  return out;
}

interface FloodResult { total: number; acked: number; failed: number; seconds: number; ackedPerSec: number; ackMs: { p50: number; p99: number } }

/**
 * Send to stored row. Closed loop: 20 users in pairs keep 500 sends in flight in all, as fast
 * as acks return. Embedded: an ack means the row is committed, so acks/s is the figure.
 * Scale-out: the clock stops when the consumer has no lag and the failed store is empty,
 * that is when every acked message is a row in MongoDB. Then the pipeline alone: records
 * produced to Kafka beforehand, drained into MongoDB by chatd's persister.
 */
async function persistScenario(targets: Target[]) {
  const total = quick ? 500 : 20_000;
  const out: Record<string, unknown> = {};
  for (const target of targets.filter((t) => t.startsWith('chatd'))) {
    const s = await startServer(target);
    try {
      const list = await users(s, 20);
      const admin = list[0]!.token;
      const t0 = Date.now();
      const r = await runLoad<FloodResult>({ mode: 'flood', target: 'chatd', url: s.url, users: list, total, inflight: 500, textBytes: 64 });
      const ackSeconds = (Date.now() - t0) / 1000;
      let measuredTo = 'ack (committed to SQLite)';
      if (target === 'chatd-scaleout') {
        measuredTo = 'consumer lag 0 and failed store empty (rows in MongoDB)';
        for (;;) {
          const st = await json<{ consumerLag: number | null; failedStore: number | null }>(`${s.url}/v1/admin/status`, { headers: { authorization: `Bearer ${admin}` } });
          if (st.consumerLag === 0 && st.failedStore === 0) break;
          await new Promise((res) => setTimeout(res, 100));
        }
      }
      const seconds = (Date.now() - t0) / 1000;
      const row = { messages: r.acked, failed: r.failed, perSec: Math.round(r.acked / seconds), seconds: Math.round(seconds * 100) / 100, ackedPerSec: Math.round(r.acked / ackSeconds), ackMs: r.ackMs, measuredTo };
      out[target] = row;
      console.log(`persist ${target.padEnd(15)} ${r.acked} messages (${r.failed} refused) in ${row.seconds}s = ${row.perSec}/s stored; acks ${row.ackedPerSec}/s, ack p50 ${r.ackMs.p50}ms p99 ${r.ackMs.p99}ms (${measuredTo})`);
    } finally {
      await stopServer(s, 'persist');
    }
  }
  if (targets.includes('chatd-scaleout')) {
    const { persistPipeline, rawInsertCeiling } = await import('./persist-pipeline.js');
    const total = quick ? 2000 : 100_000;
    const raw = await rawInsertCeiling({ total, conversations: 50, batchSize: 5000 });
    out['mongodb-raw-insert'] = raw;
    console.log(`persist mongodb-raw-insert ${raw.messages} documents bulk-inserted straight through the driver by ${raw.writers} writers in ${raw.seconds}s = ${raw.perSec}/s (the engine's ceiling here)${raw.cpuUsPerDoc ? `; ${cpuPerDocText(raw.cpuUsPerDoc)}` : ''}`);
    const r = await persistPipeline({ total, conversations: 50, batchSize: 5000, partitions: 6 });
    out['kafka-to-mongodb'] = { ...r, ratioToRawInsert: Math.round((r.perSec / raw.perSec) * 100) / 100 };
    console.log(`persist kafka-to-mongodb ${r.messages} records produced in ${r.produceSeconds}s, drained into MongoDB in ${r.drainSeconds}s = ${r.perSec}/s (rows counted ${r.stored}), ${Math.round((r.perSec / raw.perSec) * 100)}% of the raw insert ceiling`);
  }
  return out;
}

/**
 * How long `chat` takes to start and finish, which is what a shell script pays per call: `chat
 * --help`, `chat whoami` and `chat send` against `node -e 0` (the floor), timed in turns in the
 * same run, medians and ratios to the floor.
 */
async function cliScenario() {
  const s = await startServer('chatd');
  try {
    const [a, b] = await users(s, 2);
    const cfg = fs.mkdtempSync(path.join(os.tmpdir(), 'chat-bench-cli-'));
    const chat = path.join(root, 'bin/chat.js');
    const env = { ...process.env, CHAT_SERVER: s.url, CHAT_CONFIG_DIR: cfg };
    const login = spawnSync(process.execPath, [chat, 'login', a!.name, '--password-stdin'], { env, input: 'bench-password\n' });
    if (login.status !== 0) throw new Error(`chat login failed: ${login.stderr.toString()}`);
    const commands: Record<string, string[]> = {
      'node -e 0': ['-e', '0'],
      'chat --help': [chat, '--help'],
      'chat whoami': [chat, 'whoami'],
      'chat send': [chat, 'send', b!.name, 'bench message'],
    };
    const runs = quick ? 3 : 15;
    const times: Record<string, number[]> = Object.fromEntries(Object.keys(commands).map((k) => [k, []]));
    for (let i = 0; i < runs; i++) {
      for (const [name, argv] of Object.entries(commands)) {
        const t0 = performance.now();
        const r = spawnSync(process.execPath, argv, { env, stdio: ['ignore', 'ignore', 'pipe'] });
        const ms = performance.now() - t0;
        if (r.status !== 0) throw new Error(`${name} exited ${r.status}: ${r.stderr.toString()}`);
        times[name]!.push(ms);
      }
    }
    const floor = median(times['node -e 0']!);
    const out: Record<string, { medianMs: number; ratioToNode: number; runs: number }> = {};
    for (const [name, t] of Object.entries(times)) {
      const m = median(t);
      out[name] = { medianMs: Math.round(m), ratioToNode: Math.round((m / floor) * 100) / 100, runs: t.length };
      console.log(`cli ${name.padEnd(12)} median ${Math.round(m)} ms  ${out[name]!.ratioToNode}x node -e 0  (${t.length} runs)`);
    }
    return { commands: out, targets: { help: '<= 2x node -e 0', send: '<= 4x node -e 0' } };
  } finally {
    await stopServer(s);
  }
}

const scaleout = !!(process.env.MONGODB_URI && process.env.REDIS_URL && process.env.KAFKA_BROKERS);
const only = args.find((a) => a.startsWith('--targets='))?.slice('--targets='.length).split(',') as Target[] | undefined;
const targets: Target[] = only ?? ['socketio', 'ws', 'chatd', ...(scaleout ? ['chatd-scaleout' as const] : [])];
const nodes = Number(args.find((a) => a.startsWith('--nodes='))?.slice('--nodes='.length) ?? 1);
const onlyRates = args.find((a) => a.startsWith('--rates='))?.slice('--rates='.length).split(',').map(Number);
const machine = { cores: os.cpus().length, cpu: os.cpus()[0]?.model, memGB: Math.round(os.totalmem() / 1e9), node: process.version, taskset: hasTaskset, quick };
const scenarios = scenario === 'all' ? ['dm', 'connections', 'persist', 'cli'] : [scenario];
fs.mkdirSync(path.join(root, 'bench/results'), { recursive: true });
if (profile) fs.mkdirSync(profileDir, { recursive: true });
for (const name of scenarios) {
  const run = name === 'dm' ? dmScenario : name === 'connections' ? connectionsScenario : name === 'persist' ? persistScenario : name === 'cli' ? cliScenario : null;
  if (!run) { console.error(`unknown scenario ${name}: dm, connections, persist, cli or all`); process.exit(2); }
  console.log(`== ${name}${quick ? ' (quick)' : ''} on ${machine.cores} cores, ${machine.node}; targets: ${targets.join(', ')}`);
  const result = await run(targets);
  // A partial run (some targets or rates only) never overwrites the full record.
  const file = path.join(root, 'bench/results', `${name}${quick ? '.quick' : only || onlyRates ? '.probe' : ''}.json`);
  fs.writeFileSync(file, JSON.stringify({ scenario: name, date: new Date().toISOString(), machine, ...result }, null, 2) + '\n');
  console.log(`wrote ${path.relative(root, file)}`);
}
process.exit(0);
