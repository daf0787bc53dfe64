/**
 * A small seeded generator (mulberry32) for the tests' random runs: the same seed, the same run,
 * so a failure is replayed from the seed its test prints. Numbers in [0, 1).
 */
export function seeded(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
