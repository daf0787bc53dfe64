import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { TwoKeyMap } from '../../../src/daemon/services/two-key-map.js';

describe('TwoKeyMap', () => {
  it('answers like a map keyed by the pair, after any sequence of sets, deletes and clears', () => {
    const key = fc.constantFrom('', 'a', 'b', 'ab', 'a\u0000b', 'dm:a:b', '__proto__');
    const op = fc.oneof(
      fc.tuple(fc.constant('set' as const), key, key, fc.integer()),
      fc.tuple(fc.constant('delete' as const), key, key, fc.constant(0)),
      fc.tuple(fc.constant('clear' as const), key, key, fc.constant(0)),
    );
    fc.assert(fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
      const m = new TwoKeyMap<number>();
      const model = new Map<string, [string, string, number]>();
      for (const [kind, a, b, v] of ops) {
        const k = JSON.stringify([a, b]);
        if (kind === 'set') { m.set(a, b, v); model.set(k, [a, b, v]); }
        else if (kind === 'delete') expect(m.delete(a, b)).toBe(model.delete(k));
        else { m.clear(); model.clear(); }
        expect(m.size).toBe(model.size);
      }
      for (const [a, b, v] of model.values()) {
        expect(m.get(a, b)).toBe(v);
      }
      expect([...m.values()].sort()).toEqual([...model.values()].map((e) => e[2]).sort());
      // Pairs never set are absent: ('a','b') and ('ab','') do not collide, nor does ('a\0b','').
      for (const [a, b] of [['a', 'b'], ['ab', ''], ['a\u0000b', ''], ['b', 'a']] as const) {
        if (!model.has(JSON.stringify([a, b]))) expect(m.get(a, b)).toBeUndefined();
      }
    }), { numRuns: 300 });
  });
});
