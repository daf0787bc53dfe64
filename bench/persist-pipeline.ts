/**
 * The persistence pipeline on its own: Kafka into MongoDB, with no chatd in front.
 * `total` valid message records are produced to a fresh topic first (idempotent producer,
 * acks=all, chatd's own record format), then chatd's KafkaPersister drains the topic into a
 * fresh database through chatd's MongoStore. The figure is rows stored per second of drain,
 * counted by the persister and checked against the collection afterwards.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Kafka, logLevel } from 'kafkajs';
import { Redis } from 'ioredis';
import mongoose from 'mongoose';
import pino from 'pino';
import { v7 as uuidv7 } from 'uuid';
import type { Message } from '../src/protocol/index.js';
import { DlqIndex } from '../src/daemon/log/failed-store.js';
import { ensureTopics, type KafkaSettings } from '../src/daemon/log/kafka.js';
import { KafkaPersister, PARTITIONS_CONCURRENTLY } from '../src/daemon/log/kafka-persister.js';
import { toRecord } from '../src/daemon/log/scaleout-log.js';
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
 * `batchSize`, by as many writers at once as the persister has (one per partition it
 * consumes concurrently), with no Kafka and no chatd code in the way.
 */
export async function rawInsertCeiling(opts: { total: number; conversations: number; batchSize: number }): Promise<{ messages: number; seconds: number; perSec: number; writers: number; cpuUsPerDoc: Record<string, number> | null }> {
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
  const cpu0 = engineCpu();
  const node0 = process.cpuUsage();
  const t0 = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: PARTITIONS_CONCURRENTLY }, async () => {
    while (next < batches.length) await col.insertMany(batches[next++]! as never[], { ordered: false });
  }));
  const seconds = (performance.now() - t0) / 1000;
  const cpu1 = engineCpu();
  const node = process.cpuUsage(node0);
  await conn.dropDatabase();
  await conn.close();
  const perDoc = (s: number) => Math.round((s * 1e6 / opts.total) * 10) / 10;
  const cpuUsPerDoc = cpu0 && cpu1 ? { ferretdb: perDoc(cpu1.ferretdb - cpu0.ferretdb), postgres: perDoc(cpu1.postgres - cpu0.postgres), driver: perDoc((node.user + node.system) / 1e6) } : null;
  return { messages: opts.total, seconds: round(seconds), perSec: Math.round(opts.total / seconds), writers: PARTITIONS_CONCURRENTLY, cpuUsPerDoc };
}

/**
 * CPU seconds used so far by the local engine behind MONGODB_URI, when it is the one
 * `services:up` starts (a FerretDB process, and PostgreSQL's processes with their exited
 * children); null elsewhere (another machine's MongoDB, or no /proc).
 */
function engineCpu(): { ferretdb: number; postgres: number } | null {
  const pids = (args: string[]) => {
    try {
      return execFileSync('pgrep', args).toString().trim().split('\n').filter(Boolean);
    } catch {
      return [];
    }
  };
  const ticks = (pid: string, children: boolean) => {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
      return f[11]! + f[12]! + (children ? f[13]! + f[14]! : 0);
    } catch {
      return 0;
    }
  };
  const ferret = pids(['-x', 'ferretdb']);
  if (ferret.length === 0) return null;
  // Clock ticks (USER_HZ, 100 on Linux) to seconds.
  const sum = (list: string[], children: boolean) => list.reduce((a, p) => a + ticks(p, children), 0) / 100;
  return { ferretdb: sum(ferret, false), postgres: sum(pids(['-u', 'postgres']), true) };
}
