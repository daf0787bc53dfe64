import { ChatError } from '../../../protocol/index.js';
import type { AccountStore, ApiTokenRecord, RefreshTokenRecord, UserRecord } from '../../ports/index.js';
import type { ApiDoc, Models, RefreshDoc, UserDoc } from './mongo-models.js';
import { findOneAs, isDup } from './mongo-util.js';

const toUser = (d: UserDoc): UserRecord => ({ id: d._id, username: d.username, passwordHash: d.passwordHash, admin: !!d.admin, disabled: !!d.disabled, createdAt: d.createdAt });
const toRefresh = (d: RefreshDoc): RefreshTokenRecord => ({ id: d._id, userId: d.userId, familyId: d.familyId, tokenHash: d.tokenHash, createdAt: d.createdAt, expiresAt: d.expiresAt, usedAt: d.usedAt ?? null, revokedAt: d.revokedAt ?? null, device: d.device ?? null });
const toApi = (d: ApiDoc): ApiTokenRecord => ({ id: d._id, userId: d.userId, name: d.name, tokenHash: d.tokenHash, createdAt: d.createdAt, lastUsedAt: d.lastUsedAt ?? null, revokedAt: d.revokedAt ?? null });

/** Users, their sessions (refresh-token families) and API tokens, in MongoDB. */
export class MongoAccounts implements AccountStore {
  constructor(private readonly m: Models) {}

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
}
