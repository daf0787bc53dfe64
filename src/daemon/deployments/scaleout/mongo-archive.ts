import { conversationMembers, type Message } from '../../../protocol/index.js';
import type { ConversationRecord, HistoryRange } from '../../ports/index.js';
import { SeqConflictError } from '../../ports/errors.js';
import type { MessageArchive } from '../archive.js';
import type { ConversationDoc, MessageDoc, Models } from './mongo-models.js';
import { bulkUpdate, duplicateIndexes, isDup } from './mongo-util.js';
import { applyStored, extraOf, keptOf, stateOf, withParts } from '../records.js';
import { MESSAGE_KINDS as MESSAGE_KIND_NAMES, isChange } from '../../../protocol/changes.js';

function toMessage(d: MessageDoc): Message {
  const m: Message = { id: d._id, seq: d.seq, conversationId: d.conversationId, from: d.from, to: d.to, text: d.text, kind: d.kind, createdAt: d.createdAt };
  if (d.clientMsgId !== undefined && d.clientMsgId !== null) m.clientMsgId = d.clientMsgId;
  if (!d.extra && !d.state) return m;
  return withParts(m, d.extra ?? null, d.state ?? null, d.changedSeq ?? null);
}

/** A record as first stored: its state comes only from changes applied later. */
function toDoc(m: Message): MessageDoc {
  const d: MessageDoc = { _id: m.id, conversationId: m.conversationId, seq: m.seq, from: m.from, to: m.to, text: m.text, kind: m.kind, createdAt: m.createdAt, dedupeKey: m.clientMsgId ?? ` ${m.id}` };
  if (m.clientMsgId !== undefined) d.clientMsgId = m.clientMsgId;
  const extra = extraOf(m);
  if (extra) d.extra = extra;
  return d;
}

const MESSAGE_KINDS = { $in: [...MESSAGE_KIND_NAMES] };

/** Messages and conversation heads in MongoDB: what the persister writes and the scale-out log reads. */
export class MongoArchive implements MessageArchive {
  /**
   * Every stored message (not change records) as it now is, in batches: one cursor read to its
   * end, in no particular order. (Paging by `_id` with a sort re-reads the collection per page on
   * FerretDB, which cannot push the sort down: 26 s for 20k messages against 3 s this way.)
   */
  async *scan(batch = 1000): AsyncGenerator<Message[]> {
    let page: Message[] = [];
    for await (const d of this.m.Msg.collection.find({ kind: MESSAGE_KINDS } as never).batchSize(batch)) {
      page.push(toMessage(d as unknown as MessageDoc));
      if (page.length === batch) {
        yield page;
        page = [];
      }
    }
    if (page.length) yield page;
  }

  constructor(private readonly m: Models) {}

  async insertMessages(messages: Message[]): Promise<Message[]> {
    if (messages.length === 0) return [];
    const failed = new Set<number>();
    try {
      await this.m.Msg.collection.insertMany(messages.map(toDoc) as never[], { ordered: false });
    } catch (err) {
      for (const i of duplicateIndexes(err)) failed.add(i);
    }
    const out: Message[] = [];
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]!;
      if (!failed.has(i)) { out.push(m); continue; }
      // A duplicate: the same id was stored before (a replay), or the same (from, clientMsgId) under another id.
      const existing = (await this.m.Msg.collection.findOne({ _id: m.id } as never)) ?? (await this.m.Msg.collection.findOne({ from: m.from, dedupeKey: m.clientMsgId ?? ` ${m.id}` }));
      if (!existing) throw new SeqConflictError(m.id, m.conversationId, m.seq);
      out.push(toMessage(existing as unknown as MessageDoc));
    }
    // Changes, applied in seq order (a replayed one again too: applying is idempotent, and it
    // finishes what a crash between the insert and the apply left undone).
    for (const m of messages) if (isChange(m)) await this.applyChange(m);
    const heads = new Map<string, Message>();
    for (const m of out) if ((heads.get(m.conversationId)?.seq ?? 0) < m.seq) heads.set(m.conversationId, m);
    await this.upsertConversations([...heads.values()]);
    return out;
  }

  /**
   * A change record applied to the document it targets: read, apply (records.ts), and write back
   * only if nobody changed it meanwhile (the filter holds the changedSeq read; another persister
   * of the same partition during a rebalance loses the race and reads again).
   */
  private async applyChange(c: Message) {
    const coll = this.m.Msg.collection;
    for (let attempt = 0; attempt < 5; attempt++) {
      const doc = (await coll.findOne({ conversationId: c.conversationId, seq: c.target })) as unknown as MessageDoc | null;
      if (!doc) return;
      const r = applyStored(toMessage(doc), keptOf(doc.state ?? null), c);
      if (!r) return;
      const { next, kept, scrub } = r;
      if (next) {
        const set: Record<string, unknown> = { text: next.text, changedSeq: next.changedSeq, state: stateOf(next, kept) };
        const extra = next.deleted ? null : extraOf(next);
        const update = extra ? { $set: { ...set, extra } } : { $set: set, $unset: { extra: '' } };
        const res = await coll.updateOne({ _id: doc._id, changedSeq: doc.changedSeq ?? null } as never, update);
        if (res.matchedCount === 0) continue;
      }
      // A deleted message's edit records lose their text.
      if (scrub.length) await coll.updateMany({ conversationId: c.conversationId, seq: { $in: scrub }, kind: 'edit' }, { $set: { text: '' }, $unset: { 'extra.mentions': '' } });
      return;
    }
    throw new Error(`could not apply change ${c.conversationId}#${c.seq}: its target kept changing`);
  }

  async get(conversationId: string, seqs: number[]) {
    if (seqs.length === 0) return [];
    const docs = await this.m.Msg.collection.find({ conversationId, seq: { $in: seqs } }).toArray();
    return docs.map((d) => toMessage(d as unknown as MessageDoc)).sort((a, b) => a.seq - b.seq);
  }

  async changed(conversationId: string, sinceSeq: number, limit: number) {
    const docs = await this.m.Msg.collection.find({ conversationId, changedSeq: { $gt: sinceSeq } }).sort({ changedSeq: 1 }).limit(limit).toArray();
    return docs.map((d) => toMessage(d as unknown as MessageDoc));
  }

  async countMessages(conversationId: string, afterSeq: number, cap: number) {
    return this.m.Msg.collection.countDocuments({ conversationId, seq: { $gt: afterSeq }, kind: MESSAGE_KINDS }, { limit: cap });
  }

  async countMentions(conversationId: string, afterSeq: number, username: string, cap: number) {
    return this.m.Msg.collection.countDocuments({ conversationId, seq: { $gt: afterSeq }, kind: MESSAGE_KINDS, 'extra.mentions': username }, { limit: cap });
  }

  /**
   * Raises each conversation's head in one round trip; upserts that lost a first-insert race are
   * redone one by one. A group's head lists no members (they are in group_members), so it never
   * shows among a user's direct conversations.
   */
  private async upsertConversations(heads: Message[]) {
    if (heads.length === 0) return;
    const members = (m: Message) => conversationMembers(m.conversationId, [m.from, m.to]);
    const op = (m: Message) => ({ updateOne: { filter: { _id: m.conversationId }, update: { $max: { lastSeq: m.seq, updatedAt: m.createdAt }, $setOnInsert: { members: members(m) } }, upsert: true } });
    await bulkUpdate(this.m.Conv.collection, heads.map(op), async (lost) => {
      for (const i of lost) {
        const m = heads[i]!;
        await this.upsertConversation(m.conversationId, members(m), m.seq, m.createdAt);
      }
    });
  }

  private async upsertConversation(conv: string, members: string[], seq: number, at: string) {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.m.Conv.collection.updateOne({ _id: conv } as never, { $max: { lastSeq: seq, updatedAt: at }, $setOnInsert: { members } }, { upsert: true });
        return;
      } catch (err) {
        // Two first writers of one conversation race on the upsert; the loser retries as an update.
        if (!isDup(err) || attempt >= 3) throw err;
      }
    }
  }

  async getMessageByClientId(from: string, clientMsgId: string) {
    const d = await this.m.Msg.collection.findOne({ from, dedupeKey: clientMsgId });
    return d ? toMessage(d as unknown as MessageDoc) : null;
  }

  async history(conversationId: string, range: HistoryRange) {
    const seq: Record<string, number> = {};
    if (range.afterSeq !== undefined) seq.$gt = range.afterSeq;
    if (range.beforeSeq !== undefined) seq.$lt = range.beforeSeq;
    const filter: Record<string, unknown> = Object.keys(seq).length ? { conversationId, seq } : { conversationId };
    if (range.messagesOnly) filter.kind = MESSAGE_KINDS;
    const asc = range.afterSeq !== undefined;
    const docs = await this.m.Msg.collection.find(filter).sort({ seq: asc ? 1 : -1 }).limit(range.limit).toArray();
    const msgs = docs.map((d) => toMessage(d as unknown as MessageDoc));
    return asc ? msgs : msgs.reverse();
  }

  async withPast(conversationId: string, seq: number) {
    const d = (await this.m.Msg.collection.findOne({ conversationId, seq })) as unknown as MessageDoc | null;
    return d ? { message: toMessage(d), kept: keptOf(d.state ?? null) } : null;
  }

  async maxSeq(conversationId: string) {
    const d = await this.m.Msg.collection.find({ conversationId }).sort({ seq: -1 }).limit(1).toArray();
    return (d[0] as unknown as MessageDoc | undefined)?.seq ?? 0;
  }

  async listConversations(username: string): Promise<ConversationRecord[]> {
    const docs = await this.m.Conv.collection.find({ members: username }).sort({ updatedAt: -1 }).toArray();
    return docs.map((d) => {
      const c = d as unknown as ConversationDoc;
      return { conversationId: c._id, members: [c.members[0]!, c.members[1]!], lastSeq: c.lastSeq, updatedAt: c.updatedAt };
    });
  }
}
