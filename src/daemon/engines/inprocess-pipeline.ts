import { ChatError, type Message } from '../../protocol/index.js';
import { GroupQueue, withSeq, type Pending as GroupPending } from './group-queue.js';
import type { MessageDraft, Pipeline, Store } from './types.js';
import type { GroupObserver } from './types.js';

type Pending = GroupPending<MessageDraft, Message>;

/**
 * The embedded pipeline: group commit. Drafts submitted in the same event-loop
 * turn are sequenced and written in one transaction, and every submitter is
 * resolved only after that commit. Seq counters live here (one process owns
 * the SQLite file), loaded from the store on first use and reloaded after a
 * failed write, so seq stays gap-free across failures and restarts.
 */
export class InProcessPipeline implements Pipeline {
  readonly kind = 'inprocess';
  private readonly queue: GroupQueue<MessageDraft, Message>;
  private readonly counters = new Map<string, number>();
  private closed = false;
  readonly dedupesOnCommit: boolean;
  /** submit resolves after the commit, so history reads see every acknowledged message. */
  readonly storedOnAck = true;

  constructor(private readonly store: Store, maxBatch: number) {
    this.queue = new GroupQueue((batch) => (this.store.appendMessages ? this.append(batch) : this.write(batch)), { maxBatch });
    this.dedupesOnCommit = this.store.appendMessages !== undefined;
  }

  async start() {}

  async close() {
    this.closed = true;
    await this.flush();
  }

  async health() {
    return { ok: !this.closed, kind: this.kind, detail: `queued=${this.queue.size}` };
  }

  submit(draft: MessageDraft): Promise<Message> {
    if (this.closed) return Promise.reject(new ChatError('CHAT_ERR_SHUTTING_DOWN'));
    return this.queue.push(draft);
  }

  flush() {
    return this.queue.flush();
  }

  observe(fn: GroupObserver) {
    this.queue.observer = fn;
  }

  /** The store sequences and dedupes in its own transaction (the embedded SQLite writer). */
  private async append(batch: Pending[]) {
    try {
      const stored = await this.store.appendMessages!(batch.map((p) => p.item));
      stored.forEach((m, i) => batch[i]!.resolve(m));
    } catch (err) {
      for (const p of batch) p.reject(err);
    }
  }

  private async write(batch: Pending[]) {
    const touched = new Map<string, number>();
    try {
      const messages: Message[] = [];
      for (const p of batch) {
        const c = p.item.conversationId;
        let seq = touched.get(c) ?? this.counters.get(c);
        if (seq === undefined) seq = await this.store.maxSeq(c);
        seq += 1;
        touched.set(c, seq);
        messages.push(withSeq(p.item, seq));
      }
      const stored = await this.store.insertMessages(messages);
      for (const [c, s] of touched) this.counters.set(c, s);
      let conflicts = false;
      stored.forEach((m, i) => {
        if (m.id !== messages[i]!.id) conflicts = true;
        batch[i]!.resolve(m);
      });
      // A conflict means a seq was handed out but not used: reload those counters from the store.
      if (conflicts) for (const c of touched.keys()) this.counters.delete(c);
    } catch (err) {
      for (const c of touched.keys()) this.counters.delete(c);
      for (const p of batch) p.reject(err);
    }
  }
}
