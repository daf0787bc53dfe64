import type { Message } from '../../protocol/index.js';
import type { MessageDraft } from './types.js';

export interface Pending<T, R> {
  item: T;
  resolve: (r: R) => void;
  reject: (e: unknown) => void;
}

/**
 * Group commit: items pushed in the same event-loop turn (or within `lingerMs`) are handed to
 * `process` together, one group at a time and in order; each pusher waits for its own result.
 */
export class GroupQueue<T, R> {
  private queue: Pending<T, R>[] = [];
  private scheduled = false;
  private running: Promise<void> = Promise.resolve();

  constructor(private readonly process: (group: Pending<T, R>[]) => Promise<void>, private readonly opts: { maxBatch?: number; lingerMs?: number } = {}) {}

  get size() {
    return this.queue.length;
  }

  push(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (this.scheduled) return;
      this.scheduled = true;
      if (this.opts.lingerMs) setTimeout(() => this.drain(), this.opts.lingerMs);
      else setImmediate(() => this.drain());
    });
  }

  /** Resolves when everything pushed so far has been processed. */
  async flush() {
    while (this.queue.length > 0 || this.scheduled) {
      if (this.queue.length > 0 && !this.scheduled) this.drain();
      await this.running;
      await new Promise((r) => setImmediate(r));
    }
    await this.running;
  }

  private drain() {
    this.scheduled = false;
    const max = this.opts.maxBatch ?? Number.MAX_SAFE_INTEGER;
    const groups: Pending<T, R>[][] = [];
    while (this.queue.length > 0) groups.push(this.queue.splice(0, max));
    this.running = this.running.then(async () => {
      for (const g of groups) await this.process(g);
    });
  }
}

/** A draft with its seq, fields in the wire order. */
export function withSeq(d: MessageDraft, seq: number): Message {
  const m: Message = { id: d.id, seq, conversationId: d.conversationId, from: d.from, to: d.to, text: d.text, kind: d.kind, createdAt: d.createdAt };
  if (d.clientMsgId !== undefined) m.clientMsgId = d.clientMsgId;
  return m;
}
