import type { z } from 'zod';
import type { messageSchema, messageKindSchema } from './schemas.js';
import type { ErrorBody } from './errors.js';
import type * as R from './responses.js';

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
export type GroupRole = z.infer<typeof R.groupRoleEnum>;

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

export type GroupEventType = z.infer<typeof R.groupEventTypeEnum>;

/** Every acknowledgement on the socket has this shape. */
export type Ack<T> = { ok: true; data: T } | { ok: false; error: ErrorBody };

// What chatd answers and pushes: inferred from the schemas the documents are generated from
// (responses.ts), where each field is described.
export type PublicUser = z.infer<typeof R.publicUserSchema>;
export type MeView = z.infer<typeof R.meViewSchema>;
export type AdminUserView = z.infer<typeof R.adminUserViewSchema>;
export type AuthResult = z.infer<typeof R.authResultSchema>;
export type PasswordChanged = z.infer<typeof R.passwordChangedSchema>;
export type FriendView = z.infer<typeof R.friendViewSchema>;
export type FriendRequests = z.infer<typeof R.friendRequestsSchema>;
export type FriendAddResult = z.infer<typeof R.friendAddResultSchema>;
export type FriendEvent = z.infer<typeof R.friendEventSchema>;
export type ConversationView = z.infer<typeof R.conversationViewSchema>;
export type GroupView = z.infer<typeof R.groupViewSchema>;
export type GroupMemberView = z.infer<typeof R.groupMemberViewSchema>;
export type GroupEvent = z.infer<typeof R.groupEventSchema>;
export type Receipt = z.infer<typeof R.receiptMarkersSchema>;
export type TypingEvent = z.infer<typeof R.typingEventSchema>;
export type ReceiptEvent = z.infer<typeof R.receiptEventSchema>;
export type AiChunkEvent = z.infer<typeof R.aiChunkEventSchema>;
export type ApiTokenView = z.infer<typeof R.apiTokenViewSchema>;
export type ApiTokenCreated = z.infer<typeof R.apiTokenCreatedSchema>;
export type SyncResult = z.infer<typeof R.syncResultSchema>;
export type MessageEdits = z.infer<typeof R.messageEditsSchema>;
export type SearchHitView = z.infer<typeof R.searchHitSchema>;
export type SearchResult = z.infer<typeof R.searchResultSchema>;
export type PresenceEvent = z.infer<typeof R.presenceEventSchema>;
export type HealthReport = z.infer<typeof R.healthReportSchema>;
export type FailedPublish = z.infer<typeof R.failedPublishSchema>;
export type DeadLetter = z.infer<typeof R.deadLetterSchema>;
export type AdminStatus = z.infer<typeof R.adminStatusSchema>;
export type ReplayResult = z.infer<typeof R.replayResultSchema>;
export type PurgeResult = z.infer<typeof R.purgeResultSchema>;
