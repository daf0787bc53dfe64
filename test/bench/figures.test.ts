import { describe, expect, it } from 'vitest';
import { LOOP_SAMPLE_MS, cpuPerDocText, loopDelayBeyondSampling, nextMove, busyRetries, passedGridTop, ratioBound, verdict, verdictText, warmups, WARM_FROM } from '../../bench/figures.js';
import { otherTicksBetween } from '../../bench/cpu.js';

describe('bench figures', () => {
  it('reports event-loop delay beyond the sampler’s own interval, never below zero', () => {
    // Node's histogram of an idle loop reads the interval itself.
    expect(loopDelayBeyondSampling(LOOP_SAMPLE_MS)).toBe(0);
    expect(loopDelayBeyondSampling(LOOP_SAMPLE_MS - 0.3)).toBe(0);
    expect(loopDelayBeyondSampling(27.456)).toBe(17.46);
  });

  it('formats the engine’s CPU per document, and nothing when it was not measured', () => {
    expect(cpuPerDocText({ ferretdb: 40, postgres: 37.9 })).toBe('CPU per document: ferretdb 40 µs, postgres 37.9 µs');
    expect(cpuPerDocText(null)).toBe('');
    expect(cpuPerDocText(undefined)).toBe('');
  });
});

describe('when a bench step counts', () => {
  it('counts a step whose generator had headroom on a quiet machine', () => {
    expect(verdict({ loadgenCpuPct: 79, loadgenLoopDelayP99Ms: 9.9, otherCpuPct: 9 })).toBe('counts');
  });
  it('does not count a step whose generator was saturated, by CPU or by loop delay', () => {
    expect(verdict({ loadgenCpuPct: 81, loadgenLoopDelayP99Ms: 1 })).toBe('generator-bound');
    expect(verdict({ loadgenCpuPct: 65, loadgenLoopDelayP99Ms: 10.5 })).toBe('generator-bound');
  });
  it('does not blame the generator for loop delay while its core is mostly idle (an overloaded server answers in bursts)', () => {
    expect(verdict({ loadgenCpuPct: 35, loadgenLoopDelayP99Ms: 12 })).toBe('counts');
  });
  it('runs again a step where other processes took the machine, before judging the generator', () => {
    expect(verdict({ loadgenCpuPct: 95, loadgenLoopDelayP99Ms: 30, otherCpuPct: 11 })).toBe('disturbed');
    expect(verdictText('disturbed')).toMatch(/does not count/);
    expect(verdictText('counts')).toBe('');
  });
});

describe('a machine whose hypervisor took its CPU', () => {
  it('is a disturbed step, like other processes', () => {
    expect(verdict({ loadgenCpuPct: 40, loadgenLoopDelayP99Ms: 1, otherCpuPct: 0, stealCpuPct: 12 })).toBe('disturbed');
    expect(verdict({ loadgenCpuPct: 40, loadgenLoopDelayP99Ms: 1, otherCpuPct: 0, stealCpuPct: 3 })).toBe('counts');
  });
});

describe('other processes\u2019 CPU during a step', () => {
  it('counts what each process used, a process that started whole, and never goes negative when one ends', () => {
    const before = new Map([[10, 100], [11, 500]]);
    const after = new Map([[10, 130], [12, 7]]); // 11 ended, 12 started
    expect(otherTicksBetween(before, after)).toBe(37);
  });
});

describe('what the stepping does with a step', () => {
  it('runs a disturbed step again twice, then concludes nothing at that rate', () => {
    expect([0, 1, 2].map((attempt) => nextMove('disturbed', attempt))).toEqual(['again', 'again', 'skip']);
    expect(nextMove('disturbed', 0, busyRetries(true))).toBe('skip');
    expect([0, 1, 2].map((attempt) => nextMove('disturbed', attempt, busyRetries(false)))).toEqual(['again', 'again', 'skip']);
  });
  it('stops at a generator-bound step and judges a step that counts', () => {
    expect(nextMove('generator-bound', 0)).toBe('stop');
    expect(nextMove('counts', 0)).toBe('judge');
  });
});

describe('the warm-up before a dm target’s first step', () => {
  it('is first contact only when the grid starts low, or in a quick run', () => {
    expect(warmups(500, false)).toEqual([{ rate: 200, durationMs: 2000 }]);
    expect(warmups(WARM_FROM - 1, false)).toHaveLength(1);
    expect(warmups(12000, true)).toEqual([{ rate: 200, durationMs: 500 }]);
    expect(warmups(100, true)).toEqual([{ rate: 100, durationMs: 500 }]);
  });
  it('adds 5 s at half a high first rate, at most 6000/s, so the first recorded step is not the server’s JIT warm-up', () => {
    expect(warmups(WARM_FROM, false)).toEqual([{ rate: 200, durationMs: 2000 }, { rate: WARM_FROM / 2, durationMs: 5000 }]);
    expect(warmups(12000, false)[1]).toEqual({ rate: 6000, durationMs: 5000 });
    expect(warmups(20000, false)[1]).toEqual({ rate: 6000, durationMs: 5000 });
  });
});

describe('maxima that are lower bounds', () => {
  const clean = { searched: true, boundedByGenerator: false, failedOnce: false };
  it('a target that passed the grid\'s top step has a lower bound, not a maximum', () => {
    expect(passedGridTop([10_000, 12_000, 14_000], 14_000, clean)).toBe(true);
    // It failed a step before the top: that is its maximum.
    expect(passedGridTop([10_000, 12_000, 14_000], 12_000, clean)).toBe(false);
    // Nothing passed.
    expect(passedGridTop([10_000, 12_000], 0, clean)).toBe(false);
    // The generator stopped it (already a lower bound, said once), or --all-steps saw it fail below.
    expect(passedGridTop([10_000, 12_000], 12_000, { ...clean, boundedByGenerator: true })).toBe(false);
    expect(passedGridTop([10_000, 12_000], 12_000, { ...clean, failedOnce: true })).toBe(false);
    // A fixed point or a ramp is no search for a maximum; a search over one rate is.
    expect(passedGridTop([13_200], 13_200, { ...clean, searched: false })).toBe(false);
    expect(passedGridTop([250, 500], 500, { ...clean, searched: false })).toBe(false);
    expect(passedGridTop([13_200], 13_200, clean)).toBe(true);
  });

  it('a ratio of maxima is a bound when either is a lower bound', () => {
    expect(ratioBound(false, false)).toBe('figure');
    expect(ratioBound(true, false)).toBe('upper bound');
    expect(ratioBound(false, true)).toBe('lower bound');
    expect(ratioBound(true, true)).toBe('no bound');
  });
});
