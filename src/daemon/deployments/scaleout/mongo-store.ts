import mongoose, { Schema, type Connection, type Model } from 'mongoose';
import { SeqConflictError } from '../../ports/errors.js';
import { groupModels, MongoGroups } from './mongo-groups.js';
import { bulkUpdate, duplicateIndexes, findOneAs, isDup } from './mongo-util.js';
import { ChatError, conversationMembers, type Message } from '../../../protocol/index.js';
import type { ApiTokenRecord, ConversationRecord, HistoryRange, ReceiptMark, RefreshTokenRecord, UserRecord } from '../../ports/index.js';
import type { Database } from '../archive.js';

/*
 * Written for MongoDB 7/8 and FerretDB 1.24 alike: no transactions, no partial or
 * sparse indexes, no client-level bulkWrite, and no reliance on upsert result indexes.
 */

interface UserDoc { _id: string; username: string; passwordHash: string; admin: boolean; disabled: boolean; createdAt: string }
interface RefreshDoc { _id: string; userId: string; familyId: string; tokenHash: string; createdAt: string; expiresAt: string; usedAt: string | null; revokedAt: string | null; device: string | null }
interface ApiDoc { _id: string; userId: string; name: string; tokenHash: string; createdAt: string; lastUsedAt: string | null; revokedAt: string | null }
interface EdgeDoc { _id: string; from: string; to: string; createdAt: string }
interface MessageDoc { _id: string; conversationId: string; seq: number; from: string; to: string; text: string; kind: Message['kind']; createdAt: string; clientMsgId?: string; dedupeKey: string }
interface ConversationDoc { _id: string; members: string[]; lastSeq: number; updatedAt: string }
interface MetaDoc { _id: string; value: string }
interface ReceiptDoc { _id: string; conversationId: string; username: string; delivered: number; read: number }

const opts = { versionKey: false, _id: false } as const;
const str = { type: String, required: true };
const nullableStr = { type: String, default: null };

/**
 * The messages collection's indexes (the persist bench's raw-insert ceiling uses these too).
 * dedupeKey is the clientMsgId, or " <id>" when there is none: FerretDB has no partial indexes,
 * and a space cannot appear in a clientMsgId, so the unique index holds for all. It leads its
 * key: both are time-ordered (UUIDv7 from our clients, and the message id), so a bulk insert
 * appends to the end of the index instead of landing once per sender (FerretDB's raw insert
 * ceiling: 14.4-14.8k docs/s against 11.2-12.8k with { from, dedupeKey }, interleaved runs).
 */
export const MESSAGE_INDEXES: [Record<string, 1>, { unique: true }][] = [
  [{ conversationId: 1, seq: 1 }, { unique: true }],
  [{ dedupeKey: 1, from: 1 }, { unique: true }],
];
/** Indexes of earlier versions, dropped on start once their replacements exist. */
const RETIRED_INDEXES: Record<string, string[]> = { messages: ['from_1_dedupeKey_1'] };

function models(conn: Connection) {
  const User = conn.model<UserDoc>('User', new Schema<UserDoc>({ _id: str, username: str, passwordHash: str, admin: Boolean, disabled: Boolean, createdAt: str }, opts).index({ username: 1 }, { unique: true }), 'users');
  const Refresh = conn.model<RefreshDoc>('RefreshToken', new Schema<RefreshDoc>({ _id: str, userId: str, familyId: str, tokenHash: str, createdAt: str, expiresAt: str, usedAt: nullableStr, revokedAt: nullableStr, device: nullableStr }, opts).index({ familyId: 1 }).index({ userId: 1 }), 'refresh_tokens');
  const Api = conn.model<ApiDoc>('ApiToken', new Schema<ApiDoc>({ _id: str, userId: str, name: str, tokenHash: str, createdAt: str, lastUsedAt: nullableStr, revokedAt: nullableStr }, opts).index({ userId: 1 }), 'api_tokens');
  const Edge = conn.model<EdgeDoc>('FriendEdge', new Schema<EdgeDoc>({ _id: str, from: str, to: str, createdAt: str }, opts).index({ from: 1 }).index({ to: 1 }), 'friend_edges');
  const msgSchema = new Schema<MessageDoc>({ _id: str, conversationId: str, seq: { type: Number, required: true }, from: str, to: str, text: str, kind: str, createdAt: str, clientMsgId: String, dedupeKey: str }, opts);
  for (const [keys, options] of MESSAGE_INDEXES) msgSchema.index(keys, options);
  const Msg = conn.model<MessageDoc>('Message', msgSchema, 'messages');
  const Conv = conn.model<ConversationDoc>('Conversation', new Schema<ConversationDoc>({ _id: str, members: [String], lastSeq: Number, updatedAt: str }, opts).index({ members: 1 }), 'conversations');
  const Meta = conn.model<MetaDoc>('Meta', new Schema<MetaDoc>({ _id: str, value: str }, opts), 'meta');
  const Receipt = conn.model<ReceiptDoc>('Receipt', new Schema<ReceiptDoc>({ _id: str, conversationId: str, username: str, delivered: Number, read: Number }, opts).index({ conversationId: 1 }), 'receipts');
  return { User, Refresh, Api, Edge, Msg, Conv, Meta, Receipt, ...groupModels(conn) };
}

function toMessage(d: MessageDoc): Message {
  const m: Message = { id: d._id, seq: d.seq, conversationId: d.conversationId, from: d.from, to: d.to, text: d.text, kind: d.kind, createdAt: d.createdAt };
  if (d.clientMsgId !== undefined && d.clientMsgId !== null) m.clientMsgId = d.clientMsgId;
  return m;
}

function toDoc(m: Message): MessageDoc {
  const d: MessageDoc = { _id: m.id, conversationId: m.conversationId, seq: m.seq, from: m.from, to: m.to, text: m.text, kind: m.kind, createdAt: m.createdAt, dedupeKey: m.clientMsgId ?? ` ${m.id}` };
  if (m.clientMsgId !== undefined) d.clientMsgId = m.clientMsgId;
  return d;
}

const toUser = (d: UserDoc): UserRecord => ({ id: d._id, username: d.username, passwordHash: d.passwordHash, admin: !!d.admin, disabled: !!d.disabled, createdAt: d.createdAt });
const toRefresh = (d: RefreshDoc): RefreshTokenRecord => ({ id: d._id, userId: d.userId, familyId: d.familyId, tokenHash: d.tokenHash, createdAt: d.createdAt, expiresAt: d.expiresAt, usedAt: d.usedAt ?? null, revokedAt: d.revokedAt ?? null, device: d.device ?? null });
const toApi = (d: ApiDoc): ApiTokenRecord => ({ id: d._id, userId: d.userId, name: d.name, tokenHash: d.tokenHash, createdAt: d.createdAt, lastUsedAt: d.lastUsedAt ?? null, revokedAt: d.revokedAt ?? null });

/** MongoDB store through mongoose; the message hot path goes through Model.collection to skip per-document casting. */
export class MongoStore implements Database {
  readonly kind = 'mongodb';
  private conn!: Connection;
  private m!: ReturnType<typeof models>;
  groups!: MongoGroups;

  constructor(private readonly uri: string, private readonly dbName?: string) {}

  async start() {
    this.conn = mongoose.createConnection(this.uri, { dbName: this.dbName, autoIndex: false, autoCreate: false, serverSelectionTimeoutMS: 10_000 });
    await this.conn.asPromise();
    this.m = models(this.conn);
    this.groups = new MongoGroups(this.m);
    for (const model of Object.values(this.m) as unknown as Pick<Model<unknown>, "createCollection" | "createIndexes">[]) {
      await model.createCollection().catch((err: unknown) => { if ((err as { code?: number }).code !== 48) throw err; });
      await model.createIndexes();
    }
    for (const [collection, names] of Object.entries(RETIRED_INDEXES)) {
      const existing = new Set((await this.conn.db!.collection(collection).indexes()).map((i) => i.name));
      for (const name of names) if (existing.has(name)) await this.conn.db!.collection(collection).dropIndex(name);
    }
  }

  async close() {
    await this.conn?.close();
  }

  async health() {
    try {
      await this.conn.db!.command({ ping: 1 });
      return { ok: true, kind: this.kind, detail: this.conn.name };
    } catch (err) {
      return { ok: false, kind: this.kind, detail: (err as Error).message };
    }
  }

  /** Drops the database (tests). */
  async drop() {
    await this.conn.dropDatabase();
  }

  async createUser(input: { id: string; username: string; passwordHash: string; createdAt: string }) {
    try {
      await this.m.User.collection.insertOne({ _id: input.id, username: input.username, passwordHash: input.passwordHash, admin: false, disabled: false, createdAt: input.createdAt } as never);
    } catch (err) {
      if (isDup(err)) throw new ChatError('CHAT_ERR_USERNAME_TAKEN');
      throw err;
    }
    // The first account to claim the marker is the admin; a unique _id settles races without transactions.
    try {
      await this.m.Meta.collection.insertOne({ _id: 'first-admin', value: input.id } as never);
      await this.m.User.collection.updateOne({ _id: input.id } as never, { $set: { admin: true } });
    } catch (err) {
      if (!isDup(err)) throw err;
    }
    return (await this.getUserById(input.id))!;
  }

  getUserById(id: string) {
    return findOneAs(this.m.User.collection, { _id: id }, toUser);
  }

  getUserByName(username: string) {
    return findOneAs(this.m.User.collection, { username }, toUser);
  }

  async listUsers() {
    return (await this.m.User.collection.find({}).sort({ createdAt: 1, username: 1 }).toArray()).map((d) => toUser(d as unknown as UserDoc));
  }

  async updateUser(id: string, patch: Partial<Pick<UserRecord, 'passwordHash' | 'admin' | 'disabled'>>) {
    const set: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(patch)) if (v !== undefined) set[k] = v;
    if (Object.keys(set).length > 0) await this.m.User.collection.updateOne({ _id: id } as never, { $set: set });
  }

  async insertRefreshToken(rec: RefreshTokenRecord) {
    const { id, ...rest } = rec;
    await this.m.Refresh.collection.insertOne({ _id: id, ...rest } as never);
  }

  async getRefreshToken(id: string) {
    const d = await this.m.Refresh.collection.findOne({ _id: id } as never);
    return d ? toRefresh(d as unknown as RefreshDoc) : null;
  }

  async markRefreshTokenUsed(id: string, at: string) {
    const r = await this.m.Refresh.collection.updateOne({ _id: id, usedAt: null, revokedAt: null } as never, { $set: { usedAt: at } });
    return r.modifiedCount === 1;
  }

  async revokeFamily(familyId: string, at: string) {
    await this.m.Refresh.collection.updateMany({ familyId, revokedAt: null }, { $set: { revokedAt: at } });
  }

  async revokeUserSessions(userId: string, at: string, exceptFamilyId?: string) {
    const families = ((await this.m.Refresh.collection.distinct('familyId', { userId, revokedAt: null })) as string[]).filter((f) => f !== exceptFamilyId).sort();
    for (const f of families) await this.revokeFamily(f, at);
    return families;
  }

  async activeSessions(userId: string) {
    const rows = await this.m.Refresh.collection.find({ userId, revokedAt: null }, { projection: { familyId: 1, createdAt: 1 } }).toArray();
    const first = new Map<string, string>();
    for (const r of rows as unknown as RefreshDoc[]) {
      const t = first.get(r.familyId);
      if (t === undefined || r.createdAt < t) first.set(r.familyId, r.createdAt);
    }
    return [...first].sort((a, b) => a[1].localeCompare(b[1]) || a[0].localeCompare(b[0])).map(([f]) => f);
  }

  async pruneRefreshTokens(userId: string, familyId: string, keep: number, now: string) {
    await this.m.Refresh.collection.deleteMany({ userId, $or: [{ revokedAt: { $ne: null } }, { expiresAt: { $lte: now } }] });
    const newest = await this.m.Refresh.collection.find({ familyId }, { projection: { _id: 1 } }).sort({ createdAt: -1, _id: -1 }).limit(keep).toArray();
    await this.m.Refresh.collection.deleteMany({ familyId, usedAt: { $ne: null }, _id: { $nin: newest.map((d) => d._id) } } as never);
  }

  async revokeUserApiTokens(userId: string, at: string) {
    const ids = (await this.m.Api.collection.find({ userId, revokedAt: null }, { projection: { _id: 1 } }).toArray()).map((d) => String(d._id));
    if (ids.length > 0) await this.m.Api.collection.updateMany({ _id: { $in: ids }, revokedAt: null } as never, { $set: { revokedAt: at } });
    return ids;
  }

  async isSessionActive(familyId: string) {
    return (await this.m.Refresh.collection.countDocuments({ familyId, revokedAt: null }, { limit: 1 })) > 0;
  }

  async insertApiToken(rec: ApiTokenRecord) {
    const { id, ...rest } = rec;
    await this.m.Api.collection.insertOne({ _id: id, ...rest } as never);
  }

  async getApiToken(id: string) {
    const d = await this.m.Api.collection.findOne({ _id: id } as never);
    return d ? toApi(d as unknown as ApiDoc) : null;
  }

  async listApiTokens(userId: string) {
    return (await this.m.Api.collection.find({ userId, revokedAt: null }).sort({ createdAt: 1 }).toArray()).map((d) => toApi(d as unknown as ApiDoc));
  }

  async revokeApiToken(userId: string, id: string, at: string) {
    return (await this.m.Api.collection.updateOne({ _id: id, userId, revokedAt: null } as never, { $set: { revokedAt: at } })).modifiedCount === 1;
  }

  async touchApiToken(id: string, at: string) {
    await this.m.Api.collection.updateOne({ _id: id } as never, { $set: { lastUsedAt: at } });
  }

  async addFriendEdge(from: string, to: string, at: string) {
    try {
      await this.m.Edge.collection.insertOne({ _id: `${from}>${to}`, from, to, createdAt: at } as never);
    } catch (err) {
      if (!isDup(err)) throw err;
    }
  }

  async hasFriendEdge(from: string, to: string) {
    return (await this.m.Edge.collection.countDocuments({ _id: `${from}>${to}` } as never, { limit: 1 })) > 0;
  }

  async removeFriendEdges(a: string, b: string) {
    const r = await this.m.Edge.collection.deleteMany({ _id: { $in: [`${a}>${b}`, `${b}>${a}`] } } as never);
    return r.deletedCount > 0;
  }

  async listFriendEdges(username: string) {
    const [out, inn] = await Promise.all([
      this.m.Edge.collection.find({ from: username }).sort({ to: 1 }).toArray(),
      this.m.Edge.collection.find({ to: username }).sort({ from: 1 }).toArray(),
    ]);
    return { out: out.map((d) => (d as unknown as EdgeDoc).to), in: inn.map((d) => (d as unknown as EdgeDoc).from) };
  }

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
    const heads = new Map<string, Message>();
    for (const m of out) if ((heads.get(m.conversationId)?.seq ?? 0) < m.seq) heads.set(m.conversationId, m);
    await this.upsertConversations([...heads.values()]);
    return out;
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
    const filter = Object.keys(seq).length ? { conversationId, seq } : { conversationId };
    const asc = range.afterSeq !== undefined;
    const docs = await this.m.Msg.collection.find(filter).sort({ seq: asc ? 1 : -1 }).limit(range.limit).toArray();
    const msgs = docs.map((d) => toMessage(d as unknown as MessageDoc));
    return asc ? msgs : msgs.reverse();
  }

  async maxSeq(conversationId: string) {
    const d = await this.m.Msg.collection.find({ conversationId }).sort({ seq: -1 }).limit(1).toArray();
    return (d[0] as unknown as MessageDoc | undefined)?.seq ?? 0;
  }

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

  async listConversations(username: string): Promise<ConversationRecord[]> {
    const docs = await this.m.Conv.collection.find({ members: username }).sort({ updatedAt: -1 }).toArray();
    return docs.map((d) => {
      const c = d as unknown as ConversationDoc;
      return { conversationId: c._id, members: [c.members[0]!, c.members[1]!], lastSeq: c.lastSeq, updatedAt: c.updatedAt };
    });
  }
}
