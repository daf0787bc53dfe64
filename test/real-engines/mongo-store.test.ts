import mongoose from 'mongoose';
import { v7 as uuidv7 } from 'uuid';
import { describe, expect, it } from 'vitest';
import type { Message } from '../../src/protocol/index.js';
import { MongoStore } from '../../src/daemon/deployments/scaleout/mongo-store.js';
import { storeContract } from '../daemon/ports/store.contract.js';
import { services } from './env.js';

const env = services('MONGODB_URI');
let n = 0;
if (env) {
  storeContract(`mongodb at ${env.MONGODB_URI}`, async () => {
    const s = new MongoStore(env.MONGODB_URI, `chat_test_${process.pid}_${++n}`);
    await s.start();
    return s;
  }, async (s) => {
    await (s as MongoStore).drop();
    await s.close();
  });
}

describe.runIf(env)('MongoStore index moves', () => {
  it('replaces the { from, dedupeKey } index with { dedupeKey, from } on start, and a resend stored before the move is still recognised', async () => {
    const db = `chat_test_${process.pid}_move`;
    const first = new MongoStore(env!.MONGODB_URI, db);
    await first.start();
    // The earlier version's index, as it would be found in an existing deployment.
    const conn = await mongoose.createConnection(env!.MONGODB_URI, { dbName: db }).asPromise();
    const col = conn.collection('messages');
    await col.dropIndex('dedupeKey_1_from_1');
    await col.createIndex({ from: 1, dedupeKey: 1 }, { unique: true });
    const m = (id: string, seq: number): Message => ({ id, seq, conversationId: 'dm:alice:bob', from: 'alice', to: 'bob', text: 'hi', kind: 'user', createdAt: new Date().toISOString(), clientMsgId: 'c-1' });
    const [stored] = await first.archive.insertMessages([m(uuidv7(), 1)]);
    await first.close();

    const second = new MongoStore(env!.MONGODB_URI, db);
    await second.start();
    try {
      const names = (await col.indexes()).map((i) => i.name).sort();
      expect(names).toEqual(['_id_', 'conversationId_1_changedSeq_1', 'conversationId_1_seq_1', 'dedupeKey_1_from_1']);
      const [again] = await second.archive.insertMessages([m(uuidv7(), 2)]);
      expect(again).toEqual(stored);
      expect(await second.archive.getMessageByClientId('alice', 'c-1')).toEqual(stored);
    } finally {
      await second.drop();
      await second.close();
      await conn.close();
    }
  });
});
