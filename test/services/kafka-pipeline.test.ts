import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { v7 as uuidv7 } from 'uuid';
import { Kafka, logLevel } from 'kafkajs';
import type { Message } from '../../src/protocol/index.js';
import { pipelineContract } from '../daemon/engines/pipeline.contract.js';
import { waitFor } from '../support/daemon.js';
import { kafkaRig } from '../support/kafka-rig.js';
import { services } from './env.js';

const env = services('MONGODB_URI', 'REDIS_URL', 'KAFKA_BROKERS');

if (env) {
  pipelineContract('kafka into mongodb', async () => {
    const rig = await kafkaRig('contract', env);
    const pipeline = await rig.pipeline();
    await rig.persister();
    return { pipeline, store: rig.store, reopen: () => rig.pipeline(), cleanup: rig.cleanup };
  });

  describe('persistence consumer and dead letters', () => {
    let rig: Awaited<ReturnType<typeof kafkaRig>>;
    beforeAll(async () => { rig = await kafkaRig('dlq', env); });
    afterAll(async () => { await rig.cleanup(); });

    it('sends poison records to the DLQ with their origin in headers and stores the valid records around them', async () => {
      const pipeline = await rig.pipeline();
      const persister = await rig.persister();
      const conv = 'dm:pa:pb';
      const before = await Promise.all([1, 2, 3].map(async (i) => pipeline.submit({ id: uuidv7(), conversationId: conv, from: 'pa', to: 'pb', text: `before ${i}`, kind: 'user', createdAt: new Date().toISOString() })));
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
      const after = await Promise.all([4, 5].map(async (i) => pipeline.submit({ id: uuidv7(), conversationId: conv, from: 'pa', to: 'pb', text: `after ${i}`, kind: 'user', createdAt: new Date().toISOString() })));
      const expected = [...before, ...after];
      const stored = await waitFor(async () => { const h = await rig.store.history(conv, { limit: 50 }); return h.length >= expected.length && h; }, 30_000);
      const dead = await waitFor(async () => { const d = await rig.dlq.list(); return d.length >= poison.length && d; }, 30_000);
      console.log(`poison: valid sent=${expected.length} stored=${stored.length}; poison sent=${poison.length} dead-lettered=${dead.length} (consumer counted ${persister.deadLettered})`);
      expect(stored.map((m: Message) => m.id).sort()).toEqual(expected.map((m) => m.id).sort());
      expect(dead.map((d) => d.value).sort()).toEqual(poison.map((p) => p.value).sort());
      for (const d of dead) {
        expect(d.topic).toBe(rig.settings.topic);
        expect(d.error).toMatch(/not JSON|invalid message/);
      }
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
