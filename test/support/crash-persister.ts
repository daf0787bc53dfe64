/**
 * Runs a persistence consumer that kill -9s its own process right after its first
 * store write and before committing offsets. Used by the fault suite.
 * Env: MONGODB_URI, KAFKA_BROKERS, KAFKA_TOPIC, KAFKA_DLQ_TOPIC, KAFKA_GROUP_ID, REDIS_URL, CHAT_REDIS_PREFIX.
 */
import { createLogger } from '../../src/daemon/logger.js';
import { MongoStore } from '../../src/daemon/deployments/scaleout/mongo-store.js';
import { RedisCache } from '../../src/daemon/deployments/scaleout/redis-cache.js';
import { DlqIndex } from '../../src/daemon/deployments/scaleout/failed-store.js';
import { KafkaPersister } from '../../src/daemon/deployments/scaleout/kafka-persister.js';

const e = process.env;
const store = new MongoStore(e.MONGODB_URI!);
const cache = new RedisCache(e.REDIS_URL!, e.CHAT_REDIS_PREFIX!);
await store.start();
await cache.start();
const persister = new KafkaPersister(
  { brokers: e.KAFKA_BROKERS!.split(','), clientId: 'crasher', topic: e.KAFKA_TOPIC!, dlqTopic: e.KAFKA_DLQ_TOPIC!, groupId: e.KAFKA_GROUP_ID!, partitions: 3, replicationFactor: 0, batchSize: 100_000, lingerMs: 500, concurrency: 3 },
  store.archive, new DlqIndex(cache.client, e.CHAT_REDIS_PREFIX!), createLogger('silent'),
);
persister.afterWrite = async (messages) => {
  process.stdout.write(`wrote ${messages.length}\n`);
  process.kill(process.pid, 'SIGKILL');
  await new Promise(() => {});
};
await persister.start();
process.stdout.write('consuming\n');
