import { Schema, type Connection } from 'mongoose';
import type { GroupRole } from '../../../protocol/index.js';
import { HandleTakenError } from '../../ports/errors.js';
import { bulkUpdate, findOneAs, isDup } from './mongo-util.js';
import type { GroupMemberRecord, GroupRecord, GroupStore } from '../../ports/index.js';

export interface GroupDoc { _id: string; conversationId: string; handle: string; name: string; topic: string; createdAt: string; createdBy: string }
/** `_id` is `<groupId>:<username>` (a username has no colon), so a membership is one row whatever happens. */
export interface MemberDoc { _id: string; groupId: string; username: string; role: GroupRole; joinedAt: string; leftSeq: number | null }

const opts = { versionKey: false, _id: false } as const;
const str = { type: String, required: true };

/** The groups' collections, created with the store's others on start. */
export function groupModels(conn: Connection) {
  const Group = conn.model<GroupDoc>('Group', new Schema<GroupDoc>({ _id: str, conversationId: str, handle: str, name: { type: String, default: '' }, topic: { type: String, default: '' }, createdAt: str, createdBy: str }, opts).index({ handle: 1 }, { unique: true }).index({ createdBy: 1 }), 'groups');
  const Member = conn.model<MemberDoc>('GroupMember', new Schema<MemberDoc>({ _id: str, groupId: str, username: str, role: str, joinedAt: str, leftSeq: { type: Number, default: null } }, opts).index({ groupId: 1, username: 1 }).index({ username: 1 }), 'group_members');
  return { Group, Member };
}

const memberId = (groupId: string, username: string) => `${groupId}:${username}`;
const toGroup = (d: GroupDoc): GroupRecord => ({ id: d._id, conversationId: d.conversationId, handle: d.handle, name: d.name, topic: d.topic, createdAt: d.createdAt, createdBy: d.createdBy });
const toMember = (d: MemberDoc): GroupMemberRecord => ({ username: d.username, role: d.role, joinedAt: d.joinedAt, leftSeq: d.leftSeq ?? null });

/**
 * Groups on MongoDB (and FerretDB): no transactions, so a group is inserted before its members
 * (a unique handle settles races), and a deletion removes the members before the group.
 */
export class MongoGroups implements GroupStore {
  constructor(private readonly m: ReturnType<typeof groupModels>) {}

  async createGroup(group: GroupRecord, members: { username: string; role: GroupRole }[]) {
    try {
      await this.m.Group.collection.insertOne({ _id: group.id, conversationId: group.conversationId, handle: group.handle, name: group.name, topic: group.topic, createdAt: group.createdAt, createdBy: group.createdBy } as never);
    } catch (err) {
      if (isDup(err)) throw new HandleTakenError(group.handle);
      throw err;
    }
    await this.addGroupMembers(group.id, members, group.createdAt);
  }

  getGroup(id: string) {
    return findOneAs(this.m.Group.collection, { _id: id }, toGroup);
  }

  getGroupByHandle(handle: string) {
    return findOneAs(this.m.Group.collection, { handle }, toGroup);
  }

  async updateGroup(id: string, patch: Partial<Pick<GroupRecord, 'handle' | 'name' | 'topic'>>) {
    const set: Record<string, string> = {};
    for (const k of ['handle', 'name', 'topic'] as const) if (patch[k] !== undefined) set[k] = patch[k];
    if (Object.keys(set).length === 0) return;
    try {
      await this.m.Group.collection.updateOne({ _id: id } as never, { $set: set });
    } catch (err) {
      if (isDup(err)) throw new HandleTakenError(patch.handle!);
      throw err;
    }
  }

  async deleteGroup(id: string) {
    await this.m.Member.collection.deleteMany({ groupId: id });
    await this.m.Group.collection.deleteOne({ _id: id } as never);
  }

  async groupMembers(id: string) {
    const docs = await this.m.Member.collection.find({ groupId: id, leftSeq: null }).sort({ username: 1 }).toArray();
    return docs.map((d) => toMember(d as unknown as MemberDoc));
  }

  groupMember(id: string, username: string) {
    return findOneAs(this.m.Member.collection, { _id: memberId(id, username) }, toMember);
  }

  async groupsOf(username: string) {
    const rows = (await this.m.Member.collection.find({ username, leftSeq: null }).toArray()) as unknown as MemberDoc[];
    if (rows.length === 0) return [];
    const groups = (await this.m.Group.collection.find({ _id: { $in: rows.map((r) => r.groupId) } } as never).toArray()) as unknown as GroupDoc[];
    const role = new Map(rows.map((r) => [r.groupId, r.role]));
    return groups.map((g) => ({ group: toGroup(g), role: role.get(g._id)! })).sort((a, b) => a.group.handle.localeCompare(b.group.handle));
  }

  async formerGroupsOf(username: string) {
    const rows = (await this.m.Member.collection.find({ username, leftSeq: { $ne: null } }).toArray()) as unknown as MemberDoc[];
    if (rows.length === 0) return [];
    const groups = (await this.m.Group.collection.find({ _id: { $in: rows.map((r) => r.groupId) } } as never).toArray()) as unknown as GroupDoc[];
    const left = new Map(rows.map((r) => [r.groupId, r.leftSeq!]));
    return groups.map((g) => ({ group: toGroup(g), leftSeq: left.get(g._id)! })).sort((a, b) => a.group.handle.localeCompare(b.group.handle));
  }

  async addGroupMembers(id: string, members: { username: string; role: GroupRole }[], at: string) {
    const ops = members.map((m) => ({ updateOne: { filter: { _id: memberId(id, m.username) }, update: { $set: { groupId: id, username: m.username, role: m.role, joinedAt: at, leftSeq: null } }, upsert: true } }));
    // Upserts that lost a first-insert race on the same _id are run again (bulkUpdate's default).
    await bulkUpdate(this.m.Member.collection, ops);
  }

  async removeGroupMember(id: string, username: string, leftSeq: number) {
    const r = await this.m.Member.collection.updateOne({ _id: memberId(id, username), leftSeq: null } as never, { $set: { leftSeq } });
    return r.modifiedCount > 0;
  }

  async raiseLeftSeq(id: string, username: string, leftSeq: number) {
    await this.m.Member.collection.updateOne({ _id: memberId(id, username), leftSeq: { $ne: null, $lt: leftSeq } } as never, { $set: { leftSeq } });
  }

  async setGroupRole(id: string, username: string, role: GroupRole) {
    const r = await this.m.Member.collection.updateOne({ _id: memberId(id, username), leftSeq: null } as never, { $set: { role } });
    return r.matchedCount > 0;
  }

  async countGroupMembers(id: string) {
    return this.m.Member.collection.countDocuments({ groupId: id, leftSeq: null });
  }

  async countGroupsOf(username: string) {
    return this.m.Member.collection.countDocuments({ username, leftSeq: null });
  }

  async countGroupsCreatedBy(username: string) {
    return this.m.Group.collection.countDocuments({ createdBy: username });
  }
}
