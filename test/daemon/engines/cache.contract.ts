import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Cache } from '../../../src/daemon/engines/types.js';
import type { Message } from '../../../src/protocol/index.js';

/** The contract every Cache implementation passes; run unchanged against memory and Redis. */
export function cacheContract(name: string, make: () => Promise<Cache>, cleanup: (c: Cache) => Promise<void> = (c) => c.close()) {
  describe(`Cache contract: ${name}`, () => {
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

    it('opens a new window after the old one ends', async () => {
      const key = k('rl');
      expect((await cache.rateLimit(key, 1, 200)).allowed).toBe(true);
      expect((await cache.rateLimit(key, 1, 200)).allowed).toBe(false);
      await new Promise((r) => setTimeout(r, 350));
      expect((await cache.rateLimit(key, 1, 200)).allowed).toBe(true);
    });

    it('remembers dedupe entries', async () => {
      const key = k('dd');
      expect(await cache.dedupeGet(key)).toBeNull();
      const m: Message = { id: 'i', seq: 1, conversationId: 'dm:a:b', from: 'aaa', to: 'bbb', text: 't', kind: 'user', createdAt: new Date().toISOString(), clientMsgId: 'c' };
      await cache.dedupeSet(key, m);
      expect(await cache.dedupeGet(key)).toEqual(m);
    });

    it('tracks presence by connection: online with the first, offline after the last', async () => {
      const u = k('user');
      expect(await cache.presenceAdd(u, 'c1')).toBe(true);
      expect(await cache.presenceAdd(u, 'c2')).toBe(false);
      expect(await cache.presenceOnline([u, 'nobody'])).toEqual({ [u]: true, nobody: false });
      expect(await cache.presenceRemove(u, 'c1')).toBe(false);
      expect(await cache.presenceRemove(u, 'c1')).toBe(false);
      expect(await cache.presenceRemove(u, 'c2')).toBe(true);
      expect((await cache.presenceOnline([u]))[u]).toBe(false);
    });
  });
}
