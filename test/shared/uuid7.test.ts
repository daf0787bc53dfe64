import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { validate, version } from 'uuid';
import { uuidv7 } from '../../src/shared/uuid7.js';
import { uuidv7Time } from '../../src/daemon/ports/index.js';

describe('uuidv7 (message ids, file ids, clientMsgIds)', () => {
  it('is a valid version 7 UUID of variant 10 holding its time, as the uuid package reads them, at any time it can hold', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 48 - 1 }), fc.integer({ min: 1, max: 3 }), (ms, n) => {
      for (let i = 0; i < n; i++) {
        const id = uuidv7(ms);
        expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
        expect(validate(id) && version(id)).toBe(7);
        expect(uuidv7Time(id)).toBe(ms);
      }
    }), { numRuns: 500 });
  });

  it('orders ids of different milliseconds by time, and writes the time the RFC way', () => {
    const a = uuidv7(1_700_000_000_000);
    const b = uuidv7(1_700_000_000_001);
    expect(a.slice(0, 13)).toBe('018bcfe5-6800');
    expect(a < b).toBe(true);
  });

  it('orders the ids of one millisecond too (at least the first 2048), for index keys that append', () => {
    uuidv7(1_700_000_000_100); // a new millisecond: the counter starts again
    const ids = Array.from({ length: 2048 }, () => uuidv7(1_700_000_000_200));
    expect(ids.every((id, i) => i === 0 || ids[i - 1]! < id)).toBe(true);
  });

  it('never repeats, within one millisecond too', () => {
    const ids = Array.from({ length: 100_000 }, () => uuidv7(1_700_000_000_000));
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('refuses a time it cannot hold', () => {
    for (const bad of [-1, 2 ** 48, 1.5, Number.NaN]) expect(() => uuidv7(bad)).toThrow(RangeError);
  });
});
