import type { Message } from '../../protocol/index.js';
import type { MessageDraft, Pipeline, Store } from './types.js';

interface Pending {
  draft: MessageDraft;
  resolve: (m: Message) => void;
  reject: (e: unknown) => void;
}

/**
 * The embedded pipeline: group commit. Drafts submitted in the same event-loop
 * turn are sequenced and written in one transaction, and every submitter is
 * resolved only after that commit. Seq counters live here (one process owns
 * the SQLite file), loaded from the store on first use and reloaded after a
 * failed write, so seq stays gap-free across failures and restarts.
 */
export class InProcessPipeline implements Pipeline {
  readonly kind = 'inprocess';
  private queue: Pending[] = [];
  private scheduled = false;
  private writing: Promise<void> = Promise.resolve();
  private readonly counters = new Map<string, number>();
  private closed = false;

  constructor(private readonly store: Store, private readonly maxBatch: number) {}

  async start() {}

  async close() {
    this.closed = true;
    await this.flush();
  }

  async health() {
    return { ok: !this.closed, kind: this.kind, detail: `queued=${this.queue.length}` };
  }

  submit(draft: MessageDraft): Promise<Message> {
    if (this.closed) return Promise.reject(Object.assign(new Error('pipeline closed'), { code: 'CHAT_ERR_SHUTTING_DOWN' }));
    return new Promise<Message>((resolve, reject) => {
      this.queue.push({ draft, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.drain());
      }
    });
  }

  async flush() {
    while (this.queue.length > 0 || this.scheduled) {
      if (this.queue.length > 0 && !this.scheduled) this.drain();
      await this.writing;
      await new Promise((r) => setImmediate(r));
    }
    await this.writing;
  }

  private drain() {
    this.scheduled = false;
    const batches: Pending[][] = [];
    while (this.queue.length > 0) batches.push(this.queue.splice(0, this.maxBatch));
    this.writing = this.writing.then(async () => {
      for (const batch of batches) await this.write(batch);
    });
  }

  private async write(batch: Pending[]) {
    const touched = new Map<string, number>();
    try {
      const messages: Message[] = [];
      for (const p of batch) {
        const c = p.draft.conversationId;
        let seq = touched.get(c) ?? this.counters.get(c);
        if (seq === undefined) seq = await this.store.maxSeq(c);
        seq += 1;
        touched.set(c, seq);
        const d = p.draft;
        const m: Message = { id: d.id, seq, conversationId: d.conversationId, from: d.from, to: d.to, text: d.text, kind: d.kind, createdAt: d.createdAt };
        if (d.clientMsgId !== undefined) m.clientMsgId = d.clientMsgId;
        messages.push(m);
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
