import type { Limits } from '../ports/index.js';
import { rateLimited } from '../errors.js';

/**
 * Per-minute request budgets of the REST side: each limit counts per user and, ten times higher,
 * per client address, so one address cannot spend a victim's budget and one user cannot hide
 * behind many addresses.
 */
export class RequestBudget {
  constructor(private readonly limits: Limits) {}

  /** Spends one request of `what` for this user and address; CHAT_ERR_RATE_LIMITED when either is spent. */
  async spend(what: string, userId: string, address: string, perMinute: number) {
    for (const [key, n] of [[`${what}:u:${userId}`, perMinute], [`${what}:ip:${address}`, perMinute * 10]] as const) {
      const r = await this.limits.rateLimit(key, n, 60_000);
      if (!r.allowed) throw rateLimited(r);
    }
  }
}
