/** CPU per message from /proc: the server's threads, and the co-located engines' processes. */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import type { ServerMetrics } from './server.js';

/** CPU ticks of each thread of a process (user + system, and system alone), from /proc; empty where there is no /proc. */
export function threadTicks(pid: number | undefined): Map<string, { all: number; sys: number }> {
  const out = new Map<string, { all: number; sys: number }>();
  if (!pid) return out;
  try {
    for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
      const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(tid, { all: Number(f[11]) + Number(f[12]), sys: Number(f[12]) });
    }
  } catch {
    // The process is gone or this is not Linux.
  }
  return out;
}
/**
 * The engines' processes on this machine (scale-out runs them beside chatd), by command line.
 * OpenSearch is one since scale-out searches: with OPENSEARCH_URL set, each node's search feeder
 * indexes every message there, and its JVM's CPU is the deployment's, not a competing workload's.
 */
export const ENGINES: [string, RegExp][] = [['redis', /^redis-server/], ['kafka', /kafka\.Kafka/], ['ferretdb', /(^|\/)ferretdb\b/], ['postgres', /^postgres/], ['opensearch', /org\.opensearch\.bootstrap\.OpenSearch\b/]];

/** Which engine a process is, from its command line (arguments joined by spaces), if one. */
export function engineOf(cmd: string): string | undefined {
  return ENGINES.find(([, re]) => re.test(cmd) || re.test(cmd.split(' ').slice(1).join(' ')))?.[0];
}

/** Every user process on the machine (kernel threads left out): its CPU ticks and which engine it is, if one. */
function processes(): { pid: number; ticks: number; engine?: string }[] {
  const out: { pid: number; ticks: number; engine?: string }[] = [];
  let pids: string[] = [];
  try { pids = fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)); } catch { return out; }
  for (const pid of pids) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (f[1] === '2' || pid === '2') continue; // a kernel thread (child of kthreadd)
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      const engine = engineOf(cmd);
      out.push({ pid: Number(pid), ticks: Number(f[11]) + Number(f[12]), ...(engine ? { engine } : {}) });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** CPU ticks of each kind of engine, summed over its processes (PostgreSQL runs one per connection), from /proc. */
export function engineTicks(): Map<string, number> {
  const out = new Map<string, number>();
  for (const p of processes()) if (p.engine) out.set(p.engine, (out.get(p.engine) ?? 0) + p.ticks);
  return out;
}
/**
 * CPU ticks of every user process on the machine, by pid, except `exclude` (the server under
 * test, the load generator) and the engines: work that competes with the bench. Kernel threads
 * are left out (loopback networking runs partly in them, and it is the bench's own traffic).
 */
export function otherTicks(exclude: Set<number>): Map<number, number> {
  return new Map(processes().filter((p) => !p.engine && !exclude.has(p.pid)).map((p) => [p.pid, p.ticks]));
}
/** Ticks the other processes used between two readings: a process that started meanwhile counts whole, one that ended is not seen after it. */
export function otherTicksBetween(a: Map<number, number>, b: Map<number, number>): number {
  let sum = 0;
  for (const [pid, t] of b) sum += Math.max(0, t - (a.get(pid) ?? 0));
  return sum;
}
/** Ticks the hypervisor took from this machine's CPUs for other guests (steal time, all CPUs together), from /proc/stat. */
export function stealTicks(): number {
  try {
    const f = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/);
    return Number(f[8] ?? NaN);
  } catch {
    return NaN;
  }
}
/** Engine CPU per message during a step, µs by engine (processes that ended meanwhile are not counted). */
export function engineSplit(a: Map<string, number>, b: Map<string, number>, sent: number) {
  if (a.size === 0 || sent === 0) return {};
  const us = (ticks: number) => Math.round((ticks / CLK_TCK / sent) * 1e7) / 10;
  return { engineCpuUsPerMsg: Object.fromEntries([...b].map(([k, t]) => [k, us(Math.max(0, t - (a.get(k) ?? 0)))])) };
}
export const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK']).stdout?.toString().trim()) || 100;

/**
 * Server CPU per message by thread during a step: the event loop (the main thread), the busiest
 * other thread (chatd's SQLite writer when embedded) and all the rest (GC helpers, libuv pool);
 * for the first two also the kernel's part (system time: the loop's socket reads and writes, the
 * writer's WAL writes and fsyncs).
 */
export function threadSplit(pid: number | undefined, a: Map<string, { all: number; sys: number }>, b: Map<string, { all: number; sys: number }>, sent: number) {
  if (!pid || a.size === 0 || b.size === 0 || sent === 0) return {};
  const us = (ticks: number) => Math.round((ticks / CLK_TCK / sent) * 1e7) / 10;
  const deltas = [...b].map(([tid, t]) => [tid, t.all - (a.get(tid)?.all ?? 0), t.sys - (a.get(tid)?.sys ?? 0)] as const);
  const main = deltas.find(([tid]) => tid === String(pid)) ?? ['', 0, 0];
  const others = deltas.filter(([tid]) => tid !== String(pid)).sort((x, y) => y[1] - x[1]);
  const next = others[0] ?? ['', 0, 0];
  return {
    serverCpuUsPerMsgByThread: {
      eventLoop: us(main[1]), busiestOther: us(next[1]), rest: us(others.slice(1).reduce((s, d) => s + d[1], 0)),
      eventLoopSys: us(main[2]), busiestOtherSys: us(next[2]),
    },
  };
}

/** How a step's line shows the split: `loop 33.4 (sys 6.5), next thread 15.1 (sys 3.9), rest 2.2`. */
export function threadSplitText(t: { eventLoop: number; busiestOther: number; rest: number; eventLoopSys?: number; busiestOtherSys?: number }): string {
  const sys = (v: number | undefined) => (v === undefined ? '' : ` (sys ${v})`);
  return `loop ${t.eventLoop}${sys(t.eventLoopSys)}, next thread ${t.busiestOther}${sys(t.busiestOtherSys)}, rest ${t.rest}`;
}

/** Group commit (or produce) during a step: mean group size and mean time per group. */
export function groupStats(a: ServerMetrics | null, b: ServerMetrics | null): { groups?: number; meanGroupSize?: number; meanGroupMs?: number; groupsOver20ms?: number; groupsOver100ms?: number } {
  if (!a?.groups || !b?.groups || b.groups === a.groups) return {};
  const n = b.groups - a.groups;
  // Groups that took over 20 ms to commit: every message in one waits that long for its ack.
  const slow = n - (b.groupsUnder20ms! - a.groupsUnder20ms!);
  const stalled = n - (b.groupsUnder100ms! - a.groupsUnder100ms!);
  return { groups: n, meanGroupSize: Math.round(((b.grouped! - a.grouped!) / n) * 10) / 10, meanGroupMs: Math.round(((b.groupSeconds! - a.groupSeconds!) / n) * 1e5) / 100, ...(Number.isNaN(slow) ? {} : { groupsOver20ms: slow }), ...(Number.isNaN(stalled) ? {} : { groupsOver100ms: stalled }) };
}
