import type { Message } from '../../protocol/index.js';
import { RECENT_PER_CONVERSATION, type Cache, type ConversationRecord, type RateLimitResult } from './types.js';

/**
 * A bounded map that forgets the oldest entries first, in O(1): two generations of at most
 * max/2 entries each; when the young one fills, the old one is dropped whole. (Deleting a Map's
 * first key one at a time is not O(1) in V8: iteration from the front walks every deleted slot
 * until the table is rehashed, which made this the hottest function on the send path.)
 */
export class BoundedMap<K, V> {
  private young = new Map<K, V>();
  private old = new Map<K, V>();
  private readonly half: number;
  constructor(max: number) {
    this.half = Math.max(1, Math.floor(max / 2));
  }
  get(k: K): V | undefined {
    return this.young.has(k) ? this.young.get(k) : this.old.get(k);
  }
  set(k: K, v: V) {
    this.old.delete(k);
    this.young.set(k, v);
    if (this.young.size >= this.half) {
      this.old = this.young;
      this.young = new Map();
    }
  }
  delete(k: K) {
    this.young.delete(k);
    this.old.delete(k);
  }
  get size() {
    return this.young.size + this.old.size;
  }
}

/** Shared by every allowed hit: the caller only reads it. */
const ALLOWED: RateLimitResult = Object.freeze({ allowed: true, retryAfterMs: 0 });

/**
 * The embedded cache. Dedupe entries are bounded: a miss falls back to the
 * store's (from, clientMsgId) index, so dedupe also holds across restarts.
 */
export class MemoryCache implements Cache {
  readonly kind = 'memory';
  readonly dedupeDurable = false;
  private readonly windows = new Map<string, { start: number; count: number }>();
  /** Failure counters and locks: a value that expires at `until`. */
  private readonly expiring = new Map<string, { value: number; until: number }>();
  private readonly dedupe = new BoundedMap<string, Message>(10_000);
  private readonly presence = new Map<string, Set<string>>();
  private readonly seqs = new BoundedMap<string, number>(100_000);
  private readonly seqInit = new Map<string, Promise<number>>();
  private readonly recents = new BoundedMap<string, Message[]>(10_000);
  private readonly convs = new BoundedMap<string, Map<string, ConversationRecord>>(10_000);
  private sweeper?: NodeJS.Timeout;

  constructor(private readonly now: () => number = Date.now) {}

  async start() {
    // Drop expired rate-limit windows so the map stays bounded.
    this.sweeper = setInterval(() => {
      const t = this.now();
      for (const [k, w] of this.windows) if (t - w.start > 3_600_000) this.windows.delete(k);
      for (const [k, e] of this.expiring) if (e.until <= t) this.expiring.delete(k);
    }, 60_000);
    this.sweeper.unref();
  }

  async close() {
    clearInterval(this.sweeper);
  }

  async health() {
    return { ok: true, kind: this.kind };
  }

  async rateLimit(key: string, limit: number, windowMs: number): Promise<RateLimitResult> {
    return this.rateLimitNow(key, limit, windowMs);
  }

  rateLimitNow(key: string, limit: number, windowMs: number): RateLimitResult {
    const t = this.now();
    let w = this.windows.get(key);
    if (!w || t - w.start >= windowMs) {
      w = { start: t, count: 0 };
      this.windows.set(key, w);
    }
    if (w.count >= limit) return { allowed: false, retryAfterMs: Math.max(1, w.start + windowMs - t) };
    w.count++;
    return ALLOWED;
  }

  async dedupeGet(key: string) {
    return this.dedupe.get(key) ?? null;
  }

  async dedupeSet(key: string, message: Message) {
    this.dedupe.set(key, message);
  }

  async presenceAdd(username: string, connectionId: string) {
    let set = this.presence.get(username);
    if (!set) this.presence.set(username, (set = new Set()));
    set.add(connectionId);
    return set.size === 1;
  }

  async presenceRemove(username: string, connectionId: string) {
    const set = this.presence.get(username);
    if (!set || !set.delete(connectionId)) return false;
    if (set.size > 0) return false;
    this.presence.delete(username);
    return true;
  }

  async presenceOnline(usernames: string[]) {
    const out: Record<string, boolean> = {};
    for (const u of usernames) out[u] = (this.presence.get(u)?.size ?? 0) > 0;
    return out;
  }

  async presenceCount(username: string) {
    return this.presence.get(username)?.size ?? 0;
  }

  private live(key: string) {
    const e = this.expiring.get(key);
    return e && e.until > this.now() ? e : undefined;
  }

  async countHit(key: string, windowMs: number) {
    const value = (this.live(`c:${key}`)?.value ?? 0) + 1;
    this.expiring.set(`c:${key}`, { value, until: this.now() + windowMs });
    return value;
  }

  async countGet(key: string) {
    return this.live(`c:${key}`)?.value ?? 0;
  }

  async countClear(key: string) {
    this.expiring.delete(`c:${key}`);
  }

  async holdSet(key: string, ms: number) {
    this.expiring.set(`h:${key}`, { value: 1, until: this.now() + ms });
  }

  async holdGet(key: string) {
    const e = this.live(`h:${key}`);
    return e ? e.until - this.now() : 0;
  }

  async presenceHeartbeat() {
    // One process: connections live exactly as long as their sockets.
  }

  async nextSeq(conversationId: string, init: () => Promise<number>) {
    let cur = this.seqs.get(conversationId);
    if (cur === undefined) {
      let pending = this.seqInit.get(conversationId);
      if (!pending) {
        pending = init().finally(() => this.seqInit.delete(conversationId));
        this.seqInit.set(conversationId, pending);
      }
      const base = await pending;
      cur = this.seqs.get(conversationId) ?? base;
    }
    this.seqs.set(conversationId, cur + 1);
    return cur + 1;
  }

  async recentPush(message: Message) {
    const list = this.recents.get(message.conversationId) ?? [];
    list.push(message);
    if (list.length > RECENT_PER_CONVERSATION) list.splice(0, list.length - RECENT_PER_CONVERSATION);
    this.recents.set(message.conversationId, list);
    const members = message.conversationId.startsWith('dm:') ? message.conversationId.slice(3).split(':') : [message.from, message.to];
    for (const u of members) {
      const m = this.convs.get(u) ?? new Map<string, ConversationRecord>();
      const prev = m.get(message.conversationId);
      if (!prev || prev.lastSeq < message.seq) m.set(message.conversationId, { conversationId: message.conversationId, members: members as [string, string], lastSeq: message.seq, updatedAt: message.createdAt });
      this.convs.set(u, m);
    }
  }

  async recent(conversationId: string) {
    return [...(this.recents.get(conversationId) ?? [])].sort((a, b) => a.seq - b.seq);
  }

  async recentConversations(username: string) {
    return [...(this.convs.get(username)?.values() ?? [])];
  }
}
