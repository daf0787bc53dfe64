/**
 * The changes scenario (issue 28): edits and reactions at stepped open-loop rates next to plain
 * sends, on one chatd, interleaved rate by rate (send, edit, react at each rate), so drift hits
 * all three alike. Reported per op: server CPU per record, p99 from emit to the other side's
 * event, and the highest rate passed (p99 <= 100 ms, nothing lost or duplicated). Targets: an
 * edit costs at most 1.3x a send, a reaction at most 1.0x (median over the rates all three pass).
 * Then a 200-member group: reactions to its messages fanned out next to messages at the same rate.
 */
import { threadSplit, threadTicks } from '../cpu.js';
import { median, busyRetries, nextMove, verdict, verdictText, type Verdict } from '../figures.js';
import { client, onlyRates, profile, quick, type Target } from '../options.js';
import { json, profiled, runLoad, serverMetrics, startServer, stopServer, users, type Server } from '../server.js';
import type { DmStep } from './dm.js';
import { membersOf, setUp, type GroupStep, type Shape } from './group.js';

type Op = 'send' | 'edit' | 'react';
const OPS: Op[] = ['send', 'edit', 'react'];

/** Each pair's first user writes `k` messages to the second: what edits and reactions change. */
async function targetsFor(s: Server, list: { name: string; token: string }[], k: number): Promise<number[][]> {
  const out: number[][] = [];
  for (let p = 0; p + 1 < list.length; p += 2) {
    const seqs: number[] = [];
    for (let i = 0; i < k; i++) {
      const m = await json<{ seq: number }>(`${s.url}/v1/messages`, { method: 'POST', headers: { authorization: `Bearer ${list[p]!.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ to: list[p + 1]!.name, text: `target ${i}` }) });
      seqs.push(m.seq);
    }
    out.push(seqs);
  }
  return out;
}

export async function changesScenario(targets: Target[]) {
  const target = targets.includes('chatd-scaleout') && !targets.includes('chatd') ? 'chatd-scaleout' : 'chatd';
  const rates = onlyRates ?? (quick ? [200, 400] : [1000, 2000, 4000, 6000, 8000, 10000, 12000, 14000, 16000, 18000, 20000, 22000, 24000]);
  const durationMs = quick ? 1500 : 5000;
  const warmupMs = quick ? 200 : 1000;
  const pairs = quick ? 4 : 50;
  const s = await startServer(target, { inspect: profile });
  const steps: Record<Op, (DmStep & { serverCpuUsPerRecord?: number })[]> = { send: [], edit: [], react: [] };
  const failed = new Set<Op>();
  const maxRate: Record<Op, number> = { send: 0, edit: 0, react: 0 };
  let group: Record<string, unknown> | null = null;
  try {
    const list = await users(s, pairs * 2);
    const seqs = await targetsFor(s, list, 20);
    const job = { mode: 'dm' as const, target: 'chatd' as const, client, url: s.url, users: list, textBytes: 64, serverPids: [s.proc.pid!], targets: seqs };
    for (const op of OPS) await runLoad<DmStep>({ ...job, op, rate: Math.min(rates[0]!, 200), durationMs: quick ? 500 : 2000 });
    let before = await serverMetrics(s).catch(() => null);
    // Where each op's CPU goes: chatd's event loop, its SQLite writer thread, the rest.
    let ticks = threadTicks(s.proc.pid);
    for (const rate of rates) {
      for (const op of OPS) {
        if (failed.has(op)) continue;
        let r: DmStep;
        let v: Verdict;
        for (let attempt = 0; ; attempt++) {
          r = await profiled(s, `changes ${op} ${rate}`, () => runLoad<DmStep>({ ...job, op, rate, durationMs, warmupMs }));
          const m = await serverMetrics(s).catch(() => null);
          const cpu = before?.cpuSeconds !== undefined && m?.cpuSeconds !== undefined && r.sent > 0 ? Math.round(((m.cpuSeconds - before.cpuSeconds) / r.sent) * 1e7) / 10 : undefined;
          before = m;
          const ticksAfter = threadTicks(s.proc.pid);
          Object.assign(r, threadSplit(s.proc.pid, ticks, ticksAfter, r.sent));
          ticks = ticksAfter;
          v = verdict(r);
          if (cpu !== undefined) (r as DmStep & { serverCpuUsPerRecord?: number }).serverCpuUsPerRecord = cpu;
          if (nextMove(v, attempt, busyRetries(quick)) !== 'again') break;
          console.log(`changes ${op} rate ${rate}: the machine was busy (others ${r.otherCpuPct}%, steal ${r.stealCpuPct ?? 0}%); running the step again`);
        }
        steps[op].push({ ...r, verdict: v });
        const pass = r.lost === 0 && r.dup === 0 && r.e2eMs.p99 <= 100 && v === 'counts';
        const cpu = (r as DmStep & { serverCpuUsPerRecord?: number }).serverCpuUsPerRecord;
        const t = (r as DmStep & { serverCpuUsPerMsgByThread?: { eventLoop: number; busiestOther: number; rest: number } }).serverCpuUsPerMsgByThread;
        const split = t ? ` (loop ${t.eventLoop}, writer ${t.busiestOther}, rest ${t.rest})` : '';
        console.log(`changes ${op.padEnd(5)} rate ${String(rate).padStart(6)}/s  delivered ${String(r.deliveredPerSec).padStart(6)}/s  p50 ${r.e2eMs.p50}ms p99 ${r.e2eMs.p99}ms  ack p99 ${r.ackMs.p99}ms  lost ${r.lost} dup ${r.dup}  loadgen cpu ${r.loadgenCpuPct}%${cpu !== undefined ? `  server CPU ${cpu}us/record${split}` : ''}${pass ? '' : '  ✗'}${verdictText(v)}`);
        if (pass) maxRate[op] = rate;
        else failed.add(op);
      }
      if (failed.size === OPS.length) break;
    }
    // 200 members, 10 groups: reactions to the groups' messages against messages, at the same rates.
    if (onlyRates === undefined) group = await groupFanout(s, quick);
  } finally {
    await stopServer(s, 'changes');
  }
  // CPU per record, edit and reaction against send, at each rate all three passed.
  const both = steps.send.map((x, i) => ({ rate: x.offeredRate, send: x, edit: steps.edit[i], react: steps.react[i] }))
    .filter((x) => x.edit && x.react && [x.send, x.edit, x.react].every((y) => y!.lost === 0 && y!.dup === 0 && y!.e2eMs.p99 <= 100));
  const cpu = (x: DmStep | undefined) => (x as (DmStep & { serverCpuUsPerRecord?: number }) | undefined)?.serverCpuUsPerRecord;
  const ratios = both.filter((x) => cpu(x.send)).map((x) => ({ rate: x.rate, edit: Math.round((cpu(x.edit)! / cpu(x.send)!) * 100) / 100, react: Math.round((cpu(x.react)! / cpu(x.send)!) * 100) / 100 }));
  const editRatio = ratios.length ? median(ratios.map((x) => x.edit)) : null;
  const reactRatio = ratios.length ? median(ratios.map((x) => x.react)) : null;
  const summary = { maxRate, cpuRatios: ratios, editToSend: editRatio, reactToSend: reactRatio, editTargetMet: editRatio !== null && editRatio <= 1.3, reactTargetMet: reactRatio !== null && reactRatio <= 1.0 };
  console.log(`changes: highest rate passed: send ${maxRate.send}/s, edit ${maxRate.edit}/s, react ${maxRate.react}/s; server CPU per record against a send (median over ${ratios.length} rates): edit ${editRatio ?? '-'}x (target <= 1.3: ${summary.editTargetMet ? 'met' : 'not met'}), react ${reactRatio ?? '-'}x (target <= 1.0: ${summary.reactTargetMet ? 'met' : 'not met'})`);
  return { target, steps, summary, group, settings: { rates, durationMs, warmupMs, pairs, targetsPerPair: 20, passRule: 'p99 <= 100 ms, no loss, no duplicate, generator not saturated' } };
}

/** Messages, then reactions, to 10 groups of 200 members at the same stepped rates: copies per second and p99, side by side. */
async function groupFanout(s: Server, quickRun: boolean) {
  const shape: Shape = quickRun ? { groups: 2, members: 10, users: 20, rates: [20] } : { groups: 10, members: 200, users: 200, rates: [10, 20, 50, 100, 150] };
  const list = await users(s, shape.users, 'gbench');
  const refs = await setUp(s, shape, list, `c${Date.now().toString(36)}`);
  // The message each group's reactions go to: one from its owner.
  const targets: number[][] = [];
  for (let g = 0; g < refs.length; g++) {
    const owner = list[membersOf(shape, g)[0]!]!;
    const m = await json<{ seq: number }>(`${s.url}/v1/messages`, { method: 'POST', headers: { authorization: `Bearer ${owner.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ to: refs[g], text: 'react to me' }) });
    targets.push([m.seq]);
  }
  const job = { mode: 'group' as const, target: 'chatd' as const, client, serverPids: [s.proc.pid!], url: s.url, users: list, textBytes: 64, groups: refs.map((ref, g) => ({ ref, members: membersOf(shape, g) })), targets };
  const out: { rate: number; send: GroupStep & { serverCpuUsPerCopy?: number }; react: GroupStep & { serverCpuUsPerCopy?: number } }[] = [];
  for (const op of ['send', 'react'] as const) await runLoad<GroupStep>({ ...job, op, rate: 10, durationMs: 1000 });
  let before = await serverMetrics(s).catch(() => null);
  for (const rate of shape.rates) {
    const pair: Record<string, GroupStep & { serverCpuUsPerCopy?: number }> = {};
    for (const op of ['send', 'react'] as const) {
      const r = await runLoad<GroupStep>({ ...job, op, rate, durationMs: quickRun ? 1500 : 5000, warmupMs: quickRun ? 200 : 1000 });
      const m = await serverMetrics(s).catch(() => null);
      const cpu = before?.cpuSeconds !== undefined && m?.cpuSeconds !== undefined && r.deliveredCopies > 0 ? Math.round(((m.cpuSeconds - before.cpuSeconds) / r.deliveredCopies) * 1e7) / 10 : undefined;
      before = m;
      pair[op] = { ...r, verdict: verdict(r), ...(cpu !== undefined ? { serverCpuUsPerCopy: cpu } : {}) };
      console.log(`changes group ${shape.groups}x${shape.members} ${op.padEnd(5)} rate ${String(rate).padStart(4)}/s  copies ${String(r.copiesPerSec).padStart(6)}/s  p99 ${r.e2eMs.p99}ms  lost ${r.lost} dup ${r.dup}${cpu !== undefined ? `  server CPU ${cpu}us/copy` : ''}${verdictText(verdict(r))}`);
    }
    out.push({ rate, send: pair.send!, react: pair.react! });
    if (pair.send!.e2eMs.p99 > 100 && pair.react!.e2eMs.p99 > 100) break;
  }
  return { shape: { groups: shape.groups, members: shape.members }, steps: out };
}
