import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { chunks } from '../../../../src/daemon/deployments/scaleout/kafka-publisher.js';

describe('produce request chunking', () => {
  it('keeps order, loses nothing and stays under 512 KiB per request', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: 30_000 }), { maxLength: 400 }), (sizes) => {
      const records = sizes.map((n, i) => ({ key: 'k', value: `${i}:${'x'.repeat(n)}` }));
      const out = chunks(records);
      expect(out.flat()).toEqual(records);
      for (const c of out) {
        const bytes = c.reduce((s, r) => s + Buffer.byteLength(r.value) + 200, 0);
        expect(c.length === 1 || bytes <= 512 * 1024).toBe(true);
      }
    }), { numRuns: 50 });
  });
});
