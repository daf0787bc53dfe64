import { performance } from 'node:perf_hooks';

export interface Pending<T, R> {
  item: T;
  resolve: (r: R) => void;
  reject: (e: unknown) => void;
}

/**
 * Group commit: items pushed in the same event-loop turn (or within `lingerMs`) are handed to
 * `process` together, one group at a time and in order; each pusher waits for its own result.
 * Items pushed while a group is being processed wait and go together in the next group, so
 * the slower the write, the larger the groups (at most `maxBatch`).
 */
export class GroupQueue<T, R> {
  private queue: Pending<T, R>[] = [];
  private scheduled = false;
  private active = false;
  private idle: (() => void)[] = [];
  /** Told each group's size and processing time (for metrics). */
  observer?: (size: number, ms: number) => void;

  constructor(private readonly process: (group: Pending<T, R>[]) => Promise<void>, private readonly opts: { maxBatch?: number; lingerMs?: number } = {}) {}

  get size() {
    return this.queue.length;
  }

  push(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      // While a group is in process, the loop picks this up when it is done.
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
        const group = this.queue.splice(0, max);
        const t0 = performance.now();
        try {
          await this.process(group);
        } catch (err) {
          for (const p of group) p.reject(err);
        }
        this.observer?.(group.length, performance.now() - t0);
      }
    } finally {
      this.active = false;
      for (const r of this.idle.splice(0)) r();
    }
  }
}
