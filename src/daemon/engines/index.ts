import path from 'node:path';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { ChatError, type Message } from '../../protocol/index.js';
import type { Config } from '../config.js';
import { DlqIndex, FailedStore } from '../log/failed-store.js';
import { EmbeddedLog } from '../log/embedded-log.js';
import { consumerLag, createKafka, partitioner, topicSize, type KafkaSettings } from '../log/kafka.js';
import { KafkaPersister } from '../log/kafka-persister.js';
import { ScaleOutLog, toRecord } from '../log/scaleout-log.js';
import type { MessageLog } from '../log/types.js';
import { MemoryCache } from './memory-cache.js';
import { MongoStore } from './mongo-store.js';
import { RedisCache } from './redis-cache.js';
import { SqliteStore } from './sqlite-store.js';
import type { Cache, CheckpointEvent, Lifecycle, Operations, Store } from './types.js';

export interface Engines {
  store: Store;
  cache: Cache;
  /** The message log: every send is appended to it, history is read from it. */
  log: MessageLog;
  /** The Kafka-to-store consumer, when this node runs one. */
  persister?: KafkaPersister;
  ops: Operations;
  /** The embedded store's WAL checkpoints, for metrics (SQLite only). */
  observeCheckpoints?: (fn: (c: CheckpointEvent) => void) => void;
  /** Redis connection for the Socket.IO adapter, when the cache is Redis. */
  redis?: Redis;
}

const notConfigured = () => { throw new ChatError('CHAT_ERR_NOT_CONFIGURED', 'Failed publishes and dead letters exist only with the scale-out log (KAFKA_BROKERS)'); };

/** The one place where configuration picks each engine; an unknown kind throws. */
export function createEngines(config: Config, log: Logger): Engines {
  let store: Store;
  let sqlite: SqliteStore | undefined;
  switch (config.store) {
    case 'sqlite':
      store = sqlite = new SqliteStore(path.join(config.dataDir, 'chat.db'));
      break;
    case 'mongodb':
      store = new MongoStore(config.mongodbUri!);
      break;
    default:
      throw new Error(`unknown store kind: ${String(config.store)}`);
  }
  let cache: Cache;
  let redis: Redis | undefined;
  switch (config.cache) {
    case 'memory':
      cache = new MemoryCache();
      break;
    case 'redis': {
      const rc = new RedisCache(config.redisUrl!, config.redisPrefix);
      redis = rc.client;
      cache = rc;
      break;
    }
    default:
      throw new Error(`unknown cache kind: ${String(config.cache)}`);
  }
  switch (config.pipeline) {
    case 'inprocess':
      if (!sqlite) throw new Error('the embedded log needs the sqlite store');
      return {
        store, cache, redis,
        log: new EmbeddedLog(sqlite, config.commitBatchMax, config.maxQueuedMessages),
        observeCheckpoints: (fn) => sqlite!.observeCheckpoints(fn),
        ops: { failedList: notConfigured, failedReplay: notConfigured, failedPurge: notConfigured, dlqList: notConfigured, dlqReplay: notConfigured, status: async () => ({ consumerLag: null, failedStore: null, dlq: null }) },
      };
    case 'kafka': {
      if (!redis) throw new Error('the scale-out log needs the redis cache');
      const settings: KafkaSettings = {
        brokers: config.kafkaBrokers!, clientId: config.kafkaClientId, topic: config.kafkaTopic, dlqTopic: config.kafkaDlqTopic,
        groupId: config.kafkaGroupId, partitions: config.kafkaPartitions, replicationFactor: config.kafkaReplicationFactor,
      };
      const failed = new FailedStore(redis, config.redisPrefix);
      const dlq = new DlqIndex(redis, config.redisPrefix);
      const messageLog = new ScaleOutLog({ ...settings, sendTimeoutMs: config.kafkaSendTimeoutMs, lingerMs: config.produceLingerMs, failedRetryMs: config.failedRetryMs, prefix: config.redisPrefix, maxBatch: config.commitBatchMax, maxQueued: config.maxQueuedMessages }, redis, store, failed, log.child({ component: 'log' }));
      const persister = config.persister ? new KafkaPersister({ ...settings, batchSize: config.persistBatchSize, lingerMs: config.persistLingerMs }, store, dlq, log.child({ component: 'persister' })) : undefined;
      const adminKafka = createKafka(settings, log, 'admin');
      const ops: Operations = {
        failedList: () => failed.all(),
        failedReplay: (ids) => messageLog.retryFailed(ids),
        async failedPurge(ids) {
          const all = await failed.all();
          const chosen = ids ? all.filter((e) => ids.includes(e.id)) : all;
          await failed.remove(chosen);
          return { purged: chosen.map((e) => e.id) };
        },
        dlqList: () => dlq.list(),
        async dlqReplay(ids) {
          const all = await dlq.list();
          const chosen = ids ? all.filter((e) => ids.includes(e.id)) : all;
          const producer = adminKafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, createPartitioner: partitioner });
          await producer.connect();
          try {
            // Back to the message topic as it was; a record that is still invalid dead-letters again.
            for (const e of chosen) {
              let message: Message | undefined;
              try { message = JSON.parse(e.value) as Message; } catch { message = undefined; }
              const record = message && typeof message === 'object' && typeof message.conversationId === 'string' ? toRecord(message) : { key: e.key, value: e.value };
              await producer.send({ topic: settings.topic, acks: -1, messages: [record] });
              await dlq.remove([e.id]);
            }
          } finally {
            await producer.disconnect();
          }
          return { replayed: chosen.map((e) => e.id), remaining: await dlq.size() };
        },
        async status() {
          const [lag, failedSize, pending, total] = await Promise.all([
            consumerLag(adminKafka, settings.topic, settings.groupId).catch(() => null),
            failed.size().catch(() => null),
            dlq.size().catch(() => null),
            topicSize(adminKafka, settings.dlqTopic).catch(() => null),
          ]);
          return { consumerLag: lag, failedStore: failedSize, dlq: pending === null ? null : { pending, total: total ?? pending } };
        },
      };
      return { store, cache, log: messageLog, persister, ops, redis };
    }
    default:
      throw new Error(`unknown message log kind: ${String(config.pipeline)}`);
  }
}

/** Engines in start order; close in reverse. */
export function lifecycleOf(e: Engines): Lifecycle[] {
  return [e.store, e.cache, e.log, ...(e.persister ? [e.persister] : [])];
}

/**
 * What tools outside the daemon (the bench) may know of the engines beyond `createEngines`: the
 * message collection's indexes on a MongoDB-wire store, and how many bulk writes the persister
 * runs at once (one per partition it consumes concurrently).
 */
export { MESSAGE_INDEXES } from './mongo-store.js';
export { PARTITIONS_CONCURRENTLY as PERSIST_WRITERS } from '../log/kafka-persister.js';
