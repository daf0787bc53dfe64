import type { Consumer, EachBatchPayload, Kafka, KafkaMessage, Producer } from 'kafkajs';
import retry from 'async-retry';
import { jittered } from './backoff.js';
import { SeqConflictError } from '../../ports/errors.js';
import type { Logger } from 'pino';
import { messageSchema, type Message } from '../../../protocol/index.js';
import { consumerLag, createKafka, partitioner, type KafkaSettings } from './kafka.js';
import type { DlqIndex } from './failed-store.js';
import type { BackendHealth, Lifecycle } from '../../ports/index.js';
import type { MessageArchive } from '../archive.js';

export interface PersisterOptions extends KafkaSettings {
  batchSize: number;
  lingerMs: number;
  /** Partitions written to the store at once, each a bulk insert of its own. */
  concurrency: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Whether a consumer with no batch for STALL_MS is stalled: lag left, or lag that cannot be read
 * (the lag query fails the same way the consumer does after a broker dies; read as "no lag", it
 * left a consumer stuck for good).
 */
export function stalled(lag: number | null): boolean {
  return lag !== 0;
}
/**
 * A fetch waits for this much data or the linger, whichever comes first: under load the persister
 * writes one batch per linger instead of one per trickle of records (each batch costs an insert,
 * head updates and a commit whatever its size), and an idle node fetches once per linger.
 */
export const FETCH_MIN_BYTES = 512 * 1024;
const ATTEMPTS = 3;
/** How often the watchdog looks, and how long without a batch (while lagging) counts as stalled. */
const WATCHDOG_MS = 5000;
const STALL_MS = 30_000;

/**
 * The persistence consumer: reads the message topic in batches, validates each record,
 * bulk-inserts into the store idempotently by message id, and commits offsets only after
 * the write. A store failure is retried 3 times with exponential backoff; then the
 * partition pauses (no further fetching, offsets untouched) and retries later, so it never
 * commits past an unwritten message and never buffers more than one batch. Records that
 * cannot be stored go to the dead-letter topic with their origin in headers.
 */
export class KafkaPersister implements Lifecycle {
  private readonly kafka: Kafka;
  private consumer?: Consumer;
  private dlqProducer?: Producer;
  private pausedSince: number | null = null;
  private watchdog?: NodeJS.Timeout;
  private lastProgress = Date.now();
  private restarting = false;
  private closed = false;
  restarts = 0;
  private lastError: string | null = null;
  stored = 0;
  deadLettered = 0;
  /** Test seam: called after a batch is written and before its offsets are committed. */
  afterWrite?: (messages: Message[]) => Promise<void>;

  constructor(private readonly opts: PersisterOptions, private readonly store: MessageArchive, private readonly dlq: DlqIndex, private readonly log: Logger, kafka?: Kafka) {
    this.kafka = kafka ?? createKafka(opts, log, 'persister');
  }

  async start() {
    this.dlqProducer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, createPartitioner: partitioner });
    await this.dlqProducer.connect();
    await this.startConsumer();
    this.watchdog = setInterval(() => void this.checkProgress(), WATCHDOG_MS);
    this.watchdog.unref();
  }

  /**
   * A consumer can stall after a broker dies (fetching from the dead leader); retries are
   * bounded so kafkajs crashes and restarts it with fresh metadata, and this watchdog
   * restarts it too when there is lag but no batch has arrived for a while.
   */
  private async checkProgress() {
    if (this.closed || this.restarting || this.pausedSince !== null) return;
    if (Date.now() - this.lastProgress < STALL_MS) return;
    const lag = await consumerLag(this.kafka, this.opts.topic, this.opts.groupId).catch((err: Error) => {
      this.log.warn({ err: err.message }, 'could not read the consumer lag');
      return null;
    });
    if (!stalled(lag)) {
      this.lastProgress = Date.now();
      return;
    }
    this.log.warn({ lag, idleMs: Date.now() - this.lastProgress }, 'persistence consumer stalled; restarting it');
    this.restarting = true;
    try {
      await this.consumer?.disconnect().catch(() => {});
      await this.startConsumer();
      this.restarts++;
    } catch (err) {
      this.log.error({ err }, 'consumer restart failed');
    } finally {
      this.lastProgress = Date.now();
      this.restarting = false;
    }
  }

  private async startConsumer() {
    this.consumer = this.kafka.consumer({
      groupId: this.opts.groupId,
      maxWaitTimeInMs: this.opts.lingerMs,
      minBytes: FETCH_MIN_BYTES,
      maxBytesPerPartition: 4 * 1024 * 1024,
      sessionTimeout: 20_000,
      heartbeatInterval: 3000,
      allowAutoTopicCreation: false,
      retry: { retries: 8, initialRetryTime: 300, maxRetryTime: 5000, restartOnFailure: async () => !this.closed },
    });
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [this.opts.topic], fromBeginning: true });
    await this.consumer.run({ autoCommit: false, eachBatchAutoResolve: false, partitionsConsumedConcurrently: this.opts.concurrency, eachBatch: (p) => this.eachBatch(p) });
    this.lastProgress = Date.now();
  }

  async close() {
    this.closed = true;
    clearInterval(this.watchdog);
    await this.consumer?.disconnect().catch(() => {});
    await this.dlqProducer?.disconnect().catch(() => {});
  }

  async health(): Promise<BackendHealth> {
    if (this.pausedSince !== null) return { ok: false, kind: 'kafka-persister', detail: `paused since ${new Date(this.pausedSince).toISOString()}: ${this.lastError}` };
    return { ok: true, kind: 'kafka-persister', detail: `stored=${this.stored} deadLettered=${this.deadLettered} restarts=${this.restarts}` };
  }

  get paused() {
    return this.pausedSince !== null;
  }

  private async eachBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload) {
    const { topic, partition } = batch;
    this.lastProgress = Date.now();
    for (let i = 0; i < batch.messages.length; i += this.opts.batchSize) {
      if (!isRunning() || isStale()) return;
      const chunk = batch.messages.slice(i, i + this.opts.batchSize);
      const valid: Message[] = [];
      const records: KafkaMessage[] = [];
      for (const record of chunk) {
        const m = parseRecord(record);
        if (m.ok) {
          valid.push(m.message);
          records.push(record);
        } else await this.deadLetter(topic, partition, record, m.error);
      }
      if (valid.length > 0) {
        const written = await this.writeUntilDone(topic, partition, records, valid, heartbeat, () => isRunning() && !isStale());
        if (!written) return;
        if (this.afterWrite) await this.afterWrite(valid);
      }
      const last = chunk[chunk.length - 1]!;
      resolveOffset(last.offset);
      await this.consumer!.commitOffsets([{ topic, partition, offset: (BigInt(last.offset) + 1n).toString() }]);
      this.lastProgress = Date.now();
      await heartbeat();
    }
  }

  /** Writes a chunk, retrying; returns false when the consumer is stopping (nothing committed). */
  private async writeUntilDone(topic: string, partition: number, records: KafkaMessage[], valid: Message[], heartbeat: () => Promise<void>, running: () => boolean): Promise<boolean> {
    let pauseMs = 1000;
    for (;;) {
      // A few quick attempts with randomised exponential backoff (async-retry), then a pause.
      let poison = false;
      const stored = await retry(async (bail, attempt) => {
        try {
          await this.store.insertMessages(valid);
          return true;
        } catch (err) {
          if (err instanceof SeqConflictError) {
            poison = true;
            return false;
          }
          this.lastError = (err as Error).message;
          this.log.warn({ attempt, err: this.lastError, topic, partition }, 'store write failed');
          if (!running()) {
            bail(err as Error);
            return false;
          }
          throw err;
        }
      }, { retries: ATTEMPTS - 1, factor: 2, minTimeout: 100, maxTimeout: 1000, randomize: true }).catch(() => false);
      if (poison) {
        await this.isolatePoison(topic, partition, records, valid);
        return true;
      }
      if (stored) {
        this.stored += valid.length;
        if (this.pausedSince !== null) this.log.info({ topic, partition, pausedMs: Date.now() - this.pausedSince }, 'store is back; consumer resumed');
        this.pausedSince = null;
        return true;
      }
      if (!running()) return false;
      if (this.pausedSince === null) {
        this.pausedSince = Date.now();
        this.log.error({ topic, partition, err: this.lastError }, 'store unavailable after retries; pausing the partition');
      }
      // Paused: keep the group membership alive, fetch nothing, retry later.
      const until = Date.now() + jittered(pauseMs);
      while (Date.now() < until) {
        if (!running()) return false;
        await heartbeat().catch(() => {});
        await sleep(Math.min(500, until - Date.now()));
      }
      pauseMs = Math.min(pauseMs * 2, 30_000);
    }
  }

  /** Some message of the chunk cannot be stored: write them one by one, dead-letter the culprits. */
  private async isolatePoison(topic: string, partition: number, records: KafkaMessage[], valid: Message[]) {
    for (let i = 0; i < valid.length; i++) {
      try {
        await this.store.insertMessages([valid[i]!]);
        this.stored++;
      } catch (err) {
        await this.deadLetter(topic, partition, records[i]!, (err as Error).message);
      }
    }
  }

  private async deadLetter(topic: string, partition: number, record: KafkaMessage, error: string) {
    const value = record.value?.toString('utf8') ?? '';
    await this.dlqProducer!.send({
      topic: this.opts.dlqTopic,
      acks: -1,
      messages: [{
        key: record.key,
        value: record.value,
        headers: { 'x-origin-topic': topic, 'x-origin-partition': String(partition), 'x-origin-offset': record.offset, 'x-error': error.slice(0, 1000) },
      }],
    });
    await this.dlq.add({ id: `${topic}-${partition}-${record.offset}`, topic, partition, offset: record.offset, key: record.key?.toString('utf8') ?? null, value, error, at: new Date().toISOString() });
    this.deadLettered++;
    this.log.warn({ topic, partition, offset: record.offset, error }, 'record dead-lettered');
  }
}

export function parseRecord(record: KafkaMessage): { ok: true; message: Message } | { ok: false; error: string } {
  if (!record.value) return { ok: false, error: 'empty record' };
  let json: unknown;
  try {
    json = JSON.parse(record.value.toString('utf8'));
  } catch {
    return { ok: false, error: 'not JSON' };
  }
  const r = messageSchema.safeParse(json);
  if (!r.success) return { ok: false, error: `invalid message: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'} ${i.message}`).join('; ')}` };
  if (record.key && record.key.toString('utf8') !== r.data.conversationId) return { ok: false, error: 'key does not match conversationId' };
  return { ok: true, message: r.data };
}
