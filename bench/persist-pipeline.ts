/**
 * The persistence pipeline on its own: Kafka into MongoDB, with no chatd in front.
 * `total` valid message records are produced to a fresh topic first (idempotent producer,
 * acks=all, chatd's own record format), then chatd's KafkaPersister drains the topic into a
 * fresh database through chatd's MongoStore. The figure is rows stored per second of drain,
 * counted by the persister and checked against the collection afterwards.
 */
import { performance } from 'node:perf_hooks';
import { Kafka, logLevel } from 'kafkajs';
import { Redis } from 'ioredis';
import mongoose from 'mongoose';
import pino from 'pino';
import { v7 as uuidv7 } from 'uuid';
import type { Message } from '../src/protocol/index.js';
import { DlqIndex } from '../src/daemon/engines/failed-store.js';
import { ensureTopics, type KafkaSettings } from '../src/daemon/engines/kafka.js';
import { KafkaPersister } from '../src/daemon/engines/kafka-persister.js';
import { toRecord } from '../src/daemon/engines/kafka-pipeline.js';
import { MESSAGE_INDEXES, MongoStore } from '../src/daemon/engines/mongo-store.js';

export interface PipelineResult { messages: number; stored: number; produceSeconds: number; drainSeconds: number; perSec: number; conversations: number; batchSize: number; partitions: number }

export async function persistPipeline(opts: { total: number; conversations: number; batchSize: number; partitions: number }): Promise<PipelineResult> {
  const id = `benchpipe${Date.now().toString(36)}`;
  const settings: KafkaSettings = { brokers: process.env.KAFKA_BROKERS!.split(','), clientId: id, topic: `${id}.messages`, dlqTopic: `${id}.dlq`, groupId: `${id}-persister`, partitions: opts.partitions, replicationFactor: 1 };
  const kafka = new Kafka({ clientId: id, brokers: settings.brokers, logLevel: logLevel.NOTHING });
  await ensureTopics(kafka, settings);

  // Produce first, so the drain measures the consumer and the store alone.
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  await producer.connect();
  const seqs = new Array<number>(opts.conversations).fill(0);
  const t0 = performance.now();
  const chunk = 2000;
  for (let i = 0; i < opts.total; i += chunk) {
    const records = [];
    for (let j = i; j < Math.min(opts.total, i + chunk); j++) {
      const c = j % opts.conversations;
      const a = `u${2 * c}`;
      const b = `u${2 * c + 1}`;
      const m: Message = { id: uuidv7(), seq: ++seqs[c]!, conversationId: `dm:${a}:${b}`, from: j % 2 ? b : a, to: j % 2 ? a : b, text: `${id}-${j}|${'x'.repeat(40)}`, kind: 'user', createdAt: new Date().toISOString(), clientMsgId: uuidv7() };
      records.push(toRecord(m));
    }
    await producer.send({ topic: settings.topic, acks: -1, messages: records });
  }
  const produceSeconds = (performance.now() - t0) / 1000;
  await producer.disconnect();

  const u = new URL(process.env.MONGODB_URI!);
  u.pathname = `/${id}`;
  const store = new MongoStore(u.toString());
  await store.start();
  const redis = new Redis(process.env.REDIS_URL!, { lazyConnect: false, maxRetriesPerRequest: 2 });
  const log = pino({ level: 'warn' });
  const persister = new KafkaPersister({ ...settings, batchSize: opts.batchSize, lingerMs: 50 }, store, new DlqIndex(redis, `${id}:`), log);
  const t1 = performance.now();
  await persister.start();
  while (persister.stored + persister.deadLettered < opts.total) await new Promise((r) => setTimeout(r, 20));
  const drainSeconds = (performance.now() - t1) / 1000;
  await persister.close();
  await store.close();
  // Count the rows themselves, not the persister's tally (one scan of the collection).
  const conn = await mongoose.createConnection(u.toString()).asPromise();
  const stored = await conn.collection('messages').countDocuments({});
  await conn.dropDatabase();
  await conn.close();
  redis.disconnect();
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [settings.topic, settings.dlqTopic] }).catch(() => {});
  await admin.disconnect();
  return { messages: opts.total, stored, produceSeconds: round(produceSeconds), drainSeconds: round(drainSeconds), perSec: Math.round(opts.total / drainSeconds), conversations: opts.conversations, batchSize: opts.batchSize, partitions: opts.partitions };
}

const round = (s: number) => Math.round(s * 100) / 100;

/**
 * The engine's own ceiling, as the baseline for the pipeline: documents of the same shape,
 * with the same two unique indexes, bulk-inserted straight through the driver in batches of
 * `batchSize`, with no Kafka and no chatd code in the way.
 */
export async function rawInsertCeiling(opts: { total: number; conversations: number; batchSize: number }): Promise<{ messages: number; seconds: number; perSec: number }> {
  const u = new URL(process.env.MONGODB_URI!);
  u.pathname = `/benchraw${Date.now().toString(36)}`;
  const conn = await mongoose.createConnection(u.toString()).asPromise();
  const col = conn.collection('messages');
  for (const [keys, options] of MESSAGE_INDEXES) await col.createIndex(keys, options);
  const seqs = new Array<number>(opts.conversations).fill(0);
  const batches: Record<string, unknown>[][] = [];
  for (let i = 0; i < opts.total; i += opts.batchSize) {
    const docs: Record<string, unknown>[] = [];
    for (let j = i; j < Math.min(opts.total, i + opts.batchSize); j++) {
      const c = j % opts.conversations;
      // Client ids as our clients make them (UUIDv7).
      const clientMsgId = uuidv7();
      docs.push({ _id: uuidv7(), conversationId: `dm:u${2 * c}:u${2 * c + 1}`, seq: ++seqs[c]!, from: `u${2 * c}`, to: `u${2 * c + 1}`, text: `raw-${j}|${'x'.repeat(40)}`, kind: 'user', createdAt: new Date().toISOString(), clientMsgId, dedupeKey: clientMsgId });
    }
    batches.push(docs);
  }
  const t0 = performance.now();
  for (const docs of batches) await col.insertMany(docs as never[], { ordered: false });
  const seconds = (performance.now() - t0) / 1000;
  await conn.dropDatabase();
  await conn.close();
  return { messages: opts.total, seconds: round(seconds), perSec: Math.round(opts.total / seconds) };
}
