import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isoTime } from '../../src/daemon/iso-time.js';

describe('isoTime', () => {
  it('writes what Date.prototype.toISOString writes, for runs of nearby times and for any time', () => {
    // Runs of times a few ms to a few s apart exercise the cached second and its turnover.
    const runs = fc.tuple(fc.integer({ min: 0, max: 253_402_300_799_999 }), fc.array(fc.integer({ min: -3000, max: 3000 }), { maxLength: 30 }));
    fc.assert(fc.property(runs, ([start, steps]) => {
      let t = start;
      for (const step of [0, ...steps]) {
        t = Math.max(0, t + step);
        expect(isoTime(t)).toBe(new Date(t).toISOString());
      }
    }), { numRuns: 3000 });
    for (const t of [0, 999, 1000, 1_767_225_599_999, 1_767_225_600_000, 253_402_300_799_999, 253_402_300_800_000, -1, 1.5, -62_198_755_200_000]) {
      expect(isoTime(t)).toBe(new Date(t).toISOString());
    }
  });
});
