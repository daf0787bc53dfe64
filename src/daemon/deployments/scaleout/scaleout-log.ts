import type { Kafka, Producer } from 'kafkajs';
import { jittered } from './backoff.js';
import type { Logger } from 'pino';
import type { Redis } from 'ioredis';
import crypto from 'node:crypto';
import { ChatError, type Message } from '../../../protocol/index.js';
import type { Appended, BatchObserver, ConversationRecord, HistoryRange, MessageDraft, MessageLog } from '../../ports/index.js';
import type { MessageArchive } from '../archive.js';
import { createKafka, ensureTopics, partitioner, type KafkaSettings } from './kafka.js';
import { BatchQueue, type Pending } from '../batch-queue.js';
import type { FailedEntry, FailedStore } from './failed-store.js';
import { RedisSequencer, type Sequenced } from './redis-sequencer.js';

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

const MAX_RETRY_DELAY_MS = 5 * 60_000;
const REPLAY_CHUNK = 500;
/** Bytes of record values per produce request, well under the broker's default 1 MiB. */
const MAX_REQUEST_BYTES = 512 * 1024;
/** A resend that finds its original still on its way to Kafka (on another node) looks again this often. */
const PENDING_POLL_MS = 50;

/** Splits records into ordered groups of at most MAX_REQUEST_BYTES (a single larger record goes alone). */
export function chunks<T extends { value: string }>(records: T[]): T[][] {
  const out: T[][] = [];
  let cur: T[] = [];
  let bytes = 0;
  for (const r of records) {
    const size = Buffer.byteLength(r.value) + 200;
    if (cur.length > 0 && bytes + size > MAX_REQUEST_BYTES) {
      out.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(r);
    bytes += size;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

export function toRecord(m: Message, json = JSON.stringify(m)) {
  return { key: m.conversationId, value: json, headers: { 'x-message-id': m.id } };
}

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
  private readonly kafka: Kafka;
  private producer!: Producer;
  private readonly queue: BatchQueue<MessageDraft, Appended>;
  readonly seq: RedisSequencer;
  /** Conversations with entries in the failed store, as this node knows them. */
  private readonly failedConvs = new Set<string>();
  /** False after a failed publish, until a republish succeeds: sends go straight to the failed store. */
  private kafkaUp = true;
  private producerBroken = false;
  private closed = false;
  private retryTimer?: NodeJS.Timeout;
  private retryDelay: number;
  private retrying?: Promise<void>;
  private readonly owner = crypto.randomUUID();
  lastError: string | null = null;

  constructor(private readonly opts: ScaleOutLogOptions, redis: Redis, private readonly archive: MessageArchive, readonly failed: FailedStore, private readonly log: Logger, kafka?: Kafka) {
    this.kafka = kafka ?? createKafka(opts, log, 'producer');
    this.retryDelay = opts.failedRetryMs;
    this.seq = new RedisSequencer(redis, opts.prefix);
    this.queue = new BatchQueue((batch) => this.process(batch), { lingerMs: opts.lingerMs, maxBatch: opts.maxBatch, maxQueued: opts.maxQueued });
  }

  async start() {
    await ensureTopics(this.kafka, this.opts);
    await this.connectProducer();
    for (const c of await this.failed.conversations()) this.failedConvs.add(c);
    this.scheduleRetry(this.failedConvs.size > 0 ? 0 : this.opts.failedRetryMs);
  }

  private async connectProducer() {
    this.producer = this.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: partitioner,
      // Bounded, so a dead cluster fails over to the failed-publish store within sendTimeoutMs;
      // a retried duplicate is harmless (the store upserts by message id).
      retry: { initialRetryTime: 100, retries: 5, maxRetryTime: Math.max(500, Math.floor(this.opts.sendTimeoutMs / 3)) },
    });
    await this.producer.connect();
    this.producerBroken = false;
  }

  /**
   * After a failed send, an idempotent producer's sequence numbers may no longer match the
   * broker's (every later send then fails as out of order): start over with a new producer id.
   */
  private async resetProducer() {
    const old = this.producer;
    await old?.disconnect().catch(() => {});
    await this.connectProducer();
  }

  async close() {
    this.closed = true;
    clearTimeout(this.retryTimer);
    await this.flush();
    await this.retrying;
    await this.producer?.disconnect().catch(() => {});
  }

  async health() {
    return { ok: this.kafkaUp && !this.closed, kind: 'scaleout', detail: this.kafkaUp ? `failedConversations=${this.failedConvs.size}` : `kafka unavailable: ${this.lastError}` };
  }

  append(draft: MessageDraft): Promise<Appended> {
    if (this.closed) return Promise.reject(new ChatError('CHAT_ERR_SHUTTING_DOWN'));
    return this.queue.push(draft);
  }

  async lookup(from: string, clientMsgId: string) {
    const hit = await this.seq.dedupe(from, clientMsgId);
    return hit?.message ?? (await this.archive.getMessageByClientId(from, clientMsgId));
  }

  /** The archive's page merged with the recent buffer, which holds what MongoDB may not have yet. */
  async read(conversationId: string, r: HistoryRange): Promise<Message[]> {
    const [stored, recent] = await Promise.all([this.archive.history(conversationId, r), this.seq.recent(conversationId, r.afterSeq, r.beforeSeq)]);
    const bySeq = new Map<number, Message>(stored.map((m) => [m.seq, m]));
    for (const m of recent) if (!bySeq.has(m.seq)) bySeq.set(m.seq, m);
    if (bySeq.size === stored.length) return stored;
    const all = [...bySeq.values()].sort((a, b) => a.seq - b.seq);
    return r.afterSeq !== undefined ? all.slice(0, r.limit) : all.slice(-r.limit);
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
    const ok = fresh.length > 0 ? await this.persist(fresh) : [];
    if (ok.length > 0) {
      // Durable now: acked and fanned out at once. Marking them durable in the dedupe index is sent
      // right after, not waited for: it goes down the same Redis connection ahead of the next
      // batch's sequencing, so a resend in a later batch sees it; a resend that arrives before it
      // lands waits a moment (awaitDurable). This takes one Redis round trip off every ack.
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

  /**
   * Kafka, or the failed-publish store behind it. Returns what became durable; the rest is
   * refused (CHAT_ERR_UNAVAILABLE) and rolled back in Redis.
   */
  private async persist(fresh: Fresh[]): Promise<Fresh[]> {
    const direct: Fresh[] = [];
    const parked: Fresh[] = [];
    for (const f of fresh) (this.kafkaUp && !this.failedConvs.has(f.message.conversationId) ? direct : parked).push(f);
    const ok: Fresh[] = [];
    if (direct.length > 0) {
      try {
        await this.publish(direct.map((f) => toRecord(f.message, f.json)));
        ok.push(...direct);
      } catch (err) {
        this.lastError = (err as Error).message;
        if (this.kafkaUp) this.log.error({ err: this.lastError }, 'kafka publish failed; using the failed-publish store');
        this.kafkaUp = false;
        this.producerBroken = true;
        this.scheduleRetry(this.opts.failedRetryMs);
        parked.unshift(...direct);
      }
    }
    if (parked.length > 0) {
      parked.sort((a, b) => a.message.seq - b.message.seq);
      try {
        await this.failed.add(parked.map((f) => f.message), this.lastError ?? 'queued behind earlier failed messages');
        for (const f of parked) this.failedConvs.add(f.message.conversationId);
        ok.push(...parked);
      } catch (err) {
        this.log.error({ err }, 'failed-publish store unavailable; refusing messages');
        await this.seq.rollback(parked).catch((e: unknown) => this.log.error({ err: e }, 'could not roll back refused messages in redis'));
        const e = new ChatError('CHAT_ERR_UNAVAILABLE', 'Kafka and Redis are unavailable; the message was not accepted');
        for (const f of parked) f.p.reject(e);
      }
    }
    return ok;
  }

  /** Publishes in order, in requests small enough for the broker's message.max.bytes (1 MiB by default). */
  private async publish(records: ReturnType<typeof toRecord>[]) {
    for (const chunk of chunks(records)) {
      await this.producer.send({ topic: this.opts.topic, acks: -1, timeout: this.opts.sendTimeoutMs, messages: chunk });
    }
  }

  private scheduleRetry(delayMs: number) {
    if (this.closed) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void this.retryFailed().catch(() => {}), delayMs > 0 ? jittered(delayMs) : 0);
    this.retryTimer.unref();
  }

  /**
   * Republishes failed entries conversation by conversation, in seq order. Returns the
   * ids republished. With `only`, republishes the conversations holding those ids
   * (a later message is never stored before an earlier one).
   */
  async retryFailed(only?: string[]): Promise<{ replayed: string[]; remaining: number }> {
    while (this.retrying) await this.retrying;
    let done!: () => void;
    this.retrying = new Promise<void>((r) => { done = r; });
    const replayed: string[] = [];
    try {
      if (!(await this.failed.lock(this.owner, 60_000))) {
        this.scheduleRetry(this.retryDelay);
        return { replayed, remaining: await this.failed.size() };
      }
      try {
        const convs = await this.failed.conversations();
        let allOk = true;
        if (this.producerBroken && convs.length > 0) {
          try {
            await this.resetProducer();
          } catch (err) {
            this.lastError = (err as Error).message;
            allOk = false;
          }
        }
        for (const conv of allOk ? convs : []) {
          const entries = await this.failed.entries(conv);
          if (only && !entries.some((e) => only.includes(e.id))) continue;
          if (entries.length === 0) {
            await this.failed.dropIfEmpty(conv);
            this.failedConvs.delete(conv);
            continue;
          }
          try {
            // Chunk by chunk, removing what Kafka has acknowledged as it goes.
            for (let i = 0; i < entries.length; i += REPLAY_CHUNK) {
              const part = entries.slice(i, i + REPLAY_CHUNK);
              await this.publish(part.map((e) => toRecord(stripEntry(e))));
              await this.failed.remove(part);
              replayed.push(...part.map((e) => e.id));
            }
          } catch (err) {
            this.lastError = (err as Error).message;
            this.producerBroken = true;
            allOk = false;
            break;
          }
          if ((await this.failed.entries(conv)).length === 0) this.failedConvs.delete(conv);
        }
        for (const c of await this.failed.conversations()) this.failedConvs.add(c);
        if (allOk) {
          if (!this.kafkaUp) this.log.info({ replayed: replayed.length }, 'kafka is back; failed publishes replayed');
          this.kafkaUp = true;
          this.retryDelay = this.opts.failedRetryMs;
        } else {
          this.retryDelay = Math.min(this.retryDelay * 2, MAX_RETRY_DELAY_MS);
        }
      } finally {
        await this.failed.unlock(this.owner);
      }
      if (!only) this.scheduleRetry(this.failedConvs.size > 0 || !this.kafkaUp ? this.retryDelay : this.opts.failedRetryMs);
      return { replayed, remaining: await this.failed.size() };
    } finally {
      this.retrying = undefined;
      done();
    }
  }
}

function stripEntry(e: FailedEntry): Message {
  const { failedAt: _f, error: _e, ...m } = e;
  return m;
}
