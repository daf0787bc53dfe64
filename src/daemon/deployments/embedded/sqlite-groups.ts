import { sqliteCode, type SqliteDb } from './sqlite-driver.js';
import type { GroupRole } from '../../../protocol/index.js';
import { HandleTakenError } from '../../ports/errors.js';
import type { GroupMemberRecord, GroupRecord, GroupStore } from '../../ports/index.js';

/** Groups and memberships in the embedded store (on the event loop's connection: these writes are rare). */
export const GROUPS_SCHEMA = `
CREATE TABLE IF NOT EXISTS groups (
  id TEXT PRIMARY KEY,
  conversation_id TEXT NOT NULL UNIQUE,
  handle TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  topic TEXT NOT NULL,
  created_at TEXT NOT NULL,
  created_by TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS group_members (
  group_id TEXT NOT NULL,
  username TEXT NOT NULL,
  role TEXT NOT NULL,
  joined_at TEXT NOT NULL,
  left_seq INTEGER,
  PRIMARY KEY (group_id, username)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS group_members_user ON group_members(username, group_id);
CREATE INDEX IF NOT EXISTS groups_created_by ON groups(created_by);
`;

interface GroupRow { id: string; conversation_id: string; handle: string; name: string; topic: string; created_at: string; created_by: string }
interface MemberRow { username: string; role: GroupRole; joined_at: string; left_seq: number | null }

const toGroup = (r: GroupRow): GroupRecord => ({ id: r.id, conversationId: r.conversation_id, handle: r.handle, name: r.name, topic: r.topic, createdAt: r.created_at, createdBy: r.created_by });
const toMember = (r: MemberRow): GroupMemberRecord => ({ username: r.username, role: r.role, joinedAt: r.joined_at, leftSeq: r.left_seq });
const isUniqueOn = (err: unknown, column: string) => sqliteCode(err) === 'SQLITE_CONSTRAINT_UNIQUE' && String((err as Error).message).includes(column);

export class SqliteGroups implements GroupStore {
  private readonly s;

  constructor(private readonly db: SqliteDb) {
    this.s = {
      insertGroup: db.prepare('INSERT INTO groups (id, conversation_id, handle, name, topic, created_at, created_by) VALUES (@id, @conversationId, @handle, @name, @topic, @createdAt, @createdBy)'),
      byId: db.prepare<[string], GroupRow>('SELECT * FROM groups WHERE id = ?'),
      byHandle: db.prepare<[string], GroupRow>('SELECT * FROM groups WHERE handle = ?'),
      delGroup: db.prepare('DELETE FROM groups WHERE id = ?'),
      delMembers: db.prepare('DELETE FROM group_members WHERE group_id = ?'),
      upsertMember: db.prepare('INSERT INTO group_members (group_id, username, role, joined_at, left_seq) VALUES (?, ?, ?, ?, NULL) ON CONFLICT DO UPDATE SET role = excluded.role, joined_at = excluded.joined_at, left_seq = NULL'),
      members: db.prepare<[string], MemberRow>('SELECT username, role, joined_at, left_seq FROM group_members WHERE group_id = ? AND left_seq IS NULL ORDER BY username'),
      member: db.prepare<[string, string], MemberRow>('SELECT username, role, joined_at, left_seq FROM group_members WHERE group_id = ? AND username = ?'),
      groupsOf: db.prepare<[string], GroupRow & { role: GroupRole }>('SELECT g.*, m.role FROM group_members m JOIN groups g ON g.id = m.group_id WHERE m.username = ? AND m.left_seq IS NULL ORDER BY g.handle'),
      formerGroupsOf: db.prepare<[string], GroupRow & { left_seq: number }>('SELECT g.*, m.left_seq FROM group_members m JOIN groups g ON g.id = m.group_id WHERE m.username = ? AND m.left_seq IS NOT NULL ORDER BY g.handle'),
      remove: db.prepare('UPDATE group_members SET left_seq = ? WHERE group_id = ? AND username = ? AND left_seq IS NULL'),
      raiseLeft: db.prepare('UPDATE group_members SET left_seq = ? WHERE group_id = ? AND username = ? AND left_seq IS NOT NULL AND left_seq < ?'),
      setRole: db.prepare('UPDATE group_members SET role = ? WHERE group_id = ? AND username = ? AND left_seq IS NULL'),
      countMembers: db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM group_members WHERE group_id = ? AND left_seq IS NULL'),
      countOf: db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM group_members WHERE username = ? AND left_seq IS NULL'),
      countCreated: db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM groups WHERE created_by = ?'),
    };
  }

  async createGroup(group: GroupRecord, members: { username: string; role: GroupRole }[]) {
    const tx = this.db.transaction(() => {
      this.s.insertGroup.run(group);
      for (const m of members) this.s.upsertMember.run(group.id, m.username, m.role, group.createdAt);
    });
    try {
      tx();
    } catch (err) {
      if (isUniqueOn(err, 'groups.handle')) throw new HandleTakenError(group.handle);
      throw err;
    }
  }

  async getGroup(id: string) {
    const r = this.s.byId.get(id);
    return r ? toGroup(r) : null;
  }

  async getGroupByHandle(handle: string) {
    const r = this.s.byHandle.get(handle);
    return r ? toGroup(r) : null;
  }

  async updateGroup(id: string, patch: Partial<Pick<GroupRecord, 'handle' | 'name' | 'topic'>>) {
    const cols = ([['handle', patch.handle], ['name', patch.name], ['topic', patch.topic]] as const).filter(([, v]) => v !== undefined);
    if (cols.length === 0) return;
    try {
      this.db.prepare(`UPDATE groups SET ${cols.map(([c]) => `${c} = ?`).join(', ')} WHERE id = ?`).run(...cols.map(([, v]) => v), id);
    } catch (err) {
      if (isUniqueOn(err, 'groups.handle')) throw new HandleTakenError(patch.handle!);
      throw err;
    }
  }

  async deleteGroup(id: string) {
    this.db.transaction(() => {
      this.s.delMembers.run(id);
      this.s.delGroup.run(id);
    })();
  }

  async groupMembers(id: string) {
    return this.s.members.all(id).map(toMember);
  }

  async groupMember(id: string, username: string) {
    const r = this.s.member.get(id, username);
    return r ? toMember(r) : null;
  }

  async groupsOf(username: string) {
    return this.s.groupsOf.all(username).map((r) => ({ group: toGroup(r), role: r.role }));
  }

  async formerGroupsOf(username: string) {
    return this.s.formerGroupsOf.all(username).map((r) => ({ group: toGroup(r), leftSeq: r.left_seq }));
  }

  async addGroupMembers(id: string, members: { username: string; role: GroupRole }[], at: string) {
    this.db.transaction(() => {
      for (const m of members) this.s.upsertMember.run(id, m.username, m.role, at);
    })();
  }

  async removeGroupMember(id: string, username: string, leftSeq: number) {
    return this.s.remove.run(leftSeq, id, username).changes > 0;
  }

  async raiseLeftSeq(id: string, username: string, leftSeq: number) {
    this.s.raiseLeft.run(leftSeq, id, username, leftSeq);
  }

  async setGroupRole(id: string, username: string, role: GroupRole) {
    return this.s.setRole.run(role, id, username).changes > 0;
  }

  async countGroupMembers(id: string) {
    return this.s.countMembers.get(id)!.n;
  }

  async countGroupsOf(username: string) {
    return this.s.countOf.get(username)!.n;
  }

  async countGroupsCreatedBy(username: string) {
    return this.s.countCreated.get(username)!.n;
  }
}
