/**
 * The scale-out deployment: any number of chatd nodes on MongoDB (messages and accounts), Redis
 * (seq, dedupe, the recent buffer, presence, limits, failed publishes, the Socket.IO adapter) and
 * Kafka (the durable pipeline, batched into MongoDB by the persister).
 */
import type { Logger } from 'pino';
import client from 'prom-client';
import fs from 'node:fs';
import type { Config } from '../../config.js';
import { securePrivateDir } from '../../files.js';
import type { Deployment, Lifecycle, Operations } from '../../ports/index.js';
import { ChatError } from '../../../protocol/index.js';
import { databasePorts, opened, type Database } from '../archive.js';
import { Parts } from '../parts.js';
import { DlqIndex, FailedStore } from './failed-store.js';
import type { KafkaSettings } from './kafka.js';
import { KafkaPersister } from './kafka-persister.js';
import { MongoStore } from './mongo-store.js';
import { GridFsBlobs } from './gridfs-blobs.js';
import { RedisBroker } from './redis-broker.js';
import { RedisCache } from './redis-cache.js';
import { ScaleOutLog } from './scaleout-log.js';
import { scaleOutOperations } from './operations.js';
import { OpenSearchIndex } from './opensearch-search.js';
import { SearchFeeder } from './search-feeder.js';

/** The deployment, and (for tests that seed or count rows, never for the daemon) its database. */
export function create(config: Config, log: Logger): Deployment & { readonly database: Database } {
  const db = new MongoStore(config.mongodbUri!, undefined, config.mongodbUsername ? { username: config.mongodbUsername, password: config.mongodbPassword! } : undefined);
  const cache = new RedisCache(config.redisUrl!, config.redisPrefix, config.redisPassword);
  const settings: KafkaSettings = {
    brokers: config.kafkaBrokers!, clientId: config.kafkaClientId, topic: config.kafkaTopic, dlqTopic: config.kafkaDlqTopic,
    groupId: config.kafkaGroupId, partitions: config.kafkaPartitions, replicationFactor: config.kafkaReplicationFactor, retentionHours: config.kafkaRetentionHours,
    ...(config.kafkaSaslMechanism ? { sasl: { mechanism: config.kafkaSaslMechanism, username: config.kafkaSaslUsername!, password: config.kafkaSaslPassword! } } : {}),
    tls: config.kafkaTls,
  };
  const archive = opened(() => db.archive);
  const failed = new FailedStore(cache.client, config.redisPrefix);
  const dlq = new DlqIndex(cache.client, config.redisPrefix);
  const messageLog = new ScaleOutLog({ ...settings, sendTimeoutMs: config.kafkaSendTimeoutMs, lingerMs: config.produceLingerMs, failedRetryMs: config.failedRetryMs, prefix: config.redisPrefix, maxBatch: config.commitBatchMax, maxQueued: config.maxQueuedMessages }, cache.client, archive, failed, log.child({ component: 'log' }));
  const persister = config.persister ? new KafkaPersister({ ...settings, batchSize: config.persistBatchSize, lingerMs: config.persistLingerMs, concurrency: config.persistConcurrency }, archive, dlq, log.child({ component: 'persister' })) : null;
  // Files' bytes: GridFS in the same database (any node serves any file).
  const blobs = new GridFsBlobs(() => db.database());
  const byRole: Record<string, Lifecycle> = { store: db, cache, log: messageLog, files: blobs };
  if (persister) byRole.persister = persister;
  // Search: OpenSearch, fed from the topic by its own consumer group (a role, like the persister).
  const search = config.opensearchUrl ? OpenSearchIndex.connect(config.opensearchUrl, config.opensearchIndex, messageLog) : null;
  const feeder = search && config.searchFeeder ? new SearchFeeder({ ...settings, searchGroupId: `${config.kafkaGroupId}-search`, batchSize: config.persistBatchSize, lingerMs: config.searchLingerMs }, search, log.child({ component: 'search-feeder' }), config.searchPurgeSeconds * 1000) : null;
  if (feeder) byRole.searchFeeder = feeder;
  const parts = new Parts(byRole, log);
  const broker = new RedisBroker(cache.client, config.redisPrefix, log);
  const base = scaleOutOperations(settings, messageLog, failed, dlq, log);
  const operations: Operations = {
    ...base,
    async searchReindex() {
      if (!search) throw new ChatError('CHAT_ERR_NOT_CONFIGURED', 'Search on scale-out needs OPENSEARCH_URL');
      await search.ensureIndex();
      // MongoDB is the source: wait (a minute at most) until the persister has stored every record.
      for (let i = 0; i < 600; i++) {
        const lag = (await base.status().catch(() => null))?.consumerLag;
        if (lag === 0) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      let indexed = 0;
      for await (const page of db.archive.scan()) indexed += await search.indexCurrent(page);
      log.info({ indexed }, 'search: reindexed from MongoDB');
      return { indexed };
    },
  };
  return {
    name: 'scaleout',
    database: db,
    engines: { store: 'mongodb', log: 'scaleout', cache: 'redis' },
    ...databasePorts(db),
    log: messageLog,
    blobs,
    presence: cache,
    limits: cache,
    broker,
    operations,
    search,
    registerMetrics(registry) {
      // The pipeline's backlog, read on each scrape (what `chat admin status` shows).
      new client.Gauge({
        name: 'chatd_pipeline_backlog', help: 'Scale-out backlog: consumer_lag (Kafka records not yet stored), failed_publishes (acknowledged while Kafka was down), dead_letters (pending replay)', labelNames: ['kind'], registers: [registry],
        async collect() {
          const st = await operations.status().catch(() => null);
          if (!st) return;
          if (st.consumerLag !== null) this.set({ kind: 'consumer_lag' }, st.consumerLag);
          if (st.failedStore !== null) this.set({ kind: 'failed_publishes' }, st.failedStore);
          if (st.dlq) this.set({ kind: 'dead_letters' }, st.dlq.pending);
        },
      });
      if (feeder) {
        // Records the search index has not taken yet: how far behind the messages it is.
        new client.Gauge({
          name: 'chatd_search_feeder_lag', help: 'Scale-out: Kafka records the search feeder has not applied to OpenSearch yet', registers: [registry],
          async collect() {
            const lag = await feeder.lag();
            if (lag !== null) this.set(lag);
          },
        });
      }
      if (!persister) return;
      new client.Counter({
        name: 'chatd_persister_messages_total', help: 'Messages this node\'s persister took from Kafka: stored in MongoDB, or dead-lettered', labelNames: ['outcome'], registers: [registry],
        collect() {
          this.reset();
          this.inc({ outcome: 'stored' }, persister.stored);
          this.inc({ outcome: 'dead_lettered' }, persister.deadLettered);
        },
      });
    },
    async start() {
      // The data dir holds nothing of the scale-out deployment's data, but secrets may be there.
      if (fs.existsSync(config.dataDir)) securePrivateDir(config.dataDir, (msg, detail) => log.warn(detail, msg));
      await parts.start();
    },
    async close() {
      await parts.close();
      await broker.close();
    },
    health: () => parts.health(),
    // A persister would join the live consumer group: `chatd check` probes the others.
    parts: () => parts.list().filter(([role]) => role !== 'persister'),
  };
}
