/**
 * How long a handshake reuses what it read of a user and a session. Every node forgets an entry
 * as soon as a revocation or change is announced (over Redis between nodes), so this is only the
 * bound when that announcement is lost.
 */
export const CREDENTIAL_CACHE_MS = 30_000;
/** Entries kept per cache, so a flood of distinct tokens cannot grow it without bound. */
const CREDENTIAL_CACHE_MAX = 100_000;

/** A map whose entries expire; when full it starts over (the store is always the fallback). */
export class ExpiringMap<V> {
  private readonly m = new Map<string, { v: V; until: number }>();
  constructor(private readonly ttlMs: number, private readonly now: () => number) {}
  get(k: string): V | undefined {
    const e = this.m.get(k);
    if (!e) return undefined;
    if (e.until > this.now()) return e.v;
    this.m.delete(k);
    return undefined;
  }
  set(k: string, v: V) {
    if (this.m.size >= CREDENTIAL_CACHE_MAX) this.m.clear();
    this.m.set(k, { v, until: this.now() + this.ttlMs });
  }
  delete(k: string) {
    this.m.delete(k);
  }
  deleteWhere(f: (v: V) => boolean) {
    for (const [k, e] of this.m) if (f(e.v)) this.m.delete(k);
  }
}
