import { z } from 'zod';
import { LIMITS } from './limits.js';

import { CLIENT_MSG_ID, GROUP_HANDLE, GROUP_REF, NEW_HANDLE, NEW_USERNAME, USERNAME } from './names.js';

/** Usernames: 3–32 characters of [a-z0-9_.-]. */
export const usernameSchema = z.string().regex(USERNAME, 'username must be 3-32 characters of a-z, 0-9, _ . -');
/** A name being registered: the username rules, and it must not start with - or . */
export const newUsernameSchema = z.string().regex(NEW_USERNAME, 'username must be 3-32 characters of a-z, 0-9, _ . - and start with a letter, a digit or _');

/**
 * Text that is valid UTF-16 (no lone surrogate). JSON can carry a lone surrogate as \ud800, but no
 * store keeps it as sent (SQLite and BSON hold UTF-8), so the ack would differ from history.
 */
export const wellFormedText = (max: number, what = 'text') => z.string().max(max, `${what} exceeds ${max} characters`).refine((t) => t.isWellFormed(), `${what} is not valid Unicode (a lone surrogate)`);
/** A group as people name it: `#ops` (any case; the server compares lower case). */
export const groupRefSchema = z.string().regex(GROUP_REF, 'a group is # and 3-32 characters of a-z, 0-9, _ . -');
/** Where a message or a typing indicator goes: a friend's username, or a group's `#handle`. */
export const targetSchema = z.union([usernameSchema, groupRefSchema], { error: 'to must be a username or a #group' });
export const passwordSchema = z.string().min(LIMITS.minPasswordLength, `password must be at least ${LIMITS.minPasswordLength} characters`).max(LIMITS.maxPasswordLength);

export const messageKindSchema = z.enum(['user', 'ai', 'system']);

export const messageSchema = z.object({
  id: z.string(),
  seq: z.number().int().positive(),
  conversationId: z.string(),
  from: z.string(),
  to: z.string(),
  text: z.string(),
  kind: messageKindSchema,
  createdAt: z.string(),
  clientMsgId: z.string().optional(),
});

const deviceSchema = wellFormedText(64, 'device').optional();
export const credentialsSchema = z.strictObject({ username: newUsernameSchema, password: passwordSchema });
/** Login accepts any string as a username so that a malformed one gets the same answer as an unknown one. */
export const loginSchema = z.strictObject({ username: z.string().min(1).max(64), password: z.string().min(1).max(LIMITS.maxPasswordLength), device: deviceSchema });
export const registerSchema = credentialsSchema.extend({ device: deviceSchema });
export const refreshSchema = z.strictObject({ refreshToken: z.string().min(1).max(512) });
export const logoutSchema = refreshSchema;
const currentPasswordSchema = z.string().min(1, 'the current password is required').max(LIMITS.maxPasswordLength);
/** Ends every other session, and every API token unless keepTokens. */
export const changePasswordSchema = z.strictObject({ currentPassword: currentPasswordSchema, newPassword: passwordSchema, keepTokens: z.boolean().optional() });
export const resetPasswordSchema = z.strictObject({ password: passwordSchema });
/** Creating an API token needs the current password, so a leaked token cannot mint more. */
export const tokenCreateSchema = z.strictObject({ name: wellFormedText(LIMITS.maxTokenNameLength, 'name').min(1), password: currentPasswordSchema });

export const clientMsgIdSchema = z.string().min(1).max(LIMITS.maxClientMsgIdLength).regex(CLIENT_MSG_ID, 'clientMsgId must be printable ASCII without spaces');

/** Builds the send schema for a given maximum text length (the daemon's config may change it). */
export function makeSendSchema(maxLength: number = LIMITS.maxMessageLength) {
  return z.strictObject({
    to: targetSchema,
    text: wellFormedText(maxLength).min(1, 'text must not be empty'),
    clientMsgId: clientMsgIdSchema.optional(),
  });
}
export const sendSchema = makeSendSchema();

/**
 * The send schema's fast path, for the busiest socket event: a plain object with exactly the
 * fields the schema accepts, each valid, comes back as the schema would return it. Anything else
 * returns null, and the schema itself decides and words the error. A property test holds this to
 * the schema: whatever it accepts, the schema accepts with the same result, and it accepts every
 * well-formed payload.
 */
export function wellFormedSend(value: unknown, maxLength: number): SendInput | null {
  if (typeof value !== 'object' || value === null || Object.getPrototypeOf(value) !== Object.prototype) return null;
  const v = value as Record<string, unknown>;
  let keys = 0;
  for (const k in v) {
    if (k !== 'to' && k !== 'text' && k !== 'clientMsgId') return null;
    keys++;
  }
  const { to, text, clientMsgId } = v;
  if (typeof to !== 'string' || !(USERNAME.test(to) || GROUP_REF.test(to))) return null;
  // The schema counts code points once the UTF-16 length is over the limit: such texts go to it.
  if (typeof text !== 'string' || text.length < 1 || text.length > maxLength || !text.isWellFormed()) return null;
  if (clientMsgId === undefined) return keys === 2 ? { to, text } : null;
  if (typeof clientMsgId !== 'string' || clientMsgId.length > LIMITS.maxClientMsgIdLength || !CLIENT_MSG_ID.test(clientMsgId)) return null;
  return { to, text, clientMsgId };
}

const seqParam = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
export const historyQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(LIMITS.maxHistoryLimit).optional(),
  beforeSeq: seqParam.optional(),
  afterSeq: seqParam.optional(),
}).refine((q) => q.beforeSeq === undefined || q.afterSeq === undefined || q.afterSeq < q.beforeSeq, { message: 'afterSeq must be below beforeSeq' });

/** A conversation id as clients may send it: dm:<a>:<b>, at most maxConversationIdLength characters. */
export const conversationIdSchema = z.string().min(1).max(LIMITS.maxConversationIdLength).regex(/^[a-z0-9_.:#-]+$/, 'not a conversation id');

/** Catch-up over the socket: conversations and the last seq the client saw in each. */
export const syncSchema = z.strictObject({
  cursors: z.record(conversationIdSchema, z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)).refine((c) => Object.keys(c).length <= LIMITS.maxSyncCursors, `at most ${LIMITS.maxSyncCursors} cursors`),
  /** Most messages in the whole answer (all conversations together), 500 by default and at most. */
  limit: z.number().int().min(1).max(LIMITS.maxHistoryLimit).optional().describe('Most messages in the whole answer, all conversations together (default and maximum 500)'),
});

export const usernameParamSchema = z.strictObject({ username: usernameSchema });
export const idParamSchema = z.strictObject({ id: z.string().min(1).max(64) });

export type SendInput = z.infer<typeof sendSchema>;
export type HistoryQuery = z.infer<typeof historyQuerySchema>;
export type SyncInput = z.infer<typeof syncSchema>;
export type LoginInput = z.infer<typeof loginSchema>;
export type RegisterInput = z.infer<typeof registerSchema>;

/** Admin replay/purge of failed publishes or dead letters: explicit ids, or all. */
export const adminIdsSchema = z.strictObject({
  ids: z.array(z.string().min(1).max(LIMITS.maxAdminIdLength)).max(LIMITS.maxAdminIds).optional(),
  all: z.boolean().optional(),
}).refine((b) => !(b.all && b.ids?.length), { message: 'give ids or all, not both' });

/** Typing indicator: sent throttled by clients, relayed to the peer, never stored. */
export const typingSchema = z.strictObject({ to: targetSchema, typing: z.boolean() });

/** Delivery and read markers: the highest seq this user has received / read in a conversation. */
export const receiptSchema = z.strictObject({
  conversationId: conversationIdSchema,
  delivered: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  read: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
}).refine((r) => r.delivered !== undefined || r.read !== undefined, { message: 'give delivered or read' });

export type TypingInput = z.infer<typeof typingSchema>;
export type ReceiptInput = z.infer<typeof receiptSchema>;

/** A new group's handle: the new-username rules, any case, with or without its `#`. */
export const newHandleSchema = z.string().regex(NEW_HANDLE, 'a group handle is 3-32 characters of a-z, 0-9, _ . - and starts with a letter, a digit or _');
const groupNameSchema = wellFormedText(LIMITS.maxGroupNameLength, 'name').min(1, 'name must not be empty');
const groupTopicSchema = wellFormedText(LIMITS.maxGroupTopicLength, 'topic');
const groupUsersSchema = z.array(usernameSchema).max(LIMITS.maxGroupUsersPerCall, `at most ${LIMITS.maxGroupUsersPerCall} users per call`);

/** Creating a group: its handle, and optionally a display name (the handle by default), a topic and first members (friends). */
export const groupCreateSchema = z.strictObject({ handle: newHandleSchema, name: groupNameSchema.optional(), topic: groupTopicSchema.optional(), members: groupUsersSchema.optional() });
/** Renaming (display name, handle) or setting the topic; owners and admins. */
export const groupUpdateSchema = z.strictObject({ handle: newHandleSchema.optional(), name: groupNameSchema.optional(), topic: groupTopicSchema.optional() })
  .refine((b) => b.handle !== undefined || b.name !== undefined || b.topic !== undefined, { message: 'give handle, name or topic' });
export const groupAddSchema = z.strictObject({ usernames: groupUsersSchema.min(1, 'give at least one username') });
/** A member's role in a group: owners and admins manage it; the owner alone deletes it. */
export const groupRoleValueSchema = z.enum(['owner', 'admin', 'member']);
export const groupRoleSchema = z.strictObject({ role: groupRoleValueSchema });
/** A group in a route: its handle, with or without `#` (encoded as %23). */
export const groupParamSchema = z.strictObject({ group: z.string().regex(GROUP_HANDLE, 'not a group handle') });
export const groupMemberParamSchema = groupParamSchema.extend({ username: usernameSchema });
/** History of a friend (username) or of a group (`#handle`). */
export const historyParamSchema = z.strictObject({ peer: targetSchema });

export type GroupCreateInput = z.infer<typeof groupCreateSchema>;
export type GroupUpdateInput = z.infer<typeof groupUpdateSchema>;
