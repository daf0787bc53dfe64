import { createLogger } from '../../src/daemon/logger.js';
import { MongoStore } from '../../src/daemon/deployments/scaleout/mongo-store.js';
import { RedisCache } from '../../src/daemon/deployments/scaleout/redis-cache.js';
import { DlqIndex, FailedStore } from '../../src/daemon/deployments/scaleout/failed-store.js';
import { ScaleOutLog } from '../../src/daemon/deployments/scaleout/scaleout-log.js';
import type { MessageDraft } from '../../src/daemon/ports/index.js';
import type { MessageLog } from '../../src/daemon/ports/log.js';
import { KafkaPersister } from '../../src/daemon/deployments/scaleout/kafka-persister.js';
import { isolation } from './services.js';

const log = createLogger(process.env.CHAT_TEST_LOG ?? 'silent');

/** Appends and returns the message (what a sender's ack carries). */
export const append = (l: MessageLog, d: MessageDraft) => l.append(d).then((r) => r.message);

/** Everything the scale-out log needs, isolated by unique db, prefix, topics and group. */
export async function kafkaRig(tag: string, base: { MONGODB_URI: string; REDIS_URL: string; KAFKA_BROKERS: string }) {
  const iso = isolation(tag);
  const e = iso.env(base);
  const settings = { brokers: e.KAFKA_BROKERS!.split(','), clientId: iso.id, topic: e.KAFKA_TOPIC!, dlqTopic: e.KAFKA_DLQ_TOPIC!, groupId: e.KAFKA_GROUP_ID!, partitions: 3, replicationFactor: 0 };
  const store = new MongoStore(e.MONGODB_URI!);
  const cache = new RedisCache(base.REDIS_URL!, e.CHAT_REDIS_PREFIX!);
  await store.start();
  await cache.start();
  const failed = new FailedStore(cache.client, e.CHAT_REDIS_PREFIX!);
  const dlq = new DlqIndex(cache.client, e.CHAT_REDIS_PREFIX!);
  const logs: ScaleOutLog[] = [];
  const persisters: KafkaPersister[] = [];
  const rig = {
    iso, settings, store, cache, failed, dlq,
    /** A scale-out log over the rig's engines (another one is a restart, or another node). */
    async messageLog(over: Partial<{ sendTimeoutMs: number; failedRetryMs: number }> = {}) {
      const l = new ScaleOutLog({ ...settings, sendTimeoutMs: 5000, lingerMs: 0, failedRetryMs: 60_000, prefix: e.CHAT_REDIS_PREFIX!, ...over }, cache.client, store.archive, failed, log);
      await l.start();
      logs.push(l);
      return l;
    },
    async persister() {
      const p = new KafkaPersister({ ...settings, batchSize: 500, lingerMs: 20, concurrency: 3 }, store.archive, dlq, log);
      await p.start();
      persisters.push(p);
      return p;
    },
    async cleanup() {
      for (const p of persisters) await p.close();
      for (const l of logs) await l.close().catch(() => {});
      await store.drop().catch(() => {});
      await store.close();
      await cache.close();
    },
  };
  return rig;
}

