import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RECENT_PER_CONVERSATION, type Cache } from '../../../src/daemon/engines/types.js';
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

    it('remembers dedupe entries', async () => {
      const key = k('dd');
      expect(await cache.dedupeGet(key)).toBeNull();
      const m: Message = { id: 'i', seq: 1, conversationId: 'dm:a:b', from: 'aaa', to: 'bbb', text: 't', kind: 'user', createdAt: new Date().toISOString(), clientMsgId: 'c' };
      await cache.dedupeSet(key, m);
      expect(await cache.dedupeGet(key)).toEqual(m);
    });

    it('allocates seq atomically from the stored base, once per conversation', async () => {
      const conv = k('dm:a:b');
      let inits = 0;
      const init = async () => { inits++; await new Promise((r) => setTimeout(r, 20)); return 41; };
      const seqs = await Promise.all(Array.from({ length: 50 }, () => cache.nextSeq(conv, init)));
      expect(seqs.sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => 42 + i));
      expect(await cache.nextSeq(conv, init)).toBe(92);
      expect(await cache.nextSeq(k('dm:c:d'), async () => 0)).toBe(1);
      expect(inits).toBeGreaterThanOrEqual(1);
    });

    it('keeps recent messages per conversation, capped, oldest first, and indexes conversations per member', async () => {
      const tag = Math.random().toString(36).slice(2, 10);
      const a = `aa${tag}`;
      const b = `bb${tag}`;
      const conv = `dm:${a}:${b}`;
      const at = (i: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString();
      for (let i = 1; i <= RECENT_PER_CONVERSATION + 5; i++) {
        await cache.recentPush({ id: `m${i}`, seq: i, conversationId: conv, from: a, to: b, text: `t${i}`, kind: 'user', createdAt: at(i % 60) });
      }
      const recent = await cache.recent(conv);
      expect(recent).toHaveLength(RECENT_PER_CONVERSATION);
      expect(recent[0]!.seq).toBe(6);
      expect(recent[recent.length - 1]!.seq).toBe(RECENT_PER_CONVERSATION + 5);
      for (const u of [a, b]) {
        const convs = await cache.recentConversations(u);
        expect(convs.map((c) => [c.conversationId, c.lastSeq])).toEqual([[conv, RECENT_PER_CONVERSATION + 5]]);
      }
      expect(await cache.recent(k('dm:none'))).toEqual([]);
      expect(await cache.recentConversations(k('nobody'))).toEqual([]);
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
