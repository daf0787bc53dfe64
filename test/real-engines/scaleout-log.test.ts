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

  describe('changes in the scale-out log', () => {
    let rig: Awaited<ReturnType<typeof kafkaRig>>;
    beforeAll(async () => { rig = await kafkaRig('changes', env); });
    afterAll(async () => { await rig.cleanup(); });

    it('a delete leaves no text of the message, its earlier versions or its edits in Redis (recent buffer, dedupe values) or in MongoDB', async () => {
      const l = await rig.messageLog();
      await rig.persister();
      const conv = 'dm:xa:xb';
      const secret = `SECRET-${uuidv7()}`;
      const m = await append(l, draft(conv, `${secret} one`, 'x-1'));
      await append(l, { ...draft(conv, `${secret} two`, 'x-2'), kind: 'edit', target: m.seq });
      await append(l, { ...draft(conv, ''), kind: 'react', target: m.seq, emoji: '👍', op: 'add' });
      const before = await redisDump();
      expect(before).toContain(secret);
      await append(l, { ...draft(conv, '', 'x-3'), kind: 'delete', target: m.seq });
      const redis = await redisDump();
      const mongo = async () => JSON.stringify(await rig.store.archive.history(conv, { limit: 50, afterSeq: 0 }));
      await waitFor(async () => (await mongo()).includes('"deleted"') && !(await mongo()).includes(secret), 30_000).catch(() => undefined);
      const raw = JSON.stringify(await (rig.store.archive as unknown as { m: { Msg: { collection: { find(q: object): { toArray(): Promise<unknown[]> } } } } }).m.Msg.collection.find({ conversationId: conv }).toArray());
      console.log(`after the delete: Redis keys holding the text ${redis.includes(secret) ? 'some' : 'none'}; MongoDB documents holding it ${raw.includes(secret) ? 'some' : 'none'} (${JSON.parse(raw).length} documents)`);
      expect(redis).not.toContain(secret);
      expect(raw).not.toContain(secret);
      expect(raw).toContain('"deleted"');

      /** Every value under the rig's Redis prefix, as text. */
      async function redisDump(): Promise<string> {
        const r = rig.cache.client;
        const prefix = rig.iso.env(env!).CHAT_REDIS_PREFIX!;
        const out: string[] = [];
        let cursor = '0';
        do {
          const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
          cursor = next;
          for (const k of keys) {
            const type = await r.type(k);
            if (type === 'string') out.push(String(await r.get(k)));
            else if (type === 'zset') out.push(...(await r.zrange(k, 0, -1)));
            else if (type === 'list') out.push(...(await r.lrange(k, 0, -1)));
            else if (type === 'hash') out.push(JSON.stringify(await r.hgetall(k)));
            else if (type === 'set') out.push(...(await r.smembers(k)));
            else if (type === 'stream') out.push(JSON.stringify(await r.xrange(k, '-', '+')));
          }
        } while (cursor !== '0');
        return out.join('\n');
      }
    });

    it('redelivery applies each change once: a second persister reading the whole topic again changes nothing', async () => {
      const l = await rig.messageLog();
      await rig.persister();
      const conv = 'dm:ya:yb';
      const msgs = [];
      for (let i = 0; i < 5; i++) msgs.push(await append(l, draft(conv, `m${i}`)));
      let seed = 7;
      const rand = () => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed / 2 ** 31; };
      const counts = { edits: 0, reactions: 0, deletes: 0 };
      for (let i = 0; i < 60; i++) {
        const t = msgs[Math.floor(rand() * msgs.length)]!;
        const r = rand();
        if (r < 0.4) { await append(l, { ...draft(conv, `edit ${i}`), kind: 'edit', target: t.seq }); counts.edits++; }
        else if (r < 0.95) { await append(l, { ...draft(conv, ''), from: rand() < 0.5 ? 'ya' : 'yb', kind: 'react', target: t.seq, emoji: ['👍', '🎉'][i % 2], op: rand() < 0.6 ? 'add' : 'remove' }); counts.reactions++; }
        else { await append(l, { ...draft(conv, ''), kind: 'delete', target: t.seq }); counts.deletes++; }
      }
      const expected = await l.read(conv, { limit: 500, messagesOnly: true });
      const stored = () => rig.store.archive.history(conv, { limit: 500, messagesOnly: true });
      await waitFor(async () => { try { expect(await stored()).toEqual(expected); return true; } catch { return false; } }, 30_000).catch(() => undefined);
      expect(await stored()).toEqual(expected);
      // The same records again, from the start of the topic, by another consumer group.
      const again = new (await import('../../src/daemon/deployments/scaleout/kafka-persister.js')).KafkaPersister({ ...rig.settings, groupId: `${rig.settings.groupId}-again`, batchSize: 7, lingerMs: 5, concurrency: 2 }, rig.store.archive, rig.dlq, (await import('../../src/daemon/logger.js')).createLogger('silent'));
      await again.start();
      try {
        const lastSeq = (await l.read(conv, { limit: 1 }))[0]!.seq;
        await waitFor(async () => (await rig.store.archive.history(conv, { limit: 1 }))[0]!.seq >= lastSeq, 30_000);
        await new Promise((r) => setTimeout(r, 1500));
        const after = await stored();
        const differing = after.filter((m, i) => JSON.stringify(m) !== JSON.stringify(expected[i])).length;
        console.log(`redelivered ${counts.edits} edits, ${counts.reactions} reactions and ${counts.deletes} deletes to 5 messages (batches of 7): messages differing from the log's view ${differing}`);
        expect(after).toEqual(expected);
      } finally {
        await again.close();
      }
    }, 90_000);
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
