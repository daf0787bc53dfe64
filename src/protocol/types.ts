import type { z } from 'zod';
import type { messageSchema, messageKindSchema } from './schemas.js';
import type { ErrorBody } from './errors.js';

export type MessageKind = z.infer<typeof messageKindSchema>;
export type Message = z.infer<typeof messageSchema>;

/** The author name of AI answers. Two characters, so no account can take it. */
export const AI_AUTHOR = 'ai';
/** The author name of system messages. Reserved at registration. */
export const SYSTEM_AUTHOR = 'system';
export const RESERVED_USERNAMES: readonly string[] = [SYSTEM_AUTHOR, 'chatd', 'admin', 'root'];

/** Direct-message conversation id: stable and independent of who writes first. */
export function dmConversationId(a: string, b: string): string {
  return a < b ? `dm:${a}:${b}` : `dm:${b}:${a}`;
}

/** A member's role in a group: owners and admins manage it; the owner alone deletes it. */
export type GroupRole = 'owner' | 'admin' | 'member';
export const GROUP_ROLES: readonly GroupRole[] = ['owner', 'admin', 'member'];

/** Group conversation id: `g:` and the group's id (stable across renames). */
export function groupConversationId(groupId: string): string {
  return `g:${groupId}`;
}

/** Whether a conversation id names a group. */
export function isGroupConversation(conversationId: string): boolean {
  return conversationId.startsWith('g:');
}

/**
 * The fixed participants of a conversation: both names of a DM id; none for a group (its members
 * change, and live in the store); otherwise `fallback`.
 */
export function conversationMembers(conversationId: string, fallback: string[] = []): string[] {
  if (conversationId.startsWith('dm:')) return conversationId.slice(3).split(':');
  return isGroupConversation(conversationId) ? [] : fallback;
}

/** The other participant of a DM conversation, or undefined when `me` is not in it. */
export function dmPeer(conversationId: string, me: string): string | undefined {
  const parts = conversationId.split(':');
  if (parts.length !== 3 || parts[0] !== 'dm') return undefined;
  if (parts[1] === me) return parts[2];
  if (parts[2] === me) return parts[1];
  return undefined;
}

export interface PublicUser {
  id: string;
  username: string;
  admin: boolean;
}

export interface AdminUserView extends PublicUser {
  disabled: boolean;
  createdAt: string;
}

export interface AuthResult {
  user: PublicUser;
  accessToken: string;
  /** Seconds until the access token expires. */
  expiresIn: number;
  refreshToken: string;
}

/** What passwd ended besides the password. */
export interface PasswordChanged {
  revokedSessions: number;
  revokedTokens: number;
}

export interface FriendView {
  username: string;
  online: boolean;
}

export interface FriendRequests {
  incoming: string[];
  outgoing: string[];
}

/**
 * A change in a friendship, sent live to both users, each from their own side: `username` is the
 * other user; `status` is what that user now is to the receiver.
 */
export interface FriendEvent {
  username: string;
  status: 'incoming' | 'outgoing' | 'friends' | 'none';
}

export interface FriendAddResult {
  username: string;
  /** 'requested' when waiting for the other side, 'friends' once mutual. */
  status: 'requested' | 'friends';
}

export interface ConversationView {
  conversationId: string;
  kind: 'dm' | 'group';
  /** The peer's username, or the group's `#handle`. */
  with: string;
  /** What people read: the peer's username, or the group's display name. */
  title: string;
  lastSeq: number;
  lastMessage: Message | null;
  /** Messages from others after my read marker. */
  unread: number;
  /** My read marker, and the peer's delivered and read markers (0 when none; in a group, the lowest of the other members'). */
  myRead: number;
  peerDelivered: number;
  peerRead: number;
  /** Groups only: current members, and how many others have read up to lastSeq. */
  members?: number;
  readBy?: number;
}

/** A group as its members see it. */
export interface GroupView {
  id: string;
  conversationId: string;
  /** Lower case, without the `#`. */
  handle: string;
  name: string;
  topic: string;
  /** The caller's role. */
  role: GroupRole;
  memberCount: number;
  createdAt: string;
  createdBy: string;
}

export interface GroupMemberView {
  username: string;
  role: GroupRole;
  online: boolean;
  joinedAt: string;
}

export type GroupEventType = 'created' | 'member_added' | 'member_removed' | 'member_left' | 'role_changed' | 'renamed' | 'topic_changed' | 'deleted';

/**
 * A change to a group, live to every member's sockets (and to the users it removed). The
 * membership changes are also `system` messages in the group, with a seq.
 */
export interface GroupEvent {
  type: GroupEventType;
  group: { id: string; conversationId: string; handle: string; name: string; topic: string };
  /** Who made the change. */
  by: string;
  /** The users added, removed or given a role. */
  users?: string[];
  role?: GroupRole;
}

/** A member's delivery and read markers in a conversation: the highest seq received, and read. */
export interface Receipt {
  delivered: number;
  read: number;
}

export interface TypingEvent {
  conversationId: string;
  username: string;
  typing: boolean;
}

export interface ReceiptEvent {
  conversationId: string;
  username: string;
  delivered: number;
  read: number;
}

/** A piece of a streamed /ai answer; the final answer also arrives as a stored `kind: "ai"` message. */
export interface AiChunkEvent {
  conversationId: string;
  /** Id of the message that asked. */
  requestId: string;
  /** Text to append. */
  text: string;
  /** True on the first piece of an attempt: drop text shown so far (a retry starts over). */
  restart?: boolean;
  done: boolean;
  error?: string;
}

export interface ApiTokenView {
  id: string;
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
}

export interface ApiTokenCreated {
  id: string;
  name: string;
  /** The secret, shown once. */
  token: string;
}

export interface SyncResult {
  messages: Message[];
  /** True when a cursor had more messages than the limit allowed; call again with updated cursors. */
  more: boolean;
}

export interface PresenceEvent {
  username: string;
  online: boolean;
}

export interface HealthReport {
  status: 'ok' | 'degraded';
  backends: Record<string, { ok: boolean; kind: string; detail?: string }>;
}

/** Every acknowledgement on the socket has this shape. */
export type Ack<T> = { ok: true; data: T } | { ok: false; error: ErrorBody };

/** A message acknowledged while Kafka was down, waiting in the failed-publish store. */
export interface FailedPublish extends Message {
  failedAt: string;
  error: string;
}

/** A record the persistence consumer could not store, kept in the dead-letter topic. */
export interface DeadLetter {
  id: string;
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: string;
  error: string;
  at: string;
}

export interface AdminStatus {
  node: { pid: number; uptimeSec: number; store: string; log: string; cache: string };
  backends: Record<string, { ok: boolean; kind: string; detail?: string }>;
  /** Messages in Kafka not yet committed by the persistence consumers (null without Kafka). */
  consumerLag: number | null;
  /** Entries in the failed-publish store (null without Kafka). */
  failedStore: number | null;
  /** Dead letters not yet replayed, and records ever written to the DLQ topic (null without Kafka). */
  dlq: { pending: number; total: number } | null;
}

export interface ReplayResult {
  replayed: string[];
  remaining: number;
}
