import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Lifecycle, Limits, Presence } from '../../../src/daemon/ports/index.js';

type Cache = Lifecycle & Limits & Presence;

/** The contracts of the limits and presence ports, which one engine fills on each deployment; run unchanged on memory (embedded) and Redis (scale-out). */
export function cacheContract(name: string, make: () => Promise<Cache>, cleanup: (c: Cache) => Promise<void> = (c) => c.close()) {
  describe(`Limits and Presence contract: ${name}`, () => {
    let cache: Cache;
    const k = (s: string) => `${s}:${Math.random().toString(36).slice(2)}`;
    beforeEach(async () => { cache = await make(); });
    afterEach(async () => { await cleanup(cache); });

    it('allows `limit` hits per window, then tells how long to wait', async () => {
      const key = k('rl');
      for (let i = 0; i < 3; i++) expect((await cache.rateLimit(key, 3, 60_000)).allowed).toBe(true);
      const denied = await cache.rateLimit(key, 3, 60_000);
      expect(denied.allowed).toBe(false);
      expect(denied.retryAfterMs).toBeGreaterThan(0);
      expect(denied.retryAfterMs).toBeLessThanOrEqual(60_000);
      expect((await cache.rateLimit(k('other'), 3, 60_000)).allowed).toBe(true);
    });

    it('is a token bucket: `limit` at once, then refilled over the window (never twice the limit at a window edge); refusals cost nothing', async () => {
      const key = k('tb');
      const burst = async (n: number) => { let ok = 0; for (let i = 0; i < n; i++) if ((await cache.rateLimit(key, 4, 2000)).allowed) ok++; return ok; };
      const first = await burst(8);
      const t0 = Date.now();
      // Hammering while refused does not delay the refill.
      for (let i = 0; i < 20; i++) await cache.rateLimit(key, 4, 2000);
      await new Promise((r) => setTimeout(r, 1000 - (Date.now() - t0)));
      const half = await burst(8);
      const denied = await cache.rateLimit(key, 4, 2000);
      console.log(`${name}: 4 per 2 s: ${first} of 8 at once, ${half} of 8 one second later; then wait ${denied.retryAfterMs} ms`);
      expect(first).toBe(4);
      // Half a window refills half the bucket (a fixed window would give 0 here, then 4 more at once at its edge).
      expect(half).toBe(2);
      expect(denied.allowed).toBe(false);
      expect(denied.retryAfterMs).toBeGreaterThan(0);
      expect(denied.retryAfterMs).toBeLessThanOrEqual(500);
    });

    it('counts failures that expire after the last one, and holds locks for a while', async () => {
      const key = k('cnt');
      expect(await cache.countGet(key)).toBe(0);
      expect(await cache.countHit(key, 300)).toBe(1);
      expect(await cache.countHit(key, 300)).toBe(2);
      expect(await cache.countGet(key)).toBe(2);
      await new Promise((r) => setTimeout(r, 200));
      expect(await cache.countHit(key, 300)).toBe(3);
      await new Promise((r) => setTimeout(r, 200));
      // 400 ms after the first hit, 200 after the last: still counting.
      expect(await cache.countGet(key)).toBe(3);
      await cache.countClear(key);
      expect(await cache.countGet(key)).toBe(0);
      // A lock and a counter of the same name are apart.
      const lock = k('hold');
      await cache.countHit(lock, 1000);
      expect(await cache.holdGet(lock)).toBe(0);
      await cache.holdSet(lock, 300);
      const left = await cache.holdGet(lock);
      expect(left).toBeGreaterThan(100);
      expect(left).toBeLessThanOrEqual(300);
      await new Promise((r) => setTimeout(r, 400));
      expect(await cache.holdGet(lock)).toBe(0);
      expect(await cache.countGet(key)).toBe(0);
    });

    it('opens a new window after the old one ends', async () => {
      const key = k('rl');
      expect((await cache.rateLimit(key, 1, 200)).allowed).toBe(true);
      expect((await cache.rateLimit(key, 1, 200)).allowed).toBe(false);
      await new Promise((r) => setTimeout(r, 350));
      expect((await cache.rateLimit(key, 1, 200)).allowed).toBe(true);
    });

    it('tracks presence by connection: online with the first, offline after the last', async () => {
      const u = k('user');
      expect(await cache.presenceAdd(u, 'c1')).toBe(true);
      expect(await cache.presenceAdd(u, 'c2')).toBe(false);
      expect(await cache.presenceOnline([u, 'nobody'])).toEqual({ [u]: true, nobody: false });
      expect([await cache.presenceCount(u), await cache.presenceCount('nobody')]).toEqual([2, 0]);
      expect(await cache.presenceRemove(u, 'c1')).toBe(false);
      expect(await cache.presenceRemove(u, 'c1')).toBe(false);
      expect(await cache.presenceRemove(u, 'c2')).toBe(true);
      expect((await cache.presenceOnline([u]))[u]).toBe(false);
      await cache.presenceAdd(u, 'c3');
      await cache.presenceHeartbeat([{ username: u, connectionId: 'c3' }]);
      expect((await cache.presenceOnline([u]))[u]).toBe(true);
    });
  });
}
