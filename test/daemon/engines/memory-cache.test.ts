import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { BoundedMap, MemoryCache } from '../../../src/daemon/engines/memory-cache.js';
import { cacheContract } from './cache.contract.js';

cacheContract('memory', async () => {
  const c = new MemoryCache();
  await c.start();
  return c;
});

describe('BoundedMap', () => {
  it('never holds more than max, keeps every key of the last max/2 sets, and never returns a stale value', () => {
    fc.assert(fc.property(
      fc.integer({ min: 2, max: 20 }),
      fc.array(fc.tuple(fc.constantFrom('set', 'set', 'set', 'delete'), fc.integer({ min: 0, max: 30 })), { maxLength: 300 }),
      (max, ops) => {
        const m = new BoundedMap<number, number>(max);
        const latest = new Map<number, number>();
        const sets: number[] = []; // the key of every set, in order
        ops.forEach(([op, k], i) => {
          if (op === 'set') {
            m.set(k, i);
            latest.set(k, i);
            sets.push(k);
          } else {
            m.delete(k);
            latest.delete(k);
          }
          expect(m.size).toBeLessThanOrEqual(max);
          for (const key of sets.slice(-Math.floor(max / 2))) if (latest.has(key)) expect(m.get(key)).toBe(latest.get(key));
          for (const key of latest.keys()) {
            const v = m.get(key);
            if (v !== undefined) expect(v).toBe(latest.get(key));
          }
          if (op === 'delete') expect(m.get(k)).toBeUndefined();
        });
      },
    ));
  });

  it('stays O(1) when it evicts continuously (the old first-key delete was O(n) in V8)', () => {
    // Not a timing assertion: the eviction path must not iterate the map at all.
    const m = new BoundedMap<number, number>(1000);
    const iter = vi.spyOn(Map.prototype, 'keys');
    for (let i = 0; i < 10_000; i++) m.set(i, i);
    expect(iter).not.toHaveBeenCalled();
    iter.mockRestore();
    expect(m.size).toBeLessThanOrEqual(1000);
    expect(m.get(9_999)).toBe(9_999);
    expect(m.get(0)).toBeUndefined();
  });
});
