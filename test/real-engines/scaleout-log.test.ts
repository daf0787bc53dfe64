import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { v7 as uuidv7 } from 'uuid';
import { Kafka, logLevel } from 'kafkajs';
import type { Message } from '../../src/protocol/index.js';
import { draft, logContract } from '../daemon/ports/log.contract.js';
import { waitFor } from '../support/daemon.js';
import { append, kafkaRig } from '../support/kafka-rig.js';
import { generatedDocuments } from '../support/documents.js';
import { services } from './env.js';

const env = services('MONGODB_URI', 'REDIS_URL', 'KAFKA_BROKERS');

if (env) {
  logContract('scale-out (redis, kafka, mongodb)', async () => {
    const rig = await kafkaRig('contract', env);
    const log = await rig.messageLog();
    await rig.persister();
    return { log, store: rig.store.archive, reopen: () => rig.messageLog(), cleanup: rig.cleanup };
  });

  describe('scale-out log specifics', () => {
    let rig: Awaited<ReturnType<typeof kafkaRig>>;
    beforeAll(async () => { rig = await kafkaRig('specifics', env); });
    afterAll(async () => { await rig.cleanup(); });

    it('one (from, clientMsgId) sent at once on two nodes is accepted once; both get the original', async () => {
      const [a, b] = [await rig.messageLog(), await rig.messageLog()];
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).append(draft('dm:na:nb', 'raced', 'same-id'))));
      const fresh = results.filter((r) => r.fresh);
      console.log(`one clientMsgId sent 20 times on 2 nodes: fresh=${fresh.length} distinct messages=${new Set(results.map((r) => r.message.id)).size}`);
      expect(fresh).toHaveLength(1);
      for (const r of results) expect(r.message).toEqual(fresh[0]!.message);
      expect((await a.append(draft('dm:na:nb', 'next'))).message.seq).toBe(2);
    });

    it('before the persister writes anything, reads come from the recent buffer (capped per conversation)', async () => {
      const l = await rig.messageLog();
      const sent = [];
      for (let i = 0; i < 250; i += 50) sent.push(...(await Promise.all(Array.from({ length: 50 }, (_, j) => append(l, draft('dm:ra:rb', `r${i + j}`))))));
      expect(await rig.store.archive.history('dm:ra:rb', { limit: 10 })).toEqual([]);
      expect((await l.read('dm:ra:rb', { limit: 5 })).map((m) => m.seq)).toEqual([246, 247, 248, 249, 250]);
      expect((await l.read('dm:ra:rb', { limit: 3, afterSeq: 100 })).map((m) => m.seq)).toEqual([101, 102, 103]);
      // The buffer keeps the latest 200: older ones are the archive's to serve.
      expect((await l.read('dm:ra:rb', { limit: 500 })).map((m) => m.seq)[0]).toBe(51);
      expect((await l.conversations('ra')).map((c) => c.lastSeq)).toEqual([250]);
    });

    it('a lost seq counter is seeded from the highest seq known (archive or recent buffer), never reused', async () => {
      const l = await rig.messageLog();
      for (let i = 0; i < 3; i++) await append(l, draft('dm:sa:sb', `s${i}`));
      await rig.cache.client.del(`${rig.iso.env(env).CHAT_REDIS_PREFIX}seq:dm:sa:sb`);
      expect((await append(l, draft('dm:sa:sb', 'after the loss'))).seq).toBe(4);
    });
  });

  describe('persistence consumer and dead letters', () => {
    let rig: Awaited<ReturnType<typeof kafkaRig>>;
    beforeAll(async () => { rig = await kafkaRig('dlq', env); });
    afterAll(async () => { await rig.cleanup(); });

    it('sends poison records to the DLQ with their origin in headers and stores the valid records around them', async () => {
      const pipeline = await rig.messageLog();
      const persister = await rig.persister();
      const conv = 'dm:pa:pb';
      const before = await Promise.all([1, 2, 3].map(async (i) => append(pipeline, { id: uuidv7(), conversationId: conv, from: 'pa', to: 'pb', text: `before ${i}`, kind: 'user', createdAt: new Date().toISOString() })));
      const kafka = new Kafka({ clientId: 'poison', brokers: rig.settings.brokers, logLevel: logLevel.NOTHING });
      const producer = kafka.producer();
      await producer.connect();
      const poison = [
        { key: conv, value: 'not json at all' },
        { key: conv, value: JSON.stringify({ id: 'x', text: 'missing fields' }) },
        { key: conv, value: JSON.stringify({ ...before[0], seq: -5, id: uuidv7() }) },
      ];
      await producer.send({ topic: rig.settings.topic, messages: poison });
      await producer.disconnect();
      const after = await Promise.all([4, 5].map(async (i) => append(pipeline, { id: uuidv7(), conversationId: conv, from: 'pa', to: 'pb', text: `after ${i}`, kind: 'user', createdAt: new Date().toISOString() })));
      const expected = [...before, ...after];
      const stored = await waitFor(async () => { const h = await rig.store.archive.history(conv, { limit: 50 }); return h.length >= expected.length && h; }, 30_000);
      const dead = await waitFor(async () => { const d = await rig.dlq.list(); return d.length >= poison.length && d; }, 30_000);
      console.log(`poison: valid sent=${expected.length} stored=${stored.length}; poison sent=${poison.length} dead-lettered=${dead.length} (consumer counted ${persister.deadLettered})`);
      expect(stored.map((m: Message) => m.id).sort()).toEqual(expected.map((m) => m.id).sort());
      expect(dead.map((d) => d.value).sort()).toEqual(poison.map((p) => p.value).sort());
      for (const d of dead) {
        expect(d.topic).toBe(rig.settings.topic);
        expect(d.error).toMatch(/not JSON|invalid message/);
      }
      // What GET /v1/admin/dlq answers with: it conforms to the document.
      expect(generatedDocuments().named('DeadLetter[]', dead)).toEqual([]);
      // The DLQ topic itself carries the origin headers.
      const consumer = kafka.consumer({ groupId: `${rig.iso.id}-reader` });
      await consumer.connect();
      await consumer.subscribe({ topics: [rig.settings.dlqTopic], fromBeginning: true });
      const headers: Record<string, string>[] = [];
      await consumer.run({ eachMessage: async ({ message }) => { headers.push(Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]))); } });
      await waitFor(() => headers.length >= poison.length, 30_000);
      await consumer.disconnect();
      for (const h of headers) {
        expect(h['x-origin-topic']).toBe(rig.settings.topic);
        expect(Number(h['x-origin-partition'])).toBeGreaterThanOrEqual(0);
        expect(h['x-origin-offset']).toMatch(/^\d+$/);
        expect(h['x-error']).toBeTruthy();
      }
    });
  });
}
