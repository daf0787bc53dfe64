/**
 * The persistence pipeline on its own: Kafka into MongoDB, with no chatd in front. It reaches the
 * deployment only through its factory (`createDeployment`, as chatd builds it from its config):
 * `total` messages are appended to a fresh deployment's scale-out log first (seq, dedupe and the
 * Kafka produce, with no persister running), then a second instance of that deployment, with its
 * persister, drains the topic into a fresh database. The figure is rows stored per second of
 * drain, counted by the persister's metric and checked against the collection afterwards.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import mongoose from 'mongoose';
import pino from 'pino';
import { v7 as uuidv7 } from 'uuid';
import { loadConfig } from '../../src/daemon/config.js';
import { dropDeployment } from '../cleanup.js';
import client from 'prom-client';
import { createDeployment } from '../../src/daemon/deployments/index.js';

export interface PipelineResult { writers: number; messages: number; stored: number; produceSeconds: number; drainSeconds: number; perSec: number; conversations: number; batchSize: number; partitions: number; cpuUsPerDoc: Record<string, number> | null }

/** One throwaway deployment (its own database, topics, consumer group and Redis prefix), not started yet. */
function deployment(id: string, dir: string, env: Record<string, string>): ReturnType<typeof createDeployment> {
  const u = new URL(process.env.MONGODB_URI!);
  u.pathname = `/${id}`;
  const { config } = loadConfig({
    env: {
      CHAT_DATA_DIR: dir, MONGODB_URI: u.toString(), REDIS_URL: process.env.REDIS_URL!, KAFKA_BROKERS: process.env.KAFKA_BROKERS!,
      CHAT_REDIS_PREFIX: `${id}:`, KAFKA_TOPIC: `${id}.messages`, KAFKA_DLQ_TOPIC: `${id}.dlq`, KAFKA_GROUP_ID: `${id}-persister`, KAFKA_CLIENT_ID: id,
      JWT_ACCESS_SECRET: `a-${id}-0123456789abcdef0123456789`, JWT_REFRESH_SECRET: `r-${id}-0123456789abcdef0123456789`, ...env,
    },
  });
  writers = config.persistConcurrency;
  return createDeployment(config, pino({ level: 'error' }));
}

/** Partitions the persister writes at once, as the configuration sets it. */
let writers = 0;

/** Messages the deployment's persister has taken off Kafka (stored or dead-lettered), from its own metric. */
async function persisted(registry: client.Registry): Promise<number> {
  const m = registry.getSingleMetric('chatd_persister_messages_total');
  if (!m) throw new Error('the deployment registered no chatd_persister_messages_total');
  return (await m.get()).values.reduce((n, v) => n + v.value, 0);
}

/** The message collection's indexes, as the last pipeline run's deployment made them. */
let messageIndexes: { key: Record<string, unknown>; name?: string; unique?: boolean; partialFilterExpression?: unknown }[] = [];

export async function persistPipeline(opts: { total: number; conversations: number; batchSize: number; partitions: number }): Promise<PipelineResult> {
  const id = `benchpipe${Date.now().toString(36)}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chat-bench-pipe-'));
  const settings = { KAFKA_PARTITIONS: String(opts.partitions), CHAT_PERSIST_BATCH: String(opts.batchSize) };

  // Appended first with no persister running, so the drain measures the consumer and the store alone.
  const writer = deployment(id, dir, { ...settings, CHAT_PERSISTER: 'false' });
  await writer.start();
  const t0 = performance.now();
  const chunk = 2000;
  for (let i = 0; i < opts.total; i += chunk) {
    const appends = [];
    for (let j = i; j < Math.min(opts.total, i + chunk); j++) {
      const c = j % opts.conversations;
      const a = `u${2 * c}`;
      const b = `u${2 * c + 1}`;
      appends.push(writer.log.append({ id: uuidv7(), conversationId: `dm:${a}:${b}`, from: j % 2 ? b : a, to: j % 2 ? a : b, text: `${id}-${j}|${'x'.repeat(40)}`, kind: 'user', createdAt: new Date().toISOString(), clientMsgId: uuidv7() }));
    }
    await Promise.all(appends);
  }
  const produceSeconds = (performance.now() - t0) / 1000;
  await writer.close();

  // The drain includes the reader's connecting (a few ms of the seconds it takes).
  const reader = deployment(id, dir, settings);
  const registry = new client.Registry();
  reader.registerMetrics(registry);
  const cpu0 = engineCpu();
  const node0 = process.cpuUsage();
  const t1 = performance.now();
  await reader.start();
  while ((await persisted(registry)) < opts.total) await new Promise((r) => setTimeout(r, 20));
  const drainSeconds = (performance.now() - t1) / 1000;
  const cpuUsPerDoc = perDoc(cpu0, engineCpu(), process.cpuUsage(node0), opts.total, 'persister');
  await reader.close();

  // Count the rows themselves, not the persister's tally (one scan of the collection).
  const u = new URL(process.env.MONGODB_URI!);
  u.pathname = `/${id}`;
  const conn = await mongoose.createConnection(u.toString()).asPromise();
  const stored = await conn.collection('messages').countDocuments({});
  // The indexes the deployment made, for the raw ceiling to write against the same ones.
  messageIndexes = (await conn.collection('messages').indexes()).filter((ix) => ix.name !== '_id_');
  await conn.close();
  await dropDeployment({ mongodbUri: u.toString(), redisPrefix: `${id}:`, topics: [`${id}.messages`, `${id}.dlq`], groupId: `${id}-persister` });
  fs.rmSync(dir, { recursive: true, force: true });
  return { writers, messages: opts.total, stored, produceSeconds: round(produceSeconds), drainSeconds: round(drainSeconds), perSec: Math.round(opts.total / drainSeconds), conversations: opts.conversations, batchSize: opts.batchSize, partitions: opts.partitions, cpuUsPerDoc };
}

const round = (s: number) => Math.round(s * 100) / 100;

/**
 * The engine's own ceiling, as the baseline for the pipeline: documents of the same shape,
 * with the same indexes, bulk-inserted straight through the driver in batches of
 * `batchSize`, by as many writers at once as the persister has (one per partition it
 * consumes concurrently), with no Kafka and no chatd code in the way.
 */
export async function rawInsertCeiling(opts: { total: number; conversations: number; batchSize: number; writers: number }): Promise<{ messages: number; seconds: number; perSec: number; writers: number; cpuUsPerDoc: Record<string, number> | null }> {
  const u = new URL(process.env.MONGODB_URI!);
  u.pathname = `/benchraw${Date.now().toString(36)}`;
  const conn = await mongoose.createConnection(u.toString()).asPromise();
  const col = conn.collection('messages');
  if (messageIndexes.length === 0) throw new Error('run persistPipeline first: the raw ceiling copies the indexes its deployment made');
  // An index that is not unique reads back without the option (or as null on FerretDB): it is passed only when set.
  for (const { key, name, unique, partialFilterExpression } of messageIndexes) await col.createIndex(key as never, { name, ...(unique ? { unique: true } : {}), ...(partialFilterExpression ? { partialFilterExpression: partialFilterExpression as never } : {}) });
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
  await Promise.all(Array.from({ length: opts.writers }, async () => {
    while (next < batches.length) await col.insertMany(batches[next++]! as never[], { ordered: false });
  }));
  const seconds = (performance.now() - t0) / 1000;
  const cpuUsPerDoc = perDoc(cpu0, engineCpu(), process.cpuUsage(node0), opts.total, 'driver');
  await conn.dropDatabase();
  await conn.close();
  return { messages: opts.total, seconds: round(seconds), perSec: Math.round(opts.total / seconds), writers: opts.writers, cpuUsPerDoc };
}

/** CPU µs per document of each local engine process and of this process (named `self`), between two readings. */
function perDoc(a: EngineCpu | null, b: EngineCpu | null, self: NodeJS.CpuUsage, docs: number, selfName: string): Record<string, number> | null {
  if (!a || !b) return null;
  const us = (s: number) => Math.round((s * 1e6 / docs) * 10) / 10;
  const out: Record<string, number> = {};
  for (const k of Object.keys(b) as (keyof EngineCpu)[]) if (b[k] !== null && a[k] !== null) out[k] = us(b[k]! - a[k]!);
  out[selfName] = us((self.user + self.system) / 1e6);
  return out;
}

interface EngineCpu { ferretdb: number; postgres: number; kafka: number | null }

/**
 * CPU seconds used so far by the local engines, when they are the ones
 * `services:up` starts (a FerretDB process, PostgreSQL's processes with their exited
 * children, and the Kafka broker's JVM); when it is the one
 * `services:up` starts (a FerretDB process, and PostgreSQL's processes with their exited
 * children); null elsewhere (another machine's MongoDB, or no /proc).
 */
function engineCpu(): EngineCpu | null {
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
  const kafka = pids(['-f', 'kafka\\.Kafka']);
  return { ferretdb: sum(ferret, false), postgres: sum(pids(['-u', 'postgres']), true), kafka: kafka.length ? sum(kafka, false) : null };
}
