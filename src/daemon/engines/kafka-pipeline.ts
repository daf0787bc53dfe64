import type { Kafka, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import crypto from 'node:crypto';
import { ChatError, type Message } from '../../protocol/index.js';
import { createKafka, ensureTopics, type KafkaSettings } from './kafka.js';
import { GroupQueue, withSeq, type Pending as GroupPending } from './group-queue.js';
import type { FailedEntry, FailedStore } from './failed-store.js';
import type { Cache, MessageDraft, Pipeline, Store } from './types.js';
import type { GroupObserver } from './types.js';

export interface KafkaPipelineOptions extends KafkaSettings {
  sendTimeoutMs: number;
  lingerMs: number;
  failedRetryMs: number;
}

type Pending = GroupPending<Message, Message>;

const MAX_RETRY_DELAY_MS = 5 * 60_000;
const REPLAY_CHUNK = 500;
/** Bytes of record values per produce request, well under the broker's default 1 MiB. */
const MAX_REQUEST_BYTES = 512 * 1024;

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

export function toRecord(m: Message) {
  return { key: m.conversationId, value: JSON.stringify(m), headers: { 'x-message-id': m.id } };
}

/**
 * The scale-out pipeline. A message gets its seq from Redis, then goes to Kafka with
 * acks=all through an idempotent producer with one request in flight (retries cannot
 * reorder). The sender is acknowledged once Kafka has it, or, when Kafka stays
 * unavailable, once it sits in the failed-publish store in Redis; if Redis fails too,
 * the send is refused. While a conversation has failed entries, its new messages queue
 * behind them there, so republishing keeps per-conversation seq order.
 */
export class KafkaPipeline implements Pipeline {
  readonly kind = 'kafka';
  private readonly kafka: Kafka;
  private producer!: Producer;
  private readonly queue: GroupQueue<Message, Message>;
  /** Resends are caught by the Redis dedupe before a seq is allotted. */
  readonly dedupesOnCommit = false;
  /** The store is written asynchronously by the persister: the recent cache covers the gap. */
  readonly storedOnAck = false;
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

  constructor(private readonly opts: KafkaPipelineOptions, private readonly cache: Cache, private readonly store: Store, readonly failed: FailedStore, private readonly log: Logger, kafka?: Kafka) {
    this.kafka = kafka ?? createKafka(opts, log, 'producer');
    this.retryDelay = opts.failedRetryMs;
    this.queue = new GroupQueue((batch) => this.send(batch), { lingerMs: opts.lingerMs });
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
    return { ok: this.kafkaUp && !this.closed, kind: this.kind, detail: this.kafkaUp ? `failedConversations=${this.failedConvs.size}` : `kafka unavailable: ${this.lastError}` };
  }

  async submit(draft: MessageDraft): Promise<Message> {
    if (this.closed) throw new ChatError('CHAT_ERR_SHUTTING_DOWN');
    let seq: number;
    try {
      seq = await this.cache.nextSeq(draft.conversationId, () => this.store.maxSeq(draft.conversationId));
    } catch (err) {
      this.log.error({ err }, 'seq allocation failed');
      throw new ChatError('CHAT_ERR_UNAVAILABLE', 'Redis is unavailable; the message was not accepted');
    }
    return this.queue.push(withSeq(draft, seq));
  }

  flush() {
    return this.queue.flush();
  }

  observe(fn: GroupObserver) {
    this.queue.observer = fn;
  }

  private async send(batch: Pending[]) {
    if (batch.length === 0) return;
    const direct: Pending[] = [];
    const parked: Pending[] = [];
    for (const p of batch) (this.kafkaUp && !this.failedConvs.has(p.item.conversationId) ? direct : parked).push(p);
    if (direct.length > 0) {
      try {
        await this.publish(direct.map((p) => p.item));
        for (const p of direct) p.resolve(p.item);
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
      parked.sort((a, b) => a.item.seq - b.item.seq);
      try {
        await this.failed.add(parked.map((p) => p.item), this.lastError ?? 'queued behind earlier failed messages');
        for (const p of parked) {
          this.failedConvs.add(p.item.conversationId);
          p.resolve(p.item);
        }
      } catch (err) {
        this.log.error({ err }, 'failed-publish store unavailable; refusing messages');
        for (const p of parked) p.reject(new ChatError('CHAT_ERR_UNAVAILABLE', 'Kafka and Redis are unavailable; the message was not accepted'));
      }
    }
  }

  /** Publishes in order, in requests small enough for the broker's message.max.bytes (1 MiB by default). */
  private async publish(messages: Message[]) {
    for (const chunk of chunks(messages.map(toRecord))) {
      await this.producer.send({ topic: this.opts.topic, acks: -1, timeout: this.opts.sendTimeoutMs, messages: chunk });
    }
  }

  private scheduleRetry(delayMs: number) {
    if (this.closed) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void this.retryFailed().catch(() => {}), delayMs);
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
              await this.publish(part.map(stripEntry));
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
