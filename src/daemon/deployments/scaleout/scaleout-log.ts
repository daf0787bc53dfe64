import type { Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import type { Redis } from 'ioredis';
import { ChatError, isChange, type Message } from '../../../protocol/index.js';
import type { Appended, BatchObserver, ConversationRecord, HistoryRange, MessageDraft, MessageLog } from '../../ports/index.js';
import type { MessageArchive, MessageRef } from '../archive.js';
import type { KafkaSettings } from './kafka.js';
import { FailoverPublisher } from './kafka-publisher.js';
import { BatchQueue, type Pending } from '../batch-queue.js';
import type { FailedStore } from './failed-store.js';
import { RedisSequencer, type Sequenced } from './redis-sequencer.js';
import { overlay } from '../records.js';

export interface ScaleOutLogOptions extends KafkaSettings {
  sendTimeoutMs: number;
  lingerMs: number;
  failedRetryMs: number;
  /** Most messages sequenced and produced in one batch (one Redis script call, one produce). */
  maxBatch?: number;
  /** Most messages waiting to be sequenced; past it, sends are refused (CHAT_ERR_UNAVAILABLE). */
  maxQueued?: number;
  /** Prefix of the log's keys in Redis. */
  prefix: string;
}

/** A resend that finds its original still on its way to Kafka (on another node) looks again this often. */
const PENDING_POLL_MS = 50;

type Fresh = { p: Pending<MessageDraft, Appended>; message: Message; json: string };

/**
 * The scale-out message log. Per batch of drafts (one event-loop turn, or `lingerMs`): one Redis
 * script call sequences them, dedupes them by (from, clientMsgId) and puts them in the recent
 * buffer; one Kafka produce (acks=all, idempotent, one request in flight so retries cannot
 * reorder) makes them durable. The senders are acknowledged once Kafka has them, or, when Kafka
 * stays unavailable, once they sit in the failed-publish store in Redis; if Redis fails too, the
 * sends are refused. While a conversation has failed entries, its new messages queue behind them
 * there, so republishing keeps per-conversation seq order. The persister (kafka-persister.ts)
 * consumes the topic into MongoDB; `read` merges the recent buffer with it.
 */
export class ScaleOutLog implements MessageLog {
  private readonly queue: BatchQueue<MessageDraft, Appended>;
  readonly seq: RedisSequencer;
  private readonly publisher: FailoverPublisher;
  private closed = false;

  constructor(private readonly opts: ScaleOutLogOptions, redis: Redis, private readonly archive: MessageArchive, failed: FailedStore, private readonly log: Logger, kafka?: Kafka) {
    this.publisher = new FailoverPublisher(opts, failed, log, kafka);
    this.seq = new RedisSequencer(redis, opts.prefix);
    this.queue = new BatchQueue((batch) => this.process(batch), { lingerMs: opts.lingerMs, maxBatch: opts.maxBatch, maxQueued: opts.maxQueued });
  }

  async start() {
    await this.publisher.start();
  }

  async close() {
    this.closed = true;
    await this.flush();
    await this.publisher.close();
  }

  async health() {
    return { kind: 'scaleout', ...this.publisher.health() };
  }

  /** Republishes failed publishes (all, or the conversations holding `only`), in seq order. */
  retryFailed(only?: string[]) {
    return this.publisher.retryFailed(only);
  }

  append(draft: MessageDraft): Promise<Appended> {
    if (this.closed) return Promise.reject(new ChatError('CHAT_ERR_SHUTTING_DOWN'));
    return this.queue.push(draft);
  }

  async lookup(from: string, clientMsgId: string) {
    const hit = await this.seq.dedupe(from, clientMsgId);
    return hit?.message ?? (await this.archive.getMessageByClientId(from, clientMsgId));
  }

  /**
   * The archive's page merged with the recent buffer, which holds what MongoDB may not have yet:
   * its messages fill the page, and its change records apply where MongoDB has not applied them.
   */
  async read(conversationId: string, r: HistoryRange): Promise<Message[]> {
    // Changes to the page's messages come after them: the buffer from the range's start is enough.
    const [stored, recent] = await Promise.all([this.archive.history(conversationId, r), this.seq.recent(conversationId, r.afterSeq)]);
    const lo = r.afterSeq ?? 0;
    const hi = r.beforeSeq ?? Number.MAX_SAFE_INTEGER;
    const bySeq = new Map<number, Message>(stored.map((m) => [m.seq, m]));
    for (const m of recent) if (m.seq > lo && m.seq < hi && !bySeq.has(m.seq) && (!r.messagesOnly || !isChange(m))) bySeq.set(m.seq, m);
    const all = bySeq.size === stored.length ? stored : [...bySeq.values()].sort((a, b) => a.seq - b.seq);
    const page = bySeq.size === stored.length ? all : r.afterSeq !== undefined ? all.slice(0, r.limit) : all.slice(-r.limit);
    return overlay(page, recent);
  }

  async get(conversationId: string, seqs: number[]): Promise<Message[]> {
    return this.getAcross(seqs.map((seq) => ({ conversationId, seq })));
  }

  /**
   * Records at these places, as they now are: the archive's, each
   * conversation's recent buffer over them for what MongoDB may not have yet. In order of
   * conversation as asked, then seq.
   */
  async getAcross(refs: MessageRef[]): Promise<Message[]> {
    if (refs.length === 0) return [];
    const byConv = new Map<string, number[]>();
    for (const r of refs) byConv.set(r.conversationId, [...(byConv.get(r.conversationId) ?? []), r.seq]);
    const convs = [...byConv];
    // One read per conversation, all at once. (One read for all, conversationId $in, is what MongoDB
    // would rather have, but FerretDB filters that outside PostgreSQL: 0.07 s per read became 2 s.)
    const stored = Promise.all(convs.map(([c, seqs]) => this.archive.get(c, seqs))).then((x) => x.flat());
    // Changes to these messages come after the first of them: each buffer from there is enough.
    const [found, recents] = await Promise.all([stored, Promise.all(convs.map(([c, seqs]) => this.seq.recent(c, Math.min(...seqs) - 1)))]);
    return convs.flatMap(([c, seqs], i) => {
      const recent = recents[i]!;
      const bySeq = new Map<number, Message>(found.filter((m) => m.conversationId === c).map((m) => [m.seq, m]));
      const want = new Set(seqs);
      for (const m of recent) if (want.has(m.seq) && !bySeq.has(m.seq)) bySeq.set(m.seq, m);
      return overlay([...bySeq.values()].sort((a, b) => a.seq - b.seq), recent);
    });
  }

  async changed(conversationId: string, sinceSeq: number, limit: number): Promise<Message[]> {
    const [stored, recent] = await Promise.all([this.archive.changed(conversationId, sinceSeq, limit), this.seq.recent(conversationId, sinceSeq)]);
    const targets = [...new Set(recent.filter((m) => m.target !== undefined).map((m) => m.target!))].filter((t) => !stored.some((m) => m.seq === t));
    const more = targets.length ? await this.get(conversationId, targets) : [];
    const byChange = [...overlay(stored, recent), ...more].filter((m) => (m.changedSeq ?? 0) > sinceSeq);
    return byChange.sort((a, b) => a.changedSeq! - b.changedSeq!).slice(0, limit);
  }

  /** The archive's count, and the recent buffer's messages past what the archive holds. */
  async countMessages(conversationId: string, afterSeq: number, cap: number) {
    const [stored, top, recent] = await Promise.all([this.archive.countMessages(conversationId, afterSeq, cap), this.archive.maxSeq(conversationId), this.seq.recent(conversationId, afterSeq)]);
    return Math.min(cap, stored + recent.filter((m) => m.seq > top && !isChange(m)).length);
  }

  /**
   * The archive's count for what it holds, and the recent buffer's (as it now is) past that: a
   * change MongoDB has not applied yet to an archived message counts when it lands.
   */
  async countMentions(conversationId: string, afterSeq: number, username: string, cap: number) {
    const [stored, top, recent] = await Promise.all([this.archive.countMentions(conversationId, afterSeq, username, cap), this.archive.maxSeq(conversationId), this.seq.recent(conversationId, afterSeq)]);
    const newer = overlay(recent.filter((m) => m.seq > top && !isChange(m)), recent);
    return Math.min(cap, stored + newer.filter((m) => m.mentions?.includes(username)).length);
  }

  /**
   * The edit history: what MongoDB holds of the message (read at once: its text, state and the
   * seqs of the edits applied to it), then the edits in the recent buffer it has not applied yet.
   */
  async edits(conversationId: string, seq: number) {
    const [recent, stored] = await Promise.all([this.seq.recent(conversationId, seq - 1), this.archive.withPast(conversationId, seq)]);
    const base = stored?.message ?? recent.find((m) => m.seq === seq);
    if (!base) return null;
    const now = overlay([base], recent)[0]!;
    if (now.deleted || isChange(now)) return null;
    const original = stored ? (stored.kept.original ?? stored.message.text) : base.text;
    const applied = stored ? await this.archive.get(conversationId, stored.kept.editSeqs) : [];
    const from = stored ? (stored.message.changedSeq ?? seq) : seq;
    const pending = recent.filter((m) => m.kind === 'edit' && m.target === seq && m.seq > from && m.from === now.from);
    const later = [...applied, ...pending].sort((x, y) => x.seq - y.seq);
    return [{ text: original, at: now.createdAt }, ...later.map((e) => ({ text: e.text, at: e.createdAt }))];
  }

  /** The archive's conversations merged with the recent buffer's. */
  async conversations(username: string): Promise<ConversationRecord[]> {
    const [stored, recent] = await Promise.all([this.archive.listConversations(username), this.seq.recentConversations(username)]);
    const byId = new Map(stored.map((c) => [c.conversationId, c]));
    for (const c of recent) {
      const s = byId.get(c.conversationId);
      if (!s || s.lastSeq < c.lastSeq) byId.set(c.conversationId, c);
    }
    return [...byId.values()].sort((a, b) => b.updatedAt.localeCompare(a.updatedAt));
  }

  flush() {
    return this.queue.flush();
  }

  observeBatches(fn: BatchObserver) {
    this.queue.observer = fn;
  }

  /** One batch: sequence in Redis (one call), then make the fresh ones durable (one produce). */
  private async process(batch: Pending<MessageDraft, Appended>[]) {
    let seqd: Sequenced[];
    try {
      seqd = await this.seq.sequence(batch.map((p) => p.item), (c) => this.archive.maxSeq(c));
    } catch (err) {
      this.log.error({ err }, 'seq allocation failed');
      const e = new ChatError('CHAT_ERR_UNAVAILABLE', 'Redis is unavailable; the message was not accepted');
      for (const p of batch) p.reject(e);
      return;
    }
    const fresh: Fresh[] = [];
    const waiting: { p: Pending<MessageDraft, Appended>; original: Message }[] = [];
    seqd.forEach((r, i) => {
      const p = batch[i]!;
      if (r.kind === 'fresh') fresh.push({ p, message: r.message, json: r.json });
      else if (r.durable) p.resolve({ message: r.message, fresh: false });
      else waiting.push({ p, original: r.message });
    });
    const { durable: ok, refused: notTaken } = fresh.length > 0 ? await this.publisher.persist(fresh) : { durable: [], refused: [] };
    if (notTaken.length > 0) {
      await this.seq.rollback(notTaken).catch((e: unknown) => this.log.error({ err: e }, 'could not roll back refused messages in redis'));
      const e = new ChatError('CHAT_ERR_UNAVAILABLE', 'Kafka and Redis are unavailable; the message was not accepted');
      for (const f of notTaken) f.p.reject(e);
    }
    if (ok.length > 0) {
      // Durable now: acked and fanned out at once. Marking them durable in the dedupe index is sent
      // right after, not waited for: it goes down the same Redis connection ahead of the next
      // batch's sequencing, so a resend in a later batch sees it; a resend that arrives before it
      // lands waits a moment (awaitDurable). This takes one Redis round trip off every ack.
      // A delete is acknowledged once Redis holds no more of the message's content (rare: only then is this awaited).
      for (const f of ok) if (f.message.kind === 'delete') await this.seq.scrub(f.message).catch((err: unknown) => this.log.warn({ err }, 'could not remove a deleted message from the recent buffer'));
      for (const f of ok) f.p.resolve({ message: f.message, fresh: true });
      void this.seq.confirm(ok).catch((err: unknown) => this.log.warn({ err }, 'could not mark messages durable in the dedupe index; resends wait for it'));
    }
    // Resends whose original is pending: in this batch, they share its fate; otherwise they wait.
    const durable = new Map(ok.map((f) => [f.message.id, f.message]));
    const refused = new Set(fresh.map((f) => f.message.id).filter((id) => !durable.has(id)));
    for (const w of waiting) {
      const m = durable.get(w.original.id);
      if (m) w.p.resolve({ message: m, fresh: false });
      else if (refused.has(w.original.id)) w.p.reject(new ChatError('CHAT_ERR_UNAVAILABLE', 'Kafka and Redis are unavailable; the message was not accepted'));
      else this.awaitDurable(w.p, w.original);
    }
  }

  /**
   * A resend whose original is still on its way to Kafka (sequenced on another node, or in an
   * earlier batch here): answered with the original once it is durable; if the original was
   * refused in the meantime, appended anew.
   */
  private awaitDurable(p: Pending<MessageDraft, Appended>, original: Message) {
    const deadline = Date.now() + this.opts.sendTimeoutMs * 2;
    const look = async () => {
      try {
        const hit = await this.seq.dedupe(original.from, original.clientMsgId!);
        if (!hit) return this.append(p.item).then(p.resolve, p.reject);
        if (hit.durable) return p.resolve({ message: hit.message, fresh: false });
        if (Date.now() > deadline) return p.reject(new ChatError('CHAT_ERR_UNAVAILABLE', 'The original of this resend is not durable yet; retry'));
        setTimeout(() => void look(), PENDING_POLL_MS);
      } catch (err) {
        this.log.warn({ err }, 'dedupe lookup failed');
        p.reject(new ChatError('CHAT_ERR_UNAVAILABLE', 'Redis is unavailable; retry'));
      }
    };
    setTimeout(() => void look(), PENDING_POLL_MS);
  }
}
