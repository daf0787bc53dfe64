import { ChatError } from '../../../protocol/index.js';
import { classify } from '../../errors.js';
import type { SqliteStore } from './sqlite-store.js';
import type { Appended, BatchObserver, HistoryRange, MessageDraft, MessageLog } from '../../ports/index.js';
import { BatchQueue } from '../batch-queue.js';
import { editHistory } from '../records.js';

/**
 * The embedded message log: group commit into SQLite. Drafts appended in the same event-loop turn
 * go to the writer thread together; there, in one transaction, each gets its conversation's next
 * seq, unless its (from, clientMsgId) is stored already (then it resolves to the stored message
 * and takes no seq). Every appender resolves after the commit, so `read` sees what was acked.
 */
export class EmbeddedLog implements MessageLog {
  private readonly queue: BatchQueue<MessageDraft, Appended>;
  private closed = false;

  constructor(private readonly store: SqliteStore, maxBatch: number, maxQueued = Number.MAX_SAFE_INTEGER) {
    this.queue = new BatchQueue(async (batch) => {
      try {
        const stored = await this.store.archive.appendMessages(batch.map((p) => p.item));
        stored.forEach((message, i) => batch[i]!.resolve({ message, fresh: message.id === batch[i]!.item.id }));
      } catch (err) {
        // Typed: storage full or unavailable, never a raw driver error.
        const e = classify(err);
        for (const p of batch) p.reject(e);
      }
    }, { maxBatch, maxQueued });
  }

  async start() {}

  async close() {
    this.closed = true;
    await this.flush();
  }

  async health() {
    return { ok: !this.closed, kind: 'embedded', detail: `queued=${this.queue.size}` };
  }

  append(draft: MessageDraft): Promise<Appended> {
    if (this.closed) return Promise.reject(new ChatError('CHAT_ERR_SHUTTING_DOWN'));
    return this.queue.push(draft);
  }

  lookup(from: string, clientMsgId: string) {
    return this.store.archive.getMessageByClientId(from, clientMsgId);
  }

  read(conversationId: string, range: HistoryRange) {
    return this.store.archive.history(conversationId, range);
  }

  get(conversationId: string, seqs: number[]) {
    return this.store.archive.get(conversationId, seqs);
  }

  changed(conversationId: string, sinceSeq: number, limit: number) {
    return this.store.archive.changed(conversationId, sinceSeq, limit);
  }

  countMessages(conversationId: string, afterSeq: number, cap: number) {
    return this.store.archive.countMessages(conversationId, afterSeq, cap);
  }

  countMentions(conversationId: string, afterSeq: number, username: string, cap: number) {
    return this.store.archive.countMentions(conversationId, afterSeq, username, cap);
  }

  async edits(conversationId: string, seq: number) {
    const r = await this.store.archive.withPast(conversationId, seq);
    return r ? editHistory(r.message, r.kept, await this.store.archive.get(conversationId, r.kept.editSeqs)) : null;
  }

  conversations(username: string) {
    return this.store.archive.listConversations(username);
  }

  flush() {
    return this.queue.flush();
  }

  observeBatches(fn: BatchObserver) {
    this.queue.observer = fn;
  }
}
