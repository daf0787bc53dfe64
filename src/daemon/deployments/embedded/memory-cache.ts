import type { Lifecycle, Limits, Presence, RateLimitResult } from '../../ports/index.js';

/**
 * One hit on a token bucket of `limit` tokens refilled over `windowMs` (GCRA: the state is one
 * number, the theoretical arrival time). Up to `limit` hits at once, then one per windowMs/limit:
 * never the 2 × limit burst a fixed window lets through around its edge. A refused hit changes
 * nothing, so hammering a limit does not push its end further away. Redis runs the same
 * arithmetic in a script (redis-cache.ts).
 */
export function gcra(stored: number | undefined, now: number, limit: number, windowMs: number): { allowed: boolean; retryAfterMs: number; tat?: number } {
  const interval = windowMs / limit;
  const tat = stored !== undefined && stored > now ? stored : now;
  const allowAt = tat - (windowMs - interval);
  if (now < allowAt) return { allowed: false, retryAfterMs: Math.max(1, Math.ceil(allowAt - now)) };
  return { allowed: true, retryAfterMs: 0, tat: tat + interval };
}

/** Shared by every allowed hit: the caller only reads it. */
const ALLOWED: RateLimitResult = Object.freeze({ allowed: true, retryAfterMs: 0 });

/** The embedded cache: rate limits, failure counters and presence of one process. */
export class MemoryCache implements Lifecycle, Limits, Presence {
  readonly kind = 'memory';
  /** Token buckets (GCRA): each key's theoretical arrival time; gone once its bucket is full again. */
  private readonly buckets = new Map<string, number>();
  /** Failure counters and locks: a value that expires at `until`. */
  private readonly expiring = new Map<string, { value: number; until: number }>();
  private readonly presence = new Map<string, Set<string>>();
  private sweeper?: NodeJS.Timeout;

  constructor(private readonly now: () => number = Date.now) {}

  async start() {
    // Drop expired rate-limit windows so the map stays bounded.
    this.sweeper = setInterval(() => {
      const t = this.now();
      for (const [k, tat] of this.buckets) if (tat <= t) this.buckets.delete(k);
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
    const r = gcra(this.buckets.get(key), this.now(), limit, windowMs);
    if (r.tat !== undefined) this.buckets.set(key, r.tat);
    return r.allowed ? ALLOWED : { allowed: false, retryAfterMs: r.retryAfterMs };
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
