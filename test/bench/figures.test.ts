import { describe, expect, it } from 'vitest';
import { LOOP_SAMPLE_MS, cpuPerDocText, loopDelayBeyondSampling } from '../../bench/figures.js';

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
