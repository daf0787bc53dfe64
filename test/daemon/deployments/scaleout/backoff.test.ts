import { describe, expect, it } from 'vitest';
import { jittered } from '../../../../src/daemon/deployments/scaleout/backoff.js';

describe('retry delays are spread, so nodes do not retry in lockstep after an outage', () => {
  it('stays within [0.5, 1.5) of the delay', () => {
    expect(jittered(1000, () => 0)).toBe(500);
    expect(jittered(1000, () => 0.5)).toBe(1000);
    expect(jittered(1000, () => 0.9999)).toBe(1500);
    expect(jittered(0)).toBe(0);
  });
  it('gives different nodes different delays for the same backoff step', () => {
    const draws = Array.from({ length: 200 }, () => jittered(10_000));
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(5000);
    expect(Math.max(...draws)).toBeLessThanOrEqual(15_000);
    expect(new Set(draws).size).toBeGreaterThan(150);
  });
});
