import { performance } from 'node:perf_hooks';
import { ChatError } from '../../protocol/index.js';

/** One shared error for every refused push: under overload, building one per refusal would cost the most when it can least be afforded. */
const OVERLOADED = new ChatError('CHAT_ERR_UNAVAILABLE', 'chatd is overloaded and did not accept the message; retry with the same clientMsgId', { retryAfterMs: 1000 });

export interface Pending<T, R> {
  item: T;
  resolve: (r: R) => void;
  reject: (e: unknown) => void;
}

/**
 * Batched writes (group commit): items pushed in the same event-loop turn (or within `lingerMs`)
 * are handed to `process` together, one batch at a time and in order; each pusher waits for its
 * own result. Items pushed while a batch is being processed wait and go together in the next one,
 * so the slower the write, the larger the batches (at most `maxBatch`).
 */
export class BatchQueue<T, R> {
  private queue: Pending<T, R>[] = [];
  private scheduled = false;
  private active = false;
  private idle: (() => void)[] = [];
  /** Told each batch's size and processing time (for metrics). */
  observer?: (size: number, ms: number) => void;

  /**
   * `maxBatch`: the most items in one batch. `maxQueued`: the most items waiting; past it a push is
   * refused at once (CHAT_ERR_UNAVAILABLE, retry after a second) and nothing of it is kept, so
   * an overload costs the callers a retry, not the node its memory and every caller's latency.
   */
  constructor(private readonly process: (batch: Pending<T, R>[]) => Promise<void>, private readonly opts: { maxBatch?: number; lingerMs?: number; maxQueued?: number } = {}) {}

  get size() {
    return this.queue.length;
  }

  push(item: T): Promise<R> {
    if (this.queue.length >= (this.opts.maxQueued ?? Number.MAX_SAFE_INTEGER)) return Promise.reject(OVERLOADED);
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      // While a batch is in process, the loop picks this up when it is done.
      if (this.scheduled || this.active) return;
      this.scheduled = true;
      if (this.opts.lingerMs) setTimeout(() => void this.run(), this.opts.lingerMs);
      else setImmediate(() => void this.run());
    });
  }

  /** Resolves when everything pushed so far has been processed. */
  flush(): Promise<void> {
    if (!this.active && !this.scheduled && this.queue.length === 0) return Promise.resolve();
    if (!this.active && !this.scheduled) void this.run();
    return new Promise((r) => this.idle.push(r));
  }

  private async run() {
    this.scheduled = false;
    if (this.active) return;
    this.active = true;
    const max = this.opts.maxBatch ?? Number.MAX_SAFE_INTEGER;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, max);
        const t0 = performance.now();
        try {
          await this.process(batch);
        } catch (err) {
          for (const p of batch) p.reject(err);
        }
        this.observer?.(batch.length, performance.now() - t0);
      }
    } finally {
      this.active = false;
      for (const r of this.idle.splice(0)) r();
    }
  }
}
