import type { Cache, RateLimitResult } from './types.js';

/** Shared by every allowed hit: the caller only reads it. */
const ALLOWED: RateLimitResult = Object.freeze({ allowed: true, retryAfterMs: 0 });

/** The embedded cache: rate limits, failure counters and presence of one process. */
export class MemoryCache implements Cache {
  readonly kind = 'memory';
  private readonly windows = new Map<string, { start: number; count: number }>();
  /** Failure counters and locks: a value that expires at `until`. */
  private readonly expiring = new Map<string, { value: number; until: number }>();
  private readonly presence = new Map<string, Set<string>>();
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

  /** Answered at once: the send path awaits nothing for it. */
  rateLimit(key: string, limit: number, windowMs: number): RateLimitResult {
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
}
