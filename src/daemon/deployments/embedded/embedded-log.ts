import { ChatError, applyChange, isChange, type Message } from '../../../protocol/index.js';
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

  /** Recently read or changed messages as they now are: what a change's checks read first. */
  private readonly states = new RecentStates();

  constructor(private readonly store: SqliteStore, maxBatch: number, maxQueued = Number.MAX_SAFE_INTEGER) {
    this.queue = new BatchQueue(async (batch) => {
      try {
        const stored = await this.store.archive.appendMessages(batch.map((p) => p.item));
        stored.forEach((message, i) => {
          const fresh = message.id === batch[i]!.item.id;
          if (fresh) this.states.committed(message);
          batch[i]!.resolve({ message, fresh });
        });
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

  /** From the recent states (one node writes: they are exact). */
  recent(conversationId: string, seq: number): Message | undefined {
    return this.states.get(conversationId, seq);
  }

  /** From the recent states when they have it (one node writes: they are exact), else the file. */
  async get(conversationId: string, seqs: number[]) {
    const hits = seqs.map((seq) => this.states.get(conversationId, seq));
    if (hits.every((h) => h !== undefined)) return hits as Message[];
    const read = await this.store.archive.get(conversationId, seqs.filter((_, i) => hits[i] === undefined));
    for (const m of read) this.states.seen(m);
    return [...hits.filter((h): h is Message => h !== undefined), ...read].sort((a, b) => a.seq - b.seq);
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

/**
 * The states of messages the embedded log read or changed lately, kept current as records commit:
 * a change applies to its cached target with the fold the writer applies in its transaction
 * (changes.ts), in the same (commit) order, and the fold is idempotent, so a state read before
 * or after a change committed ends the same. Exact because this node is the only writer; bounded
 * (least recently used out first).
 */
export class RecentStates {
  private readonly map = new Map<string, Message>();

  constructor(private readonly cap = 4096) {}

  get(conversationId: string, seq: number): Message | undefined {
    const key = `${conversationId} ${seq}`;
    const m = this.map.get(key);
    if (m === undefined) return undefined;
    this.map.delete(key);
    this.map.set(key, m);
    return m;
  }

  /** A record just committed: a change moves its target's cached state on; a message is not cached until read. */
  committed(r: Message) {
    if (r.target === undefined || !isChange(r)) return;
    const key = `${r.conversationId} ${r.target}`;
    const target = this.map.get(key);
    if (target !== undefined) this.map.set(key, applyChange(target, r));
  }

  /** A state read from the file. */
  seen(m: Message) {
    const key = `${m.conversationId} ${m.seq}`;
    this.map.delete(key);
    this.map.set(key, m);
    if (this.map.size > this.cap) this.map.delete(this.map.keys().next().value!);
  }
}
