import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { FIELDS } from '../../src/daemon/config.js';

/* No Docker engine here: the compose file's structure is checked instead. */
interface Service { image?: string; build?: unknown; command?: string[]; environment?: Record<string, unknown>; depends_on?: Record<string, { condition: string }>; healthcheck?: unknown; ports?: string[] }
const compose = parse(fs.readFileSync(new URL('../../docker-compose.yml', import.meta.url), 'utf8'), { merge: true }) as { services: Record<string, Service> };
const services = compose.services;

describe('docker-compose.yml', () => {
  const kafka = Object.entries(services).filter(([, s]) => s.image?.startsWith('apache/kafka:4'));

  it('runs 3 Kafka brokers in KRaft mode, without ZooKeeper', () => {
    expect(kafka.map(([n]) => n).sort()).toEqual(['kafka-1', 'kafka-2', 'kafka-3']);
    expect(Object.values(services).some((s) => /zookeeper/i.test(s.image ?? ''))).toBe(false);
    const ids = new Set<unknown>();
    for (const [name, s] of kafka) {
      const e = s.environment!;
      expect(e.KAFKA_PROCESS_ROLES).toBe('broker,controller');
      expect(e.KAFKA_CONTROLLER_QUORUM_VOTERS).toBe('1@kafka-1:9093,2@kafka-2:9093,3@kafka-3:9093');
      expect(e.KAFKA_ADVERTISED_LISTENERS).toBe(`PLAINTEXT://${name}:9092`);
      expect(e.KAFKA_DEFAULT_REPLICATION_FACTOR).toBe(3);
      expect(e.KAFKA_MIN_INSYNC_REPLICAS).toBe(2);
      expect(e.KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR).toBe(3);
      expect(e.KAFKA_TRANSACTION_STATE_LOG_MIN_ISR).toBe(2);
      expect(s.healthcheck).toBeTruthy();
      ids.add(e.KAFKA_NODE_ID);
    }
    expect(ids.size).toBe(3);
    expect(new Set(kafka.map(([, s]) => s.environment!.CLUSTER_ID)).size).toBe(1);
  });

  it('runs MongoDB as a replica set, Redis with AOF and noeviction, and a Kafka UI', () => {
    expect(services.mongo!.command).toEqual(expect.arrayContaining(['--replSet', 'rs0']));
    expect(JSON.stringify(services.mongo!.healthcheck)).toContain('rs.initiate');
    const redis = services.redis!.command!.join(' ');
    expect(redis).toContain('--appendonly yes');
    expect(redis).toContain('--maxmemory-policy noeviction');
    expect(services['kafka-ui']!.environment!.KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS).toBe('kafka-1:9092,kafka-2:9092,kafka-3:9092');
  });

  it('runs two chatd replicas on the same env names, waiting for healthy engines', () => {
    const chatd = Object.entries(services).filter(([n]) => n.startsWith('chatd'));
    expect(chatd).toHaveLength(2);
    const envNames = new Set<string>(Object.values(FIELDS).map((f) => f.env));
    const [first, second] = chatd.map(([, s]) => s);
    expect(Object.keys(first!.environment!).sort()).toEqual(Object.keys(second!.environment!).sort());
    for (const key of Object.keys(first!.environment!)) expect(envNames.has(key), key).toBe(true);
    const e = first!.environment!;
    expect(e.KAFKA_BROKERS).toBe('kafka-1:9092,kafka-2:9092,kafka-3:9092');
    expect(String(e.MONGODB_URI)).toMatch(/replicaSet=rs0/);
    expect(String(e.JWT_ACCESS_SECRET)).toMatch(/^\$\{JWT_ACCESS_SECRET:\?/);
    expect(e.OPENSEARCH_URL).toBe('http://opensearch:9200');
    expect(services.opensearch!.image).toMatch(/^opensearchproject\/opensearch:2\.19\./);
    for (const dep of ['mongo', 'redis', 'kafka-1', 'kafka-2', 'kafka-3', 'opensearch']) expect(first!.depends_on?.[dep]?.condition).toBe('service_healthy');
    expect(fs.existsSync(new URL('../../Dockerfile', import.meta.url))).toBe(true);
  });
});
