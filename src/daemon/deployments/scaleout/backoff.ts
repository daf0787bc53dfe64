/**
 * Spreads a retry delay over [0.5, 1.5) of its value, so nodes that saw the same outage do not
 * all retry at the same instant when it ends (the same randomisation async-retry applies to its
 * attempts, centred on the delay instead of above it).
 */
export function jittered(ms: number, random: () => number = Math.random): number {
  return Math.round(ms * (0.5 + random()));
}
