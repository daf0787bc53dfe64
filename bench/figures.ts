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
