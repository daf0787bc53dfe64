/** The dm scenario: pairs of users exchanging direct messages at stepped open-loop rates. */
import { engineSplit, engineTicks, groupStats, threadSplit, threadSplitText, threadTicks } from '../cpu.js';
import { median, busyRetries, nextMove, passedGridTop, ratioBound, verdict, verdictText, type Verdict, warmups } from '../figures.js';
import { args, client, nodes, onlyRates, profile, quick, type Target } from '../options.js';
import { json, profiled, runLoad, serverMetrics, startServer, stopServer, users, type Server } from '../server.js';

export interface DmStep { offeredRate: number; sent: number; delivered: number; lost: number; dup: number; deliveredPerSec: number; e2eMs: { p50: number; p99: number; p999: number; max: number }; ackMs: { p50: number; p99: number }; loadgenLoopDelayP99Ms: number; loadgenCpuPct?: number; loadgenSystemCpuPct?: number; otherCpuPct?: number; stealCpuPct?: number; verdict?: Verdict }

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

type DmRun = Record<string, { maxRate: number; p99AtMaxMs: number | null; boundedByGenerator?: boolean; passedGridTop?: boolean; steps: (DmStep & { serverLoopP99Ms?: number; serverCpuUsPerMsg?: number })[]; storeCaughtUpMs?: number | null }>;

/**
 * --repeat=N runs every target N times (interleaved, so drift hits all alike). The ratio is
 * taken within each run, against that run's relay; the record keeps every run's maxima, the
 * median ratio, and the full steps of the run whose ratio is the median.
 */
export async function dmScenario(targets: Target[]) {
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
  /**
   * 'steps': chatd's own stepping had the rate; 'fresh': a fresh chatd, warmed up, ran it once
   * the relay's maximum was known (the targets run interleaved, so only after chatd's stepping).
   */
  chatdMeasuredBy: 'steps' | 'fresh';
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
  // The issue's target point: 0.6x the relay's maximum (known once the relay has stopped stepping).
  const goalFor = (relayMax: number | undefined) => (relayMax ? Math.round((0.6 * relayMax) / 100) * 100 : undefined);
  /**
   * One target, started and warmed up, stepped by `step` one rate at a time. `clientMsgIds:
   * false`: chatd sends without one (the path without dedupe). `nodes: 2`: two chatd nodes of one
   * deployment, every pair split across them (user 2p on the first node, 2p+1 on the second), so
   * every message crosses nodes. `step` says 'stop' once the target's stepping is over: it failed
   * (with `stopAtFailure`, unless --all-steps), or its generator was saturated.
   */
  const stepper = async (target: Target, grid: number[], variant: { clientMsgIds?: boolean; nodes?: number; label?: string } = {}) => {
    const firstRate = grid[0]!;
    const label = variant.label ?? target;
    const first = await startServer(target, { inspect: profile });
    const servers = [first];
    const close = async () => {
      for (const x of servers.slice(1)) await stopServer(x);
      await stopServer(first, 'dm');
    };
    try {
      for (let n = 1; n < (variant.nodes ?? 1); n++) servers.push(await startServer(target, { shareWith: first }));
      const list = (await users(first, pairs * 2)).map((u, i) => ({ ...u, url: servers[i % servers.length]!.url }));
      const job = { mode: 'dm' as const, target: target === 'chatd-scaleout' ? 'chatd' as const : target, client, url: first.url, users: list, textBytes: 64, serverPids: servers.map((x) => x.proc.pid!), ...(variant.clientMsgIds === false ? { clientMsgIds: false } : {}) };
      // Warm-up, not recorded: first messages pay one-off costs (JIT, friendship and seq lookups).
      for (const w of warmups(firstRate, quick)) await runLoad<DmStep>({ ...job, ...w });
      const steps: (DmStep & { serverLoopP99Ms?: number; serverCpuUsPerMsg?: number })[] = [];
      /** Attempts run again because the machine was busy. */
      const retried: typeof steps = [];
      let maxRate = 0;
      let p99AtMax: number | null = null;
      let boundedByGenerator = false;
      let failedOnce = false;
      let before = await Promise.all(servers.map((x) => serverMetrics(x).catch(() => null)));
      // Per-thread CPU for chatd on one node (the relays have one thread).
      const serverPid = target.startsWith('chatd') && servers.length === 1 ? first.proc.pid : undefined;
      let ticks = threadTicks(serverPid);
      let engines = target === 'chatd-scaleout' ? engineTicks() : new Map<string, number>();
      const step = async (rate: number, stopAtFailure: boolean): Promise<'stop' | 'go'> => {
        for (let attempt = 0; ; ) {
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
          const v = verdict(r);
          const move = nextMove(v, attempt, busyRetries(quick));
          const record = { ...r, verdict: v, ...wal, ...(m[0]?.loopP99Ms !== undefined ? { serverLoopP99Ms: m[0].loopP99Ms } : {}), ...(m[0]?.loopMaxMs !== undefined && !Number.isNaN(m[0].loopMaxMs) ? { serverLoopMaxMs: m[0].loopMaxMs } : {}), ...(cpuUsPerMsg !== undefined ? { serverCpuUsPerMsg: cpuUsPerMsg } : {}), ...nodesCpu, ...byThread, ...byEngine, ...g };
          const pass = r.lost === 0 && r.dup === 0 && r.e2eMs.p99 <= 100;
          console.log(`dm ${label.padEnd(15)} rate ${String(rate).padStart(6)}/s  delivered ${String(r.deliveredPerSec).padStart(6)}/s  p50 ${r.e2eMs.p50}ms p99 ${r.e2eMs.p99}ms p99.9 ${r.e2eMs.p999}ms max ${r.e2eMs.max}ms  ack p99 ${r.ackMs.p99}ms  lost ${r.lost} dup ${r.dup}  loadgen loop p99 ${r.loadgenLoopDelayP99Ms}ms cpu ${r.loadgenCpuPct}% (sys ${r.loadgenSystemCpuPct}%)${cpuUsPerMsg !== undefined ? `  server CPU ${cpuUsPerMsg}us/msg` : ''}${servers.length > 1 ? ` (by node ${perNode.join(' + ')})` : ''}${byThread.serverCpuUsPerMsgByThread ? ` (${threadSplitText(byThread.serverCpuUsPerMsgByThread)})` : ''}${byEngine.engineCpuUsPerMsg ? `  engines ${Object.entries(byEngine.engineCpuUsPerMsg).map(([k, v]) => `${k} ${v}`).join(', ')}us/msg` : ''}${g.groups ? `  groups ${g.groups} × ${g.meanGroupSize} msg, ${g.meanGroupMs}ms each, ${g.groupsOver20ms ?? '?'} over 20ms, ${g.groupsOver100ms ?? '?'} over 100ms` : ''}${m[0]?.loopMaxMs !== undefined && !Number.isNaN(m[0].loopMaxMs) ? `, loop max ${m[0].loopMaxMs}ms` : ''}${wal.walPagesAtCheckpoint !== undefined ? `, WAL ${wal.walPagesAtCheckpoint} pages` : ''}${r.otherCpuPct ? `  others ${r.otherCpuPct}%` : ''}${r.stealCpuPct ? `  steal ${r.stealCpuPct}%` : ''}${pass ? '' : '  ✗'}${verdictText(v)}`);
          // Another workload took the machine: the step runs again; the attempts are kept apart (`steps` has one entry per rate).
          if (move === 'again') { retried.push(record); attempt++; continue; }
          steps.push(record);
          if (move === 'skip') return 'go';
          // The generator, not the server, set the pace: higher steps would measure it too.
          if (move === 'stop') { boundedByGenerator = true; return 'stop'; }
          // --all-steps: every step runs (CPU per message at each rate, old against new); the maximum is still the last step passed before the first failure.
          if (!pass && stopAtFailure && !args.includes('--all-steps')) return 'stop';
          if (!pass) { failedOnce = true; return 'go'; }
          if (failedOnce) return 'go';
          maxRate = rate;
          p99AtMax = r.e2eMs.p99;
          return 'go';
        }
      };
      /** `searched`: the grid was a search for the maximum (passedGridTop). */
      const result = async (searched: boolean) => {
        const storeCaughtUpMs = target === 'chatd-scaleout' ? await drained(first, list[0]!.token, label) : undefined;
        if (boundedByGenerator) console.log(`dm ${label}: the load generator was saturated at ${steps.at(-1)!.offeredRate}/s; ${maxRate}/s is a lower bound`);
        const topPassed = passedGridTop(grid, maxRate, { searched, boundedByGenerator, failedOnce });
        if (topPassed) console.log(`dm ${label}: passed the grid's top step (${maxRate}/s); ${maxRate}/s is a lower bound`);
        return { maxRate, p99AtMaxMs: p99AtMax, ...(boundedByGenerator ? { boundedByGenerator } : {}), ...(topPassed ? { passedGridTop: true } : {}), steps, ...(retried.length ? { disturbedSteps: retried } : {}), ...(storeCaughtUpMs !== undefined ? { storeCaughtUpMs } : {}) };
      };
      return { step, result, close };
    } catch (err) {
      await close();
      throw err;
    }
  };
  /** One target stepped through `grid`, then stopped. */
  const stepsFor = async (target: Target, grid: number[], stopAtFailure: boolean, variant: { clientMsgIds?: boolean; nodes?: number; label?: string } = {}) => {
    const s = await stepper(target, grid, variant);
    try {
      for (const rate of grid) if ((await s.step(rate, stopAtFailure)) === 'stop') break;
      // Only a stepping that stops at its failure searches for a maximum; the others are fixed points and ramps.
      return await s.result(stopAtFailure);
    } finally {
      await s.close();
    }
  };
  // The targets interleaved rate by rate (each target runs a rate, then the next target the same
  // rate), so a machine whose pace drifts over minutes drifts for all of them alike; each target
  // stops at its own first failure while the others go on.
  const live: { target: Target; s: Awaited<ReturnType<typeof stepper>>; stopped: boolean }[] = [];
  try {
    for (const target of targets) live.push({ target, s: await stepper(target, rates), stopped: false });
    for (const rate of rates) {
      for (const x of live) {
        if (!x.stopped && (await x.s.step(rate, true)) === 'stop') x.stopped = true;
      }
    }
    for (const x of live) out[x.target] = await x.s.result(true);
  } finally {
    for (const x of live) await x.s.close();
  }
  // The target point, 0.6x the relay's maximum, known only now: unless its stepping had that
  // rate, each of chatd and the relay runs it on a fresh server, warmed up as at a stepping's
  // start (on the one that stepped, chatd would run it after the failure that ended its stepping).
  const goal = goalFor(out.socketio?.maxRate);
  const goalSteps = new Map<Target, DmStep>();
  if (goal && out.chatd && out.socketio) {
    for (const target of ['chatd', 'socketio'] as const) {
      if (out[target]!.steps.some((x) => x.offeredRate === goal)) continue;
      const fresh = await stepsFor(target, [goal], false);
      const step = fresh.steps.find((x) => x.offeredRate === goal);
      if (step) goalSteps.set(target, step);
    }
  }
  // The same chatd targets with sends that carry no clientMsgId (what many clients send).
  for (const target of targets.filter((t) => t.startsWith('chatd') && !args.includes('--skip-no-id'))) {
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
  const lowerBound = (t: DmRun[string] | undefined) => Boolean(t?.boundedByGenerator || t?.passedGridTop);
  const ratioIs = ratioBound(lowerBound(out.socketio), lowerBound(out.chatd));
  if (ratio !== null && ratioIs !== 'figure') console.log(`dm chatd/relay ratio ${ratio} is ${ratioIs === 'no bound' ? 'no bound either way: both maxima are lower bounds' : `an ${ratioIs}: ${ratioIs === 'upper bound' ? "the relay's" : "chatd's"} maximum is a lower bound`}`);
  // At the target point, the relay's p99 too, so chatd's reads against what the bare stack does
  // at the same rate on this machine.
  let atGoal: AtGoal | undefined;
  if (goal && out.chatd && out.socketio) {
    const stepAt = (target: 'chatd' | 'socketio') => goalSteps.get(target) ?? out[target]!.steps.find((x) => x.offeredRate === goal);
    const p99At = (step: DmStep | undefined) => (step && step.lost === 0 && step.dup === 0 ? step.e2eMs.p99 : null);
    const measuredBy = goalSteps.has('chatd') ? 'fresh' : 'steps';
    const chatdStep = stepAt('chatd');
    const chatdP99 = p99At(chatdStep);
    atGoal = {
      rate: goal, chatdP99Ms: chatdP99, socketioP99Ms: p99At(stepAt('socketio')), met: chatdP99 !== null && chatdP99 <= 50, chatdMeasuredBy: measuredBy,
      ...(chatdStep ? { chatd: { p99Ms: chatdStep.e2eMs.p99, deliveredPerSec: chatdStep.deliveredPerSec, lost: chatdStep.lost, dup: chatdStep.dup } } : {}),
    };
    const chatdText = chatdStep ? `p99 ${chatdStep.e2eMs.p99} ms, lost ${chatdStep.lost}, dup ${chatdStep.dup}${measuredBy === 'fresh' ? ' (a fresh chatd)' : ''}` : 'not measured';
    console.log(`dm at 0.6x the relay's maximum (${goal}/s): chatd ${chatdText}, bare Socket.IO relay p99 ${atGoal.socketioP99Ms ?? 'failed'} ms; target p99 <= 50 ms ${atGoal.met ? 'met' : 'not met'}`);
  }
  return { out, ratio, atGoal, settings: { rates, durationMs, warmupMs, pairs, textBytes: 64, passRule: 'p99 <= 100 ms, no loss, no duplicate' } };
}
