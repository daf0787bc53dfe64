import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTES } from '../../src/protocol/index.js';
import { registerUser, startDaemon, waitFor, befriend, type TestDaemon, type TestUser } from '../support/daemon.js';
import { documentedApi, servedDocuments } from '../support/documents.js';
import { isolation } from '../support/services.js';
import { startFakeGemini } from '../support/fake-gemini.js';
import { walkOperations, walkSummary, NEEDS_OPENSEARCH } from '../support/walk.js';
import { OPERATIONS } from '../../src/protocol/index.js';
import { services } from './env.js';

const env = services('MONGODB_URI', 'REDIS_URL', 'KAFKA_BROKERS');

if (env) {
  describe('admin operations on the scale-out engines, held to the served OpenAPI document', () => {
    let d: TestDaemon;
    let shared: Record<string, string>;
    let root: TestUser;
    let api: ReturnType<typeof documentedApi>;
    /** An admin REST call: it must succeed, and its answer conform to the document. */
    const admin = async <T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> => {
      const r = await api.call<T>(method, path, path, root.auth.accessToken, body);
      expect(r.status, `${method} ${path}: ${JSON.stringify(r.body)}`).toBe(200);
      return r.body;
    };
    beforeAll(async () => {
      shared = isolation('admindocs').env(env);
      d = await startDaemon(shared);
      root = await registerUser(d.url); // the first account of this deployment: admin
      api = documentedApi(d.url, await servedDocuments(d.url));
    });
    afterAll(async () => { await d?.close(); });

    it('a dead letter is listed, counted and replayed through chatd; a record still invalid dead-letters again', async () => {
      const bob = await registerUser(d.url);
      await befriend(root, bob);
      await root.api.sendRest({ to: bob.name, text: 'a valid message around the poison' });
      const kafka = new Kafka({ clientId: 'admindocs', brokers: env.KAFKA_BROKERS.split(','), logLevel: logLevel.NOTHING });
      const producer = kafka.producer();
      await producer.connect();
      await producer.send({ topic: shared.KAFKA_TOPIC!, messages: [{ key: 'dm:x:y', value: 'not json at all' }] });
      await producer.disconnect();

      type DeadLetter = { id: string; value: string; error: string };
      const dead = await waitFor(async () => { const l = await admin<DeadLetter[]>('GET', ROUTES.adminDlq); return l.length > 0 && l; }, 30_000);
      expect(dead.map((x) => x.value)).toEqual(['not json at all']);
      type Status = { consumerLag: number | null; failedStore: number | null; dlq: { pending: number; total: number } | null };
      const before = await admin<Status>('GET', ROUTES.adminStatus);
      expect(before.dlq).toEqual({ pending: 1, total: 1 });
      expect(before.failedStore).toBe(0);
      expect(typeof before.consumerLag).toBe('number');

      const replay = await admin<{ replayed: string[]; remaining: number }>('POST', ROUTES.adminDlqReplay, { ids: [dead[0]!.id] });
      expect(replay).toEqual({ replayed: [dead[0]!.id], remaining: 0 });
      // Back in the message topic, still not JSON: the persister dead-letters it a second time.
      const after = await waitFor(async () => { const s = await admin<Status>('GET', ROUTES.adminStatus); return s.dlq?.total === 2 && s.dlq.pending === 1 && s; }, 30_000);
      // Nothing failed to publish: replay and purge of the failed-publish store answer empty.
      expect(await admin('GET', ROUTES.adminFailed)).toEqual([]);
      expect(await admin('POST', ROUTES.adminFailedReplay, { all: true })).toEqual({ replayed: [], remaining: 0 });
      expect(await admin('POST', ROUTES.adminFailedPurge, { all: true })).toEqual({ purged: [] });
      console.log(`dead letters: listed ${dead.length}, replayed ${replay.replayed.length}, dead-lettered again (pending ${after.dlq!.pending}, total ${after.dlq!.total}); consumer lag ${after.consumerLag}; answers not matching the document: ${api.failures.length}`);
      expect(api.failures).toEqual([]);
    }, 90_000);
  });

  describe('every documented operation on the scale-out engines (MongoDB, Redis, Kafka)', () => {
    it('answers each with its documented success and schema, and pushes documented events', async () => {
      const gem = await startFakeGemini({ answer: () => 'a documented answer' });
      const d = await startDaemon({ ...isolation('walk').env(env), GEMINI_API_KEY: 'k', GEMINI_BASE_URL: gem.url });
      try {
        const w = await walkOperations(d.url, await servedDocuments(d.url), true);
        console.log(`documents (scale-out): ${walkSummary(w)}`);
        expect(w.failures).toEqual([]);
        // Search without OPENSEARCH_URL: the walk checks its coded refusal instead.
        expect(w.succeeded.size).toBe(OPERATIONS.length - NEEDS_OPENSEARCH.length);
        expect([...new Set(w.seen.map((s) => s.event))].sort()).toEqual(['ai:chunk', 'friend:update', 'group:update', 'message:change', 'message:new', 'presence:update', 'receipt:update', 'typing:update']);
      } finally {
        await d.close();
        await gem.close();
      }
    }, 120_000);
  });
}
