import type { Logger } from 'pino';
import type { BackendHealth, Lifecycle } from '../ports/index.js';

/** Rejects when `p` takes longer than `ms`. */
export function bounded<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<T>((_, reject) => { t = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms); })]).finally(() => clearTimeout(t));
}

/**
 * A deployment's engines by role ({ store, cache, log, ... }), in start order: started in that
 * order, closed in reverse, and probed together.
 */
export class Parts {
  constructor(private readonly byRole: Record<string, Lifecycle>, private readonly log: Logger) {}

  async start() {
    for (const part of Object.values(this.byRole)) await part.start();
  }

  /** A dead engine must not hold shutdown hostage: each close gets 10 s. */
  async close() {
    for (const [role, part] of Object.entries(this.byRole).reverse()) {
      await bounded(part.close(), 10_000, `${role} close`).catch((err) => this.log.error({ err }, 'close failed'));
    }
  }

  /** The engines by role, in start order (`chatd check` starts and probes them one by one). */
  list(): [role: string, part: Lifecycle][] {
    return Object.entries(this.byRole);
  }

  /** Each engine's health; a failing probe reads as not ok. */
  async health(): Promise<Record<string, BackendHealth>> {
    const out: Record<string, BackendHealth> = {};
    for (const [role, part] of Object.entries(this.byRole)) out[role] = await part.health().catch((err: Error) => ({ ok: false, kind: role, detail: err.message }));
    return out;
  }
}
