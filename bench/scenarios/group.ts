/**
 * The group scenario: G groups of M members, every member connected, messages to the groups at
 * stepped open-loop rates. Counted in copies: each message should reach the M-1 other members.
 * The baseline is a bare Socket.IO relay broadcasting to a room with the same members.
 */
import { busyRetries, nextMove, verdict, verdictText, type Verdict } from '../figures.js';
import { client, quick, onlyRates, type Target } from '../options.js';
import { json, runLoad, serverMetrics, startServer, stopServer, users, type Server } from '../server.js';

export interface GroupStep {
  offeredRate: number; sent: number; acked: number; expectedCopies: number; deliveredCopies: number; lost: number; dup: number; copiesPerSec: number;
  e2eMs: { p50: number; p99: number; p999: number; max: number }; ackMs: { p50: number; p99: number }; loadgenLoopDelayP99Ms: number; loadgenCpuPct: number; loadgenSystemCpuPct?: number; otherCpuPct?: number; stealCpuPct?: number; verdict?: Verdict;
}

export interface Shape { groups: number; members: number; users: number; rates: number[] }

/** Members of group g: a block of `members` users (the block's first one owns it); blocks repeat when groups outnumber them. */
export function membersOf(shape: Shape, g: number): number[] {
  const blocks = Math.max(1, Math.floor(shape.users / shape.members));
  const first = (g % blocks) * shape.members;
  return Array.from({ length: shape.members }, (_, i) => first + i);
}

/** chatd: each block's owner befriends its members and creates its groups (at most 100 users per call). */
export async function setUp(s: Server, shape: Shape, list: { name: string; token: string }[], tag: string) {
  const call = (method: string, p: string, token: string, body?: unknown) => json(`${s.url}${p}`, {
    method, headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const blocks = Math.max(1, Math.floor(shape.users / shape.members));
  for (let b = 0; b < blocks; b++) {
    const owner = list[b * shape.members]!;
    for (let i = 1; i < shape.members; i++) {
      const u = list[b * shape.members + i]!;
      await call('POST', `/v1/friends/${u.name}`, owner.token);
      await call('POST', `/v1/friends/${owner.name}`, u.token);
    }
  }
  const refs: string[] = [];
  for (let g = 0; g < shape.groups; g++) {
    const members = membersOf(shape, g);
    const owner = list[members[0]!]!;
    const rest = members.slice(1).map((i) => list[i]!.name);
    const handle = `${tag}g${g}`;
    await call('POST', '/v1/groups', owner.token, { handle, members: rest.slice(0, 99) });
    for (let k = 99; k < rest.length; k += 100) await call('POST', `/v1/groups/${handle}/members`, owner.token, { usernames: rest.slice(k, k + 100) });
    refs.push(`#${handle}`);
  }
  return refs;
}

type Run = Record<string, { maxRate: number; maxCopiesPerSec: number; p99AtMaxMs: number | null; boundedByGenerator?: boolean; steps: (GroupStep & { serverCpuUsPerCopy?: number })[] }>;

export async function groupScenario(targets: Target[]) {
  const shapes: Shape[] = quick
    ? [{ groups: 4, members: 5, users: 20, rates: [50, 100] }]
    : [
      { groups: 100, members: 20, users: 200, rates: [100, 200, 400, 800, 1200, 1600, 2000, 2500, 3000, 3500, 4000, 5000, 6000] },
      { groups: 10, members: 200, users: 200, rates: [10, 20, 50, 100, 150, 200, 250, 300, 400, 500, 600, 800] },
    ];
  const durationMs = quick ? 1500 : 5000;
  const warmupMs = quick ? 200 : 1000;
  const results: Record<string, unknown> = {};
  for (const shape of shapes) {
    const name = `${shape.groups}x${shape.members}`;
    const out: Run = {};
    const rates = onlyRates ?? shape.rates;
    for (const target of targets.filter((t) => t !== 'ws')) {
      const s = await startServer(target);
      try {
        const list = await users(s, shape.users);
        const tag = `b${Date.now().toString(36)}`;
        const refs = target.startsWith('chatd') ? await setUp(s, shape, list, tag) : Array.from({ length: shape.groups }, (_, g) => `#room${g}`);
        const job = { mode: 'group' as const, target: target === 'chatd-scaleout' ? 'chatd' as const : target as 'chatd' | 'socketio', client, serverPids: [s.proc.pid!], url: s.url, users: list, textBytes: 64, groups: refs.map((ref, g) => ({ ref, members: membersOf(shape, g) })) };
        await runLoad<GroupStep>({ ...job, rate: Math.min(rates[0]!, 50), durationMs: quick ? 500 : 2000 });
        const steps: Run[string]['steps'] = [];
        let maxRate = 0;
        let maxCopiesPerSec = 0;
        let p99AtMax: number | null = null;
        let boundedByGenerator = false;
        let before = await serverMetrics(s).catch(() => null);
        for (let k = 0, attempt = 0; k < rates.length; k++) {
          const rate = rates[k]!;
          const r = await runLoad<GroupStep>({ ...job, rate, durationMs, warmupMs });
          const m = await serverMetrics(s).catch(() => null);
          const cpu = before?.cpuSeconds !== undefined && m?.cpuSeconds !== undefined && r.deliveredCopies > 0 ? Math.round(((m.cpuSeconds - before.cpuSeconds) / r.deliveredCopies) * 1e7) / 10 : undefined;
          before = m;
          const v = verdict(r);
          const move = nextMove(v, attempt, busyRetries(quick));
          // Another workload took the machine: the step runs again; only its last attempt is kept.
          if (move === 'again') { attempt++; k--; console.log(`group ${name} ${target} rate ${rate}: other processes used ${r.otherCpuPct}% of a core, steal ${r.stealCpuPct ?? 0}%; running the step again`); continue; }
          attempt = 0;
          steps.push({ ...r, verdict: v, ...(cpu !== undefined ? { serverCpuUsPerCopy: cpu } : {}) });
          const pass = r.lost === 0 && r.dup === 0 && r.e2eMs.p99 <= 100;
          console.log(`group ${name} ${target.padEnd(15)} rate ${String(rate).padStart(5)} msg/s  copies ${String(r.copiesPerSec).padStart(6)}/s  p50 ${r.e2eMs.p50}ms p99 ${r.e2eMs.p99}ms max ${r.e2eMs.max}ms  ack p99 ${r.ackMs.p99}ms  lost ${r.lost} dup ${r.dup} (of ${r.expectedCopies} copies)  loadgen cpu ${r.loadgenCpuPct}% (sys ${r.loadgenSystemCpuPct}%) loop p99 ${r.loadgenLoopDelayP99Ms}ms${cpu !== undefined ? `  server CPU ${cpu}us/copy` : ''}${pass ? '' : '  ✗'}${verdictText(v)}`);
          if (move === 'skip') continue;
          if (move === 'stop') { boundedByGenerator = true; console.log(`group ${name} ${target}: the load generator was saturated at ${rate} msg/s; ${maxRate} msg/s is a lower bound`); break; }
          if (!pass) break;
          maxRate = rate;
          maxCopiesPerSec = r.copiesPerSec;
          p99AtMax = r.e2eMs.p99;
        }
        out[target] = { maxRate, maxCopiesPerSec, p99AtMaxMs: p99AtMax, ...(boundedByGenerator ? { boundedByGenerator } : {}), steps };
      } finally {
        await stopServer(s, 'group');
      }
    }
    const relay = out.socketio?.maxCopiesPerSec;
    const ratio = relay && out.chatd ? Math.round((out.chatd.maxCopiesPerSec / relay) * 100) / 100 : null;
    // At 0.6x the relay's copies per second: chatd's p99 at the step that delivers that many.
    const goal = relay ? 0.6 * relay : undefined;
    const at = goal !== undefined ? out.chatd?.steps.find((x) => x.copiesPerSec >= goal * 0.95 && x.lost === 0 && x.dup === 0) : undefined;
    const summary = { copiesRatioToSocketio: ratio, goalCopiesPerSec: goal === undefined ? null : Math.round(goal), chatdP99AtGoalMs: at?.e2eMs.p99 ?? null, met: at !== undefined && at.e2eMs.p99 <= 50 };
    console.log(`group ${name}: chatd ${out.chatd?.maxCopiesPerSec ?? '-'} copies/s at most, relay ${relay ?? '-'} (ratio ${ratio ?? '-'}); at 0.6x the relay (${summary.goalCopiesPerSec ?? '-'} copies/s) chatd p99 ${summary.chatdP99AtGoalMs ?? 'not reached'} ms; target >= 0.6x with p99 <= 50 ms ${summary.met ? 'met' : 'not met'}${out['chatd-scaleout'] ? `; scale-out ${out['chatd-scaleout'].maxCopiesPerSec} copies/s at most` : ''}`);
    results[name] = { ...out, summary, settings: { ...shape, rates, durationMs, warmupMs, textBytes: 64, passRule: 'p99 <= 100 ms, no lost or duplicated copy' } };
  }
  return results;
}
