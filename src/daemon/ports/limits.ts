export interface RateLimitResult {
  allowed: boolean;
  retryAfterMs: number;
}

/**
 * Counters every node shares: rate limits, failure counters and holds (locks that expire).
 * Every implementation passes test/daemon/ports/limits.contract.ts.
 */
export interface Limits {
  /**
   * Token bucket per key: `limit` hits at once, refilled at `limit` per `windowMs` (GCRA, the same
   * arithmetic on both deployments). A refused hit is not counted. An implementation held in this
   * process answers at once (no promise), so the embedded send path awaits nothing.
   */
  rateLimit(key: string, limit: number, windowMs: number): RateLimitResult | Promise<RateLimitResult>;
  /** Adds one to a failure counter that expires `windowMs` after its last hit; returns the count. */
  countHit(key: string, windowMs: number): Promise<number>;
  /** A failure counter's value (0 when expired or never hit). */
  countGet(key: string): Promise<number>;
  countClear(key: string): Promise<void>;
  /** Sets a hold on `key` for `ms`. */
  holdSet(key: string, ms: number): Promise<void>;
  /** Milliseconds left on a hold, 0 when there is none. */
  holdGet(key: string): Promise<number>;
}
