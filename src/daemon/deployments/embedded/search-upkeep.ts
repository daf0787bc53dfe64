import type { Logger } from 'pino';
import type { SqliteStore } from './sqlite-store.js';
import { caughtUp } from './sqlite-search.js';

/** Rows indexed per transaction: a few milliseconds of the writer's time, so sends wait at most that. */
export const INDEX_CHUNK = 2000;
/** How often the indexer looks for new rows when it has caught up. */
export const INDEX_EVERY_MS = 50;

/**
 * The embedded search index's upkeep, both on the writer thread between send batches: the indexer
 * (new messages, in one transaction per pass; in a data dir from before search, every stored
 * message first, with progress in the log, while sends go on), and the purge that drops the words
 * of deleted and replaced texts from the index file every `purgeMs` when there were any.
 */
export class SearchUpkeep {
  private stopped = false;
  private indexer: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private purging: Promise<unknown> | null = null;
  private wake: (() => void) | null = null;

  constructor(private readonly store: SqliteStore, private readonly purgeMs: number, private readonly log: Logger) {}

  start() {
    this.stopped = false;
    this.indexer = this.runIndexer();
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

  private pause(ms: number) {
    return new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      t.unref();
      this.wake = () => { clearTimeout(t); resolve(); };
    });
  }

  private async runIndexer() {
    let s = await this.pass();
    // More than one pass of stored messages at start: a data dir from before search.
    const backlog = s && s.done < s.target ? { target: s.target, started: Date.now(), logged: Date.now() } : null;
    if (backlog) this.log.info({ done: s!.done, target: backlog.target }, 'search: indexing the messages stored before search (sends go on meanwhile)');
    let announced = backlog !== null;
    while (!this.stopped) {
      if (!s || caughtUp(s)) await this.pause(s ? INDEX_EVERY_MS : 1000);
      if (this.stopped) break;
      s = await this.pass();
      if (!announced || !s || !backlog) continue;
      if (s.done >= backlog.target) {
        this.log.info({ rows: backlog.target, ms: Date.now() - backlog.started }, 'search: every stored message is indexed');
        announced = false;
      } else if (Date.now() - backlog.logged >= 5000) {
        backlog.logged = Date.now();
        this.log.info({ done: s.done, target: backlog.target, percent: Math.floor((100 * s.done) / backlog.target) }, 'search: indexing');
      }
    }
  }

  /** One indexing pass; null when it failed (logged; the next pass retries). */
  private async pass() {
    try {
      return await this.store.searchWork.backfill(INDEX_CHUNK);
    } catch (err) {
      if (!this.stopped) this.log.warn({ err }, 'search: indexing new messages failed; retrying');
      return null;
    }
  }

  async stop() {
    this.stopped = true;
    this.wake?.();
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.indexer;
    await this.purging;
  }
}
