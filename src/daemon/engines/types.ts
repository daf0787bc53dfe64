import type { AdminStatus, DeadLetter, FailedPublish, GroupRole, Message, Receipt, ReplayResult } from '../../protocol/index.js';

export interface UserRecord {
  id: string;
  username: string;
  passwordHash: string;
  admin: boolean;
  disabled: boolean;
  createdAt: string;
}

export interface RefreshTokenRecord {
  id: string;
  userId: string;
  familyId: string;
  tokenHash: string;
  createdAt: string;
  expiresAt: string;
  usedAt: string | null;
  revokedAt: string | null;
  device: string | null;
}

export interface ApiTokenRecord {
  id: string;
  userId: string;
  name: string;
  tokenHash: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export interface ConversationRecord {
  conversationId: string;
  members: [string, string];
  lastSeq: number;
  updatedAt: string;
}

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

export interface HistoryRange {
  limit: number;
  beforeSeq?: number;
  afterSeq?: number;
}

export interface BackendHealth {
  ok: boolean;
  kind: string;
  detail?: string;
}

/** A long-lived resource under the daemon's lifecycle. */
export interface Lifecycle {
  start(): Promise<void>;
  close(): Promise<void>;
  health(): Promise<BackendHealth>;
}

/**
 * Durable storage of accounts, sessions, friendships and messages.
 * Implementations: SQLite (embedded). Every implementation passes test/daemon/store.contract.ts.
 */
export interface Store extends Lifecycle {
  readonly kind: string;
  /** Groups and their members (available once started). */
  readonly groups: GroupStore;

  /** Creates a user; the first user of an empty store becomes admin. Throws CHAT_ERR_USERNAME_TAKEN. */
  createUser(input: { id: string; username: string; passwordHash: string; createdAt: string }): Promise<UserRecord>;
  getUserById(id: string): Promise<UserRecord | null>;
  getUserByName(username: string): Promise<UserRecord | null>;
  listUsers(): Promise<UserRecord[]>;
  updateUser(id: string, patch: Partial<Pick<UserRecord, 'passwordHash' | 'admin' | 'disabled'>>): Promise<void>;

  insertRefreshToken(rec: RefreshTokenRecord): Promise<void>;
  getRefreshToken(id: string): Promise<RefreshTokenRecord | null>;
  /** Marks a refresh token used, only if it was not used or revoked yet. Returns false when someone else got there first. */
  markRefreshTokenUsed(id: string, at: string): Promise<boolean>;
  revokeFamily(familyId: string, at: string): Promise<void>;
  /** Revokes every session of a user, except one family if given. Returns the revoked family ids. */
  revokeUserSessions(userId: string, at: string, exceptFamilyId?: string): Promise<string[]>;
  /** True while the family has a token that is not revoked. */
  isSessionActive(familyId: string): Promise<boolean>;
  /** A user's live session families, the oldest first. */
  activeSessions(userId: string): Promise<string[]>;
  /**
   * Bounds a user's refresh rows: drops the rows of revoked or expired families, and in `familyId`
   * the used rows beyond the newest `keep` (older tokens then read as invalid, not as reused).
   */
  pruneRefreshTokens(userId: string, familyId: string, keep: number, now: string): Promise<void>;

  insertApiToken(rec: ApiTokenRecord): Promise<void>;
  getApiToken(id: string): Promise<ApiTokenRecord | null>;
  listApiTokens(userId: string): Promise<ApiTokenRecord[]>;
  /** Returns false when the token does not exist, belongs to someone else or was already revoked. */
  revokeApiToken(userId: string, id: string, at: string): Promise<boolean>;
  touchApiToken(id: string, at: string): Promise<void>;
  /** Revokes every live API token of a user; returns their ids. */
  revokeUserApiTokens(userId: string, at: string): Promise<string[]>;

  /** Records that `from` wants to be friends with `to` (idempotent). */
  addFriendEdge(from: string, to: string, at: string): Promise<void>;
  hasFriendEdge(from: string, to: string): Promise<boolean>;
  /** Removes edges in both directions (unfriend, decline or cancel). Returns whether anything was removed. */
  removeFriendEdges(a: string, b: string): Promise<boolean>;
  /** Usernames `username` points to (out) and that point to `username` (in). */
  listFriendEdges(username: string): Promise<{ out: string[]; in: string[] }>;

  /**
   * Inserts messages idempotently by id and by (from, clientMsgId), all or nothing: the message
   * log's archive write (the persister's, in scale-out). Returns, for each input, the message as
   * stored (an earlier one on a conflict).
   */
  insertMessages(messages: Message[]): Promise<Message[]>;
  getMessageByClientId(from: string, clientMsgId: string): Promise<Message | null>;
  /** Messages of a conversation in a seq range, oldest first. Without cursors: the most recent `limit`. With beforeSeq: the `limit` just before it. With afterSeq: the `limit` just after it. */
  history(conversationId: string, range: HistoryRange): Promise<Message[]>;
  maxSeq(conversationId: string): Promise<number>;
  listConversations(username: string): Promise<ConversationRecord[]>;

  /** Raises several markers at once (one transaction or bulk write), never lowering any. */
  setReceipts(marks: ReceiptMark[]): Promise<void>;
  /** Markers of every user who has any in the conversation. */
  getReceipts(conversationId: string): Promise<Record<string, Receipt>>;
}

export interface ReceiptMark extends Receipt {
  conversationId: string;
  username: string;
}

export type { Receipt } from '../../protocol/types.js';

export interface RateLimitResult {
  allowed: boolean;
  retryAfterMs: number;
}

/**
 * Fast shared state: rate limits, failure counters and presence (memory on one node, Redis
 * across nodes). Every implementation passes test/daemon/engines/cache.contract.ts.
 */
export interface Cache extends Lifecycle {
  readonly kind: string;
  /**
   * Token bucket per key: `limit` hits at once, refilled at `limit` per `windowMs` (GCRA, the same
   * arithmetic on memory and Redis). A refused hit is not counted. A cache held in this process
   * answers at once (no promise), so the send path awaits nothing on the embedded node.
   */
  rateLimit(key: string, limit: number, windowMs: number): RateLimitResult | Promise<RateLimitResult>;
  /** Registers a connection; returns true when the user just came online. */
  presenceAdd(username: string, connectionId: string): Promise<boolean>;
  /** Unregisters a connection; returns true when the user just went offline. */
  presenceRemove(username: string, connectionId: string): Promise<boolean>;
  presenceOnline(usernames: string[]): Promise<Record<string, boolean>>;
  /** Live connections of a user, on every node. */
  presenceCount(username: string): Promise<number>;
  /** Adds one to a failure counter that expires `windowMs` after its last hit; returns the count. */
  countHit(key: string, windowMs: number): Promise<number>;
  /** A failure counter's value (0 when expired or never hit). */
  countGet(key: string): Promise<number>;
  countClear(key: string): Promise<void>;
  /** Sets a lock on `key` for `ms`. */
  holdSet(key: string, ms: number): Promise<void>;
  /** Milliseconds left on a lock, 0 when there is none. */
  holdGet(key: string): Promise<number>;
  /** Re-asserts this node's live connections so they do not expire (shared caches expire crashed nodes' entries). */
  presenceHeartbeat(connections: { username: string; connectionId: string }[]): Promise<void>;
}

/** A message before the log gives it a seq. */
export type MessageDraft = Omit<Message, 'seq'>;

/** One WAL checkpoint of the embedded store: frames copied so far, WAL length in pages, time taken; or why it failed. */
export type CheckpointEvent = { pages: number; walPages: number; ms: number } | { error: string };

/** Told each group's size and time (commit or produce), for metrics. */
export type GroupObserver = (size: number, ms: number) => void;

/** Admin operations on the durable path; only the scale-out log has failed publishes and dead letters. */
export interface Operations {
  failedList(): Promise<FailedPublish[]>;
  failedReplay(ids?: string[]): Promise<ReplayResult>;
  failedPurge(ids?: string[]): Promise<{ purged: string[] }>;
  dlqList(): Promise<DeadLetter[]>;
  dlqReplay(ids?: string[]): Promise<ReplayResult>;
  status(): Promise<Omit<AdminStatus, 'node' | 'backends'>>;
}
