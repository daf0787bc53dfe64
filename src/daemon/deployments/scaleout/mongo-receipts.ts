import type { ReceiptMark, ReceiptStore } from '../../ports/index.js';
import type { Models, ReceiptDoc } from './mongo-models.js';
import { bulkUpdate } from './mongo-util.js';

/** Read and delivery markers in MongoDB, one document per (conversation, user). */
export class MongoReceipts implements ReceiptStore {
  constructor(private readonly m: Models) {}

  async getReceipts(conversationId: string) {
    const out: Record<string, { delivered: number; read: number }> = {};
    for (const d of await this.m.Receipt.collection.find({ conversationId }).toArray()) {
      const r = d as unknown as ReceiptDoc;
      out[r.username] = { delivered: r.delivered, read: r.read };
    }
    return out;
  }

  async setReceipts(marks: ReceiptMark[]) {
    if (marks.length === 0) return;
    const ops = marks.map((m) => ({ updateOne: { filter: { _id: `${m.conversationId}|${m.username}` }, update: { $max: { delivered: Math.max(m.delivered, m.read), read: m.read }, $setOnInsert: { conversationId: m.conversationId, username: m.username } }, upsert: true } }));
    // Two nodes upserting one new marker at once: the loser's write is a duplicate; apply it again.
    await bulkUpdate(this.m.Receipt.collection, ops);
  }
}
