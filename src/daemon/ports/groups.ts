import type { GroupRole } from '../../protocol/index.js';

export interface GroupRecord {
  id: string;
  conversationId: string;
  /** Unique on the server, lower case, without the leading `#`. */
  handle: string;
  name: string;
  topic: string;
  createdAt: string;
  createdBy: string;
}

export interface GroupMemberRecord {
  username: string;
  role: GroupRole;
  joinedAt: string;
  /** null while a member; after leaving or removal, the last seq they may still read. */
  leftSeq: number | null;
}

/**
 * Groups and their members. Removal keeps the member's row (with `leftSeq`), so a former member
 * can read up to their removal; adding them again makes them a member with full access.
 */
export interface GroupStore {
  /** Creates a group with its first members (one of them its owner). Throws HandleTakenError. */
  createGroup(group: GroupRecord, members: { username: string; role: GroupRole }[]): Promise<void>;
  getGroup(id: string): Promise<GroupRecord | null>;
  getGroupByHandle(handle: string): Promise<GroupRecord | null>;
  /** Renames (name or handle) or sets the topic. Throws HandleTakenError. */
  updateGroup(id: string, patch: Partial<Pick<GroupRecord, 'handle' | 'name' | 'topic'>>): Promise<void>;
  /** Deletes the group and every membership row, current and former. */
  deleteGroup(id: string): Promise<void>;
  /** Current members, by username. */
  groupMembers(id: string): Promise<GroupMemberRecord[]>;
  /** A user's row in a group, current or former; null when they never were a member. */
  groupMember(id: string, username: string): Promise<GroupMemberRecord | null>;
  /** The groups a user is a current member of, with their role, by handle. */
  groupsOf(username: string): Promise<{ group: GroupRecord; role: GroupRole }[]>;
  /** The groups a user was a member of and is not now, with the last seq they may read in each. */
  formerGroupsOf(username: string): Promise<{ group: GroupRecord; leftSeq: number }[]>;
  /** Adds members, or makes former members current again, with the given roles. */
  addGroupMembers(id: string, members: { username: string; role: GroupRole }[], at: string): Promise<void>;
  /** Ends a membership; the user may still read up to `leftSeq`. Returns false when they were not a current member. */
  removeGroupMember(id: string, username: string, leftSeq: number): Promise<boolean>;
  /** Moves a former member's `leftSeq` up to `leftSeq` (never down; nothing when they are a member again). */
  raiseLeftSeq(id: string, username: string, leftSeq: number): Promise<void>;
  /** Returns false when the user is not a current member. */
  setGroupRole(id: string, username: string, role: GroupRole): Promise<boolean>;
  countGroupMembers(id: string): Promise<number>;
  /** Groups a user is a current member of. */
  countGroupsOf(username: string): Promise<number>;
  /** Groups a user created that still exist: the per-user cap counts these, which nobody else can raise. */
  countGroupsCreatedBy(username: string): Promise<number>;
}
