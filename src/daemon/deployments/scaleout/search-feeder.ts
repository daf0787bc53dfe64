import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import type { Message } from '../../../protocol/index.js';
import type { BackendHealth, Lifecycle } from '../../ports/index.js';
import { jittered } from './backoff.js';
import { consumerLag, createKafka, type KafkaSettings } from './kafka.js';
import { FETCH_MIN_BYTES, parseRecord } from './kafka-persister.js';
import type { OpenSearchIndex } from './opensearch-search.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The search feeder: a consumer group of its own on the message
 * topic that applies every record to the OpenSearch index in partition order (so per conversation),
 * in bulk, and commits offsets only after OpenSearch took them. OpenSearch down: the partition
 * waits (heartbeating) and retries with backoff, never committing past an unapplied record.
 * Records the persister dead-letters are skipped here (logged): they are in no conversation's log.
 */
export class SearchFeeder implements Lifecycle {
  private readonly kafka: Kafka;
  private consumer?: Consumer;
  private closed = false;
  private lastError: string | null = null;
  private waitingSince: number | null = null;
  applied = 0;

  private expunge?: NodeJS.Timeout;

  /** `expungeMs`: how often deleted documents are expunged from the index's segments (when there were deletes). */
  constructor(private readonly opts: KafkaSettings & { searchGroupId: string; batchSize: number; lingerMs: number }, private readonly index: OpenSearchIndex, private readonly log: Logger, private readonly expungeMs = 3_600_000, kafka?: Kafka) {
    this.kafka = kafka ?? createKafka(opts, log, 'search-feeder');
  }

  async start() {
    await this.index.ensureIndex();
    // A deleted document is only marked until its segment merges: expunge them on a schedule.
    this.expunge = setInterval(() => { void this.index.expungeDeletes().catch((err: Error) => this.log.warn({ err: err.message }, 'search feeder: expunging deleted documents failed; next time')); }, this.expungeMs);
    this.expunge.unref();
    // A fetch waits for 512 KB or the linger: each batch is one bulk request, and OpenSearch's cost
    // is mostly per request. Fetching whatever had arrived (every few ms under load) sent bulks of a
    // few documents each: at 1000 msg/s its JVM took most of a core.
    this.consumer = this.kafka.consumer({ groupId: this.opts.searchGroupId, maxWaitTimeInMs: this.opts.lingerMs, minBytes: FETCH_MIN_BYTES, allowAutoTopicCreation: false, retry: { retries: 8, initialRetryTime: 300, maxRetryTime: 5000, restartOnFailure: async () => !this.closed } });
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [this.opts.topic], fromBeginning: true });
    await this.consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: (p) => this.eachBatch(p) });
  }

  /** Records not yet in the index (the lag metric). */
  lag(): Promise<number | null> {
    return consumerLag(this.kafka, this.opts.topic, this.opts.searchGroupId).catch(() => null);
  }

  private async eachBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload) {
    const { topic, partition } = batch;
    for (let i = 0; i < batch.messages.length; i += this.opts.batchSize) {
      if (!isRunning() || isStale()) return;
      const chunk = batch.messages.slice(i, i + this.opts.batchSize);
      const records: Message[] = [];
      for (const r of chunk) {
        const m = parseRecord(r);
        if (m.ok) records.push(m.message);
        else this.log.warn({ topic, partition, offset: r.offset, error: m.error }, 'search feeder: record skipped (the persister dead-letters it)');
      }
      let pauseMs = 500;
      for (;;) {
        try {
          if (records.length) this.applied += (await this.index.apply(records)).applied;
          if (this.waitingSince !== null) this.log.info({ waitedMs: Date.now() - this.waitingSince }, 'search feeder: OpenSearch is back');
          this.waitingSince = null;
          break;
        } catch (err) {
          this.lastError = (err as Error).message;
          this.waitingSince ??= Date.now();
          this.log.warn({ err: this.lastError, topic, partition }, 'search feeder: OpenSearch refused a batch; retrying');
          if (!isRunning() || isStale() || this.closed) return;
          await heartbeat().catch(() => {});
          await sleep(jittered(pauseMs));
          pauseMs = Math.min(pauseMs * 2, 30_000);
        }
      }
      const last = chunk[chunk.length - 1]!;
      resolveOffset(last.offset);
      await this.consumer!.commitOffsets([{ topic, partition, offset: (BigInt(last.offset) + 1n).toString() }]);
      await heartbeat();
    }
  }

  async close() {
    this.closed = true;
    clearInterval(this.expunge);
    await this.consumer?.disconnect().catch(() => {});
  }

  async health(): Promise<BackendHealth> {
    if (this.waitingSince !== null) return { ok: false, kind: 'search-feeder', detail: `waiting for OpenSearch since ${new Date(this.waitingSince).toISOString()}: ${this.lastError}` };
    return { ok: true, kind: 'search-feeder', detail: `applied=${this.applied}` };
  }
}
