import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { FIELDS } from '../../src/daemon/config.js';

/* No Docker engine here: the compose file's structure is checked instead. */
interface Service { volumes?: string[]; entrypoint?: string[]; image?: string; build?: unknown; command?: string[]; environment?: Record<string, unknown>; depends_on?: Record<string, { condition: string }>; healthcheck?: unknown; ports?: string[]; secrets?: string[]; profiles?: string[]; deploy?: { resources?: { limits?: { cpus?: string; memory?: string } } } }
const compose = parse(fs.readFileSync(new URL('../../docker-compose.yml', import.meta.url), 'utf8'), { merge: true }) as { services: Record<string, Service>; secrets: Record<string, { environment?: string }> };
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
      expect(e.KAFKA_ADVERTISED_LISTENERS).toBe(`BROKER://${name}:9092`);
      // Data in the volume (the image's default is under /tmp, outside it).
      expect(e.KAFKA_LOG_DIRS).toBe('/var/lib/kafka/data');
      expect(s.volumes).toEqual([`${name}:/var/lib/kafka/data`]);
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
    // Every variable is a setting, or a secret setting's *_FILE.
    for (const key of Object.keys(first!.environment!)) expect(envNames.has(key) || (key.endsWith('_FILE') && envNames.has(key.slice(0, -5))), key).toBe(true);
    const e = first!.environment!;
    expect(e.KAFKA_BROKERS).toBe('kafka-1:9092,kafka-2:9092,kafka-3:9092');
    expect(String(e.MONGODB_URI)).toMatch(/replicaSet=rs0/);
    // Secrets as files (compose secrets, read through *_FILE), never as variables in the container.
    for (const key of Object.keys(e)) expect(key, key).not.toMatch(/^(JWT_ACCESS_SECRET|JWT_REFRESH_SECRET|GEMINI_API_KEY)$/);
    expect(e).toMatchObject({ JWT_ACCESS_SECRET_FILE: '/run/secrets/jwt_access_secret', JWT_REFRESH_SECRET_FILE: '/run/secrets/jwt_refresh_secret', GEMINI_API_KEY_FILE: '/run/secrets/gemini_api_key' });
    expect(first!.secrets).toEqual(['jwt_access_secret', 'jwt_refresh_secret', 'gemini_api_key', 'mongodb_password', 'redis_password', 'kafka_sasl_password']);
    expect(e).toMatchObject({ MONGODB_USERNAME: 'chatd', MONGODB_PASSWORD_FILE: '/run/secrets/mongodb_password', REDIS_PASSWORD_FILE: '/run/secrets/redis_password', KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'chatd', KAFKA_SASL_PASSWORD_FILE: '/run/secrets/kafka_sasl_password' });
    expect(compose.secrets.jwt_access_secret).toEqual({ environment: 'JWT_ACCESS_SECRET' });
    expect(e.OPENSEARCH_URL).toBe('http://opensearch:9200');
    expect(services.opensearch!.image).toMatch(/^opensearchproject\/opensearch:2\.19\./);
    for (const dep of ['mongo', 'redis', 'kafka-1', 'kafka-2', 'kafka-3', 'opensearch']) expect(first!.depends_on?.[dep]?.condition).toBe('service_healthy');
    expect(fs.existsSync(new URL('../../Dockerfile', import.meta.url))).toBe(true);
  });

  it('asks for a password on every engine but OpenSearch: every listener of Kafka, Redis, MongoDB with a key file', () => {
    for (const [name, s] of kafka) {
      const e = s.environment!;
      expect(e.KAFKA_LISTENER_SECURITY_PROTOCOL_MAP, name).toBe('CONTROLLER:SASL_PLAINTEXT,BROKER:SASL_PLAINTEXT');
      expect(String(e.KAFKA_LISTENERS).split(',').map((l) => l.split(':')[0]).sort()).toEqual(['BROKER', 'CONTROLLER']);
      expect(e.KAFKA_SASL_MECHANISM_INTER_BROKER_PROTOCOL).toBe('PLAIN');
      expect(e.KAFKA_SASL_MECHANISM_CONTROLLER_PROTOCOL).toBe('PLAIN');
      // Passwords by reference to the secret files ($$ is compose's escape of $), never written into the file.
      expect(String(e.KAFKA_LISTENER_NAME_BROKER_PLAIN_SASL_JAAS_CONFIG)).toContain('user_chatd="$${dir:/run/secrets:kafka_sasl_password}"');
      expect(s.secrets).toEqual(['kafka_broker_password', 'kafka_sasl_password']);
    }
    expect(services.redis!.secrets).toEqual(['redis_password']);
    expect(services.redis!.command!.slice(0, 2)).toEqual(['redis-server', '/run/redis/auth.conf']);
    expect(services.mongo!.command).toEqual(expect.arrayContaining(['--keyFile', '/data/configdb/keyfile']));
    expect(services.mongo!.secrets).toEqual(['mongo_root_password', 'mongodb_password']);
    expect(services['kafka-ui']!.environment!.KAFKA_CLUSTERS_0_PROPERTIES_SECURITY_PROTOCOL).toBe('SASL_PLAINTEXT');
    // Every secret comes from a variable of its own name, upper-cased.
    for (const [name, def] of Object.entries(compose.secrets)) expect(def, name).toEqual({ environment: name.toUpperCase() });
  });

  it('limits every service\'s CPU and memory, and starts the unauthenticated Kafka UI only on request', () => {
    for (const [name, s] of Object.entries(services)) {
      const limits = s.deploy?.resources?.limits;
      expect(limits?.cpus, name).toMatch(/^\d+(\.\d+)?$/);
      expect(limits?.memory, name).toMatch(/^\d+[mg]$/);
    }
    expect(services['kafka-ui']!.profiles).toEqual(['debug']);
    // Only chatd (and the Kafka UI, under its profile) publish ports; the engines stay on the compose network.
    expect(Object.entries(services).filter(([, s]) => s.ports?.length).map(([n]) => n).sort()).toEqual(['chatd-1', 'chatd-2', 'kafka-ui']);
  });
});
