/** The event-loop delay sampler's interval (Node's default, and prom-client's in chatd). */
export const LOOP_SAMPLE_MS = 10;

/**
 * Node's sampler records the time between two of its timer ticks, so every sample includes its
 * own interval: an idle loop reads 10 ms. This is the delay beyond it, in ms (2 decimals).
 */
export const loopDelayBeyondSampling = (ms: number) => Math.round(Math.max(0, ms - LOOP_SAMPLE_MS) * 100) / 100;

/** The engine's CPU per inserted document, as the persist scenario prints and the README shows it; '' when not measured. */
export const cpuPerDocText = (cpu: Record<string, number> | null | undefined) =>
  cpu ? `CPU per document: ${Object.entries(cpu).map(([k, v]) => `${k} ${v} µs`).join(', ')}` : '';

/** The median (the lower middle of an even count). */
export const median = (xs: number[]) => { const a = [...xs].sort((x, y) => x - y); return a[Math.floor((a.length - 1) / 2)]!; };

/**
 * When a step counts. The load generator must not set the pace: a step where its core was over
 * `loadgenCpuPct` busy, or over `loadgenBusyCpuPct` with its event loop's p99 delay over
 * `loadgenLoopP99Ms`, measured the generator, not the server (`generator-bound`: the stepping
 * stops, and the maximum found so far is a lower bound). A loop delay with the core mostly idle is
 * the server's doing (an overloaded server answers in bursts), not the generator's. A step where other processes (not the server, the generator or the engines)
 * used over `otherCpuPct` of a core, or the hypervisor took over `stealCpuPct` of one for other
 * guests, measured a shared machine (`disturbed`: it is run again).
 */
export const COUNTS = { loadgenCpuPct: 80, loadgenBusyCpuPct: 60, loadgenLoopP99Ms: 10, otherCpuPct: 10, stealCpuPct: 10 };
export type Verdict = 'counts' | 'generator-bound' | 'disturbed';
export function verdict(r: { loadgenCpuPct?: number; loadgenLoopDelayP99Ms: number; otherCpuPct?: number; stealCpuPct?: number }): Verdict {
  if ((r.otherCpuPct ?? 0) > COUNTS.otherCpuPct || (r.stealCpuPct ?? 0) > COUNTS.stealCpuPct) return 'disturbed';
  const cpu = r.loadgenCpuPct ?? 0;
  if (cpu > COUNTS.loadgenCpuPct || (cpu > COUNTS.loadgenBusyCpuPct && r.loadgenLoopDelayP99Ms > COUNTS.loadgenLoopP99Ms)) return 'generator-bound';
  return 'counts';
}
/** How a step that does not count is marked in the printed line. */
export const verdictText = (v: Verdict) => (v === 'counts' ? '' : v === 'generator-bound' ? '  [generator-bound: does not count]' : '  [machine busy with other work: does not count]');

/** How often a full run runs a disturbed step again. */
const BUSY_RETRIES = 2;

/**
 * What the stepping does with a step, from its verdict: `again` (a busy machine: the step runs
 * again, at most `retries` times, twice by default), `skip` (still busy after them: nothing is
 * concluded at this rate),
 * `stop` (generator-bound: higher steps would measure the generator too) or `judge` (it counts:
 * pass or fail decides).
 */
export function nextMove(v: Verdict, attempt: number, retries = BUSY_RETRIES): 'again' | 'skip' | 'stop' | 'judge' {
  if (v === 'disturbed') return attempt < retries ? 'again' : 'skip';
  return v === 'generator-bound' ? 'stop' : 'judge';
}

/**
 * How often a disturbed step runs again: twice, but never in a quick run, which keeps the harness
 * working and concludes nothing (in CI the engines and the test run's leftovers count as other
 * processes, and the retries cost the scale-out steps a minute).
 */
export const busyRetries = (quick: boolean) => (quick ? 0 : BUSY_RETRIES);

/** A first step at or above this rate is preceded by a warm-up at half its rate. */
export const WARM_FROM = 4000;

/**
 * Each dm target's unrecorded warm-up before its first step, the same for every target: first
 * contact at 200/s (JIT of the connect path, friendships and sequences loaded), then, for a grid
 * that starts high, 5 s at half its first rate (at most 6000/s). Measured on a fresh chatd whose
 * first step was 12000/s: that step cost 7–9 µs a message more on threads other than the loop
 * and the writer (V8's compiler and GC threads) and stalled the loop for up to 60 ms (and failed
 * at p99 220–330 ms in two runs of three); after 5 s at 6000/s, 2.8–3.5 µs and 10–19 ms, as in
 * the steps after it. A grid that starts low warms the server with its own first steps.
 */
export function warmups(firstRate: number, quick: boolean): { rate: number; durationMs: number }[] {
  const contact = { rate: Math.min(firstRate, 200), durationMs: quick ? 500 : 2000 };
  if (quick || firstRate < WARM_FROM) return [contact];
  return [contact, { rate: Math.min(6000, Math.round(firstRate / 2)), durationMs: 5000 }];
}

/**
 * Whether a stepping's maximum is only a lower bound because the target passed the grid's top
 * step: it was never driven to failure. Only a search (a stepping that stops at its first
 * failure) has a maximum; a fixed point or a ramp (the target point, the two-node run) has none.
 */
export function passedGridTop(grid: number[], maxRate: number, s: { searched: boolean; boundedByGenerator: boolean; failedOnce: boolean }): boolean {
  return s.searched && !s.boundedByGenerator && !s.failedOnce && maxRate > 0 && maxRate === grid.at(-1);
}

/**
 * What a chatd/relay ratio of maxima is when either maximum is a lower bound: an upper bound
 * when only the relay's is, a lower bound when only chatd's is, no bound when both are.
 */
export function ratioBound(relayLowerBound: boolean, chatdLowerBound: boolean): 'figure' | 'upper bound' | 'lower bound' | 'no bound' {
  if (relayLowerBound && chatdLowerBound) return 'no bound';
  if (relayLowerBound) return 'upper bound';
  if (chatdLowerBound) return 'lower bound';
  return 'figure';
}
