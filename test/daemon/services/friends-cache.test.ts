import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryCache } from '../../../src/daemon/deployments/embedded/memory-cache.js';
import { SqliteStore } from '../../../src/daemon/deployments/embedded/sqlite-store.js';
import { FRIENDSHIP_CACHE_MS, FriendService } from '../../../src/daemon/services/friends.js';

/** The send path's friendship cache, on a real SQLite store, with a clock the test moves. */
describe('friendship cache on the send path', () => {
  let dir: string;
  let store: SqliteStore;
  let now: number;
  let friends: FriendService;
  const at = () => new Date(now).toISOString();
  /** Lets background checks (store reads on the writer's thread) finish. */
  const settle = async () => { for (let i = 0; i < 20; i++) await new Promise((r) => setTimeout(r, 5)); };

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chat-friends-'));
    store = new SqliteStore(path.join(dir, 'chat.db'));
    await store.start();
    now = 1_000_000;
    friends = new FriendService(store.accounts, store.friends, new MemoryCache(), () => now);
    await store.friends.addFriendEdge('ann', 'bob', at());
    await store.friends.addFriendEdge('bob', 'ann', at());
  });
  afterEach(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('answers from memory after one store read, and only while the answer is fresh', async () => {
    expect(friends.knownFriends('ann', 'bob')).toBe(false);
    expect(await friends.areFriends('ann', 'bob')).toBe(true);
    expect(friends.knownFriends('bob', 'ann')).toBe(true);
    now += FRIENDSHIP_CACHE_MS + 1;
    expect(friends.knownFriends('ann', 'bob')).toBe(false);
  });

  it('checks a talking pair again in the background before the answer expires, so it never waits on the store', async () => {
    await friends.areFriends('ann', 'bob');
    now += FRIENDSHIP_CACHE_MS * 0.6;
    expect(friends.knownFriends('ann', 'bob')).toBe(true); // answered at once, and checked again behind it
    await settle();
    now += FRIENDSHIP_CACHE_MS * 0.6; // past the first answer's expiry, within the refreshed one's
    expect(friends.knownFriends('ann', 'bob')).toBe(true);
  });

  it('a background check that finds the friendship gone (an announcement lost) drops it', async () => {
    await friends.areFriends('ann', 'bob');
    await store.friends.removeFriendEdges('ann', 'bob'); // written by another node whose announcement never came
    now += FRIENDSHIP_CACHE_MS * 0.6;
    expect(friends.knownFriends('ann', 'bob')).toBe(true);
    await settle();
    expect(friends.knownFriends('ann', 'bob')).toBe(false);
    expect(await friends.areFriends('ann', 'bob')).toBe(false);
  });

  it('a store read that began before an unfriend was announced does not cache its stale answer', async () => {
    // The store's answers are held until the test lets them go: a read under way on a slow store.
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    let reads = 0;
    const slow = new Proxy(store.friends, { get: (t, k) => (k === 'hasFriendEdge' ? async (a: string, b: string) => { const v = await t.hasFriendEdge(a, b); if (++reads === 2) await gate; return v; } : Reflect.get(t, k, t)) });
    const racing = new FriendService(store.accounts, slow, new MemoryCache(), () => now);
    const reading = racing.areFriends('ann', 'bob'); // reads both edges as they are (friends); the second answer is held
    await settle();
    await store.friends.removeFriendEdges('ann', 'bob');
    racing.forget('ann', 'bob'); // the unfriend's announcement arrives before the read's answer is cached
    release();
    expect(await reading).toBe(true); // the answer as of the read
    expect(racing.knownFriends('ann', 'bob')).toBe(false);
    expect(await racing.areFriends('ann', 'bob')).toBe(false);
  });

  it('a friend list read before an unfriend was announced is not cached either (presence goes by it)', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    const slow = new Proxy(store.friends, { get: (t, k) => (k === 'listFriendEdges' ? async (u: string) => { const v = await t.listFriendEdges(u); await gate; return v; } : Reflect.get(t, k, t)) });
    const racing = new FriendService(store.accounts, slow, new MemoryCache(), () => now);
    const reading = racing.friendNames('ann');
    await settle();
    await store.friends.removeFriendEdges('ann', 'bob');
    racing.forget('ann', 'bob');
    release();
    expect(await reading).toEqual(['bob']); // the list as of the read
    expect(await racing.friendNames('ann')).toEqual([]); // read again, not the stale copy
  });

  it('an unfriend announced while nothing is in flight ends the cached answer at once', async () => {
    await friends.areFriends('ann', 'bob');
    await store.friends.removeFriendEdges('ann', 'bob');
    friends.forget('ann', 'bob');
    expect(friends.knownFriends('ann', 'bob')).toBe(false);
    expect(await friends.areFriends('ann', 'bob')).toBe(false);
  });
});
