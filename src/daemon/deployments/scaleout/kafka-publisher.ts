import type { Kafka, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import crypto from 'node:crypto';
import type { Message } from '../../../protocol/index.js';
import { jittered } from './backoff.js';
import type { FailedEntry, FailedStore } from './failed-store.js';
import { createKafka, ensureTopics, partitioner, type KafkaSettings } from './kafka.js';

export interface PublisherOptions extends KafkaSettings {
  sendTimeoutMs: number;
  failedRetryMs: number;
}

/** A sequenced message on its way to durability, with its JSON made once. */
export interface Durable {
  message: Message;
  json: string;
}

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

export function toRecord(m: Message, json = JSON.stringify(m)) {
  return { key: m.conversationId, value: json, headers: { 'x-message-id': m.id } };
}

/**
 * The durable path of the scale-out log: one idempotent Kafka producer (acks=all, one request in
 * flight so retries cannot reorder), and, when Kafka stays unavailable, the failed-publish store
 * in Redis behind it, republished in the background in per-conversation seq order. While a
 * conversation has failed entries, its new messages queue behind them there.
 */
export class FailoverPublisher {
  private readonly kafka: Kafka;
  private producer!: Producer;
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
  private lastError: string | null = null;

  constructor(private readonly opts: PublisherOptions, readonly failed: FailedStore, private readonly log: Logger, kafka?: Kafka) {
    this.kafka = kafka ?? createKafka(opts, log, 'producer');
    this.retryDelay = opts.failedRetryMs;
  }

  async start() {
    await ensureTopics(this.kafka, this.opts);
    await this.connectProducer();
    for (const c of await this.failed.conversations()) this.failedConvs.add(c);
    this.scheduleRetry(this.failedConvs.size > 0 ? 0 : this.opts.failedRetryMs);
  }

  /** Stops retrying; waits for a republish under way. */
  async close() {
    this.closed = true;
    clearTimeout(this.retryTimer);
    await this.retrying;
    await this.producer?.disconnect().catch(() => {});
  }

  health() {
    return { ok: this.kafkaUp && !this.closed, detail: this.kafkaUp ? `failedConversations=${this.failedConvs.size}` : `kafka unavailable: ${this.lastError}` };
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

  /**
   * Kafka, or the failed-publish store behind it. Returns what became durable, and what neither
   * took (the caller refuses those and rolls them back).
   */
  async persist<T extends Durable>(fresh: T[]): Promise<{ durable: T[]; refused: T[] }> {
    const direct: T[] = [];
    const parked: T[] = [];
    for (const f of fresh) (this.kafkaUp && !this.failedConvs.has(f.message.conversationId) ? direct : parked).push(f);
    const ok: T[] = [];
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
        return { durable: ok, refused: parked };
      }
    }
    return { durable: ok, refused: [] };
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
