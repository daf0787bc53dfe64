/**
 * Removes what one throwaway scale-out deployment left in the shared engines: its database, its
 * topics and consumer group, and its Redis keys. Without this every run leaves them behind, and
 * later runs work on engines that keep growing (FerretDB's catalog, Kafka's partitions).
 */
import { Kafka, logLevel } from 'kafkajs';
import { Redis } from 'ioredis';
import mongoose from 'mongoose';

export interface Deployment { mongodbUri: string; redisPrefix: string; topics: string[]; groupId: string }

export async function dropDeployment(d: Deployment): Promise<void> {
  const conn = await mongoose.createConnection(d.mongodbUri).asPromise();
  await conn.dropDatabase();
  await conn.close();
  const redis = new Redis(process.env.REDIS_URL!, { maxRetriesPerRequest: 2 });
  for (let cursor = '0'; ;) {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${d.redisPrefix}*`, 'COUNT', 1000);
    if (keys.length) await redis.del(...keys);
    if ((cursor = next) === '0') break;
  }
  redis.disconnect();
  const admin = new Kafka({ clientId: 'bench-cleanup', brokers: process.env.KAFKA_BROKERS!.split(','), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.deleteGroups([d.groupId]).catch(() => {});
  await admin.deleteTopics({ topics: d.topics }).catch(() => {});
  await admin.disconnect();
}
