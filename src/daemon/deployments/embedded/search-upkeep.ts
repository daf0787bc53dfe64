import type { Logger } from 'pino';
import type { SqliteStore } from './sqlite-store.js';

/** Rows indexed per backfill transaction: about 10 ms of the writer's time, so sends wait at most that. */
export const BACKFILL_CHUNK = 500;

/**
 * The embedded search index's upkeep, both on the writer thread between batches: the backfill of a
 * data dir from before search (its messages indexed in chunks, with progress in the log, while
 * sends go on), and the purge that drops the words of deleted and replaced texts from the index
 * file every `purgeMs` when there were any.
 */
export class SearchUpkeep {
  private stopped = false;
  private backfill: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private purging: Promise<unknown> | null = null;

  constructor(private readonly store: SqliteStore, private readonly purgeMs: number, private readonly log: Logger) {}

  start() {
    this.stopped = false;
    this.backfill = this.runBackfill().catch((err: unknown) => this.log.error({ err }, 'search: indexing the messages from before search failed; it resumes at the next start'));
    this.timer = setInterval(() => { void this.purge(); }, this.purgeMs);
    this.timer.unref();
  }

  /** Runs a purge now (also what the timer does); resolves with how many texts had been replaced. */
  purge(): Promise<number> {
    const p = this.store.searchWork.purge().catch((err: unknown) => {
      this.log.warn({ err }, 'search: purging replaced words failed; the next purge retries');
      return 0;
    });
    this.purging = p;
    return p;
  }

  private async runBackfill() {
    let s = await this.store.searchWork.backfill(BACKFILL_CHUNK);
    if (s.done >= s.target) return;
    const started = Date.now();
    this.log.info({ done: s.done, target: s.target }, 'search: indexing the messages stored before search (sends go on meanwhile)');
    let logged = Date.now();
    while (!this.stopped && s.done < s.target) {
      s = await this.store.searchWork.backfill(BACKFILL_CHUNK);
      if (Date.now() - logged >= 5000) {
        logged = Date.now();
        this.log.info({ done: s.done, target: s.target, percent: Math.floor((100 * s.done) / s.target) }, 'search: indexing');
      }
    }
    if (s.done >= s.target) this.log.info({ rows: s.target, ms: Date.now() - started }, 'search: every stored message is indexed');
  }

  async stop() {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.backfill;
    await this.purging;
  }
}
