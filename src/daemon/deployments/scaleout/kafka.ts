import kafkajs, { Kafka, logLevel, Partitioners, type ICustomPartitioner, type ITopicConfig, type LogEntry } from 'kafkajs';
import type { Logger } from 'pino';

export interface KafkaSettings {
  brokers: string[];
  clientId: string;
  topic: string;
  dlqTopic: string;
  groupId: string;
  partitions: number;
  /** 0: min(3, brokers). */
  replicationFactor: number;
  /** retention.ms of both topics, in hours (Kafka's own default is 168). */
  retentionHours?: number;
  /** SASL authentication, when the brokers ask for it. */
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
  /** TLS to the brokers (verified against the system's CAs). */
  tls?: boolean;
}

/**
 * The partitioner of every producer, named so kafkajs does not warn at each start: the Java
 * client's murmur2 (kafkajs 2's default), so a conversation's records land on the same partition
 * whichever client produced them.
 */
export const partitioner: ICustomPartitioner = Partitioners.DefaultPartitioner;

/**
 * kafkajs warnings about choices made here on purpose, logged at debug: producers bound their
 * retries so a dead cluster fails over to the failed-publish store in time, and a retried
 * duplicate is harmless (the store upserts by message id).
 */
const CHOSEN = ['Limiting retries for the idempotent producer may invalidate EoS guarantees'];

/** A kafkajs client whose logs go to pino. */
export function createKafka(s: KafkaSettings, log: Logger, name: string): Kafka {
  const child = log.child({ kafka: name });
  return new Kafka({
    clientId: `${s.clientId}-${name}`,
    brokers: s.brokers,
    ...(s.sasl ? { sasl: s.sasl as never } : {}),
    ...(s.tls ? { ssl: true } : {}),
    connectionTimeout: 3000,
    requestTimeout: 10_000,
    retry: { initialRetryTime: 100, retries: 5, maxRetryTime: 2000 },
    logLevel: logLevel.WARN,
    logCreator: () => ({ level, log: entry }: { level: logLevel; log: LogEntry['log'] }) => {
      const { message, ...extra } = entry;
      if (level <= logLevel.ERROR) child.error(extra, message);
      else if (level === logLevel.WARN && !CHOSEN.includes(message)) child.warn(extra, message);
      else child.debug(extra, message);
    },
  });
}

/**
 * Creates the message topic (keyed by conversation) and the dead-letter topic if
 * missing, and waits for their leaders: right after creation a broker can briefly
 * answer that it does not host the partition.
 */
export async function ensureTopics(kafka: Kafka, s: KafkaSettings): Promise<{ replicationFactor: number }> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const cluster = await admin.describeCluster();
    const rf = s.replicationFactor > 0 ? s.replicationFactor : Math.min(3, cluster.brokers.length);
    const configEntries = rf >= 3 ? [{ name: 'min.insync.replicas', value: '2' }] : [];
    if (s.retentionHours !== undefined) configEntries.push({ name: 'retention.ms', value: String(s.retentionHours * 3_600_000) });
    const existing = new Set(await admin.listTopics());
    const topics: ITopicConfig[] = [];
    if (!existing.has(s.topic)) topics.push({ topic: s.topic, numPartitions: s.partitions, replicationFactor: rf, configEntries });
    if (!existing.has(s.dlqTopic)) topics.push({ topic: s.dlqTopic, numPartitions: 1, replicationFactor: rf, configEntries });
    if (topics.length > 0) {
      try {
        await admin.createTopics({ topics, waitForLeaders: true, timeout: 30_000 });
      } catch (err) {
        // Another node created them first.
        if ((err as { type?: string }).type !== 'TOPIC_ALREADY_EXISTS') throw err;
      }
    }
    await admin.fetchTopicMetadata({ topics: [s.topic, s.dlqTopic] });
    // Topics made before (or by another setting): retention follows the setting at every start.
    if (s.retentionHours !== undefined) {
      const mine = topics.map((t) => t.topic);
      const older = [s.topic, s.dlqTopic].filter((t) => !mine.includes(t));
      if (older.length > 0) await admin.alterConfigs({ validateOnly: false, resources: older.map((name) => ({ type: kafkajs.ConfigResourceTypes.TOPIC, name, configEntries })) });
    }
    return { replicationFactor: rf };
  } finally {
    await admin.disconnect();
  }
}

/** Lag of a consumer group on a topic: the sum over partitions of high watermark minus committed offset. */
export async function consumerLag(kafka: Kafka, topic: string, groupId: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [high, committed] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })]);
    const done = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
    return high.reduce((sum, p) => {
      const c = done.get(p.partition) ?? -1;
      const low = Number(p.low);
      return sum + Math.max(0, Number(p.high) - (c >= 0 ? c : low));
    }, 0);
  } finally {
    await admin.disconnect();
  }
}

/** Records ever written to a topic (sum of high minus low watermarks). */
export async function topicSize(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((s, p) => s + Number(p.high) - Number(p.low), 0);
  } finally {
    await admin.disconnect();
  }
}
