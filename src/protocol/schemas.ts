import { z } from 'zod';
import { LIMITS } from './limits.js';
import { MAX_EMOJI_CODE_POINTS, isOneEmoji } from './emoji.js';
import { CHANGE_KINDS, MESSAGE_KINDS } from './changes.js';
import { MAX_QUERY_CHARS, MAX_SEARCH_LIMIT } from './search.js';

import { FILE_LIMITS, attachmentSchema, fileIdSchema } from './files.js';
import { wireTime } from './wire-time.js';

export { wireTime };
import { CLIENT_MSG_ID, GROUP_HANDLE, GROUP_REF, GROUP_ROLES, NEW_HANDLE, NEW_USERNAME, USERNAME } from './names.js';

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

/**
 * What a record of a conversation's log is: a message (user, ai, system), or a change to an
 * earlier one (edit, delete, react). Every record has its own seq; see changes.ts for how a
 * change applies to its target.
 */
export const messageKindSchema = z.enum([...MESSAGE_KINDS, ...CHANGE_KINDS]);

const seqValue = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);

/** Users who reacted to a message with one emoji, in the order they did. */
export const reactionSchema = z.object({
  emoji: z.string(),
  count: z.number().int().positive().describe('How many users reacted with this emoji (users.length)'),
  users: z.array(z.string()),
});
/** The message a reply quotes, as it is now. */
export const replyQuoteSchema = z.object({
  seq: seqValue,
  from: z.string().describe('The quoted message\'s author'),
  snippet: z.string().describe('The start of its current text, on one line (empty when deleted)'),
  deleted: z.boolean().optional().describe('The quoted message was deleted'),
});
export const tombstoneSchema = z.object({ by: z.string().describe('Who deleted it: the author, or a group owner or admin'), at: wireTime });

export const messageSchema = z.object({
  id: z.string(),
  seq: z.number().int().positive(),
  conversationId: z.string(),
  from: z.string(),
  to: z.string(),
  text: z.string().describe('The current text (an edit record: the new text; empty for a delete or a reaction, and once deleted)'),
  kind: messageKindSchema,
  createdAt: wireTime,
  clientMsgId: z.string().optional(),
  // A reply, and who it mentions.
  replyTo: seqValue.optional().describe('The seq of the message of the same conversation this one answers'),
  reply: replyQuoteSchema.optional().describe('The answered message as it is now (on reads and live messages)'),
  mentions: z.array(z.string()).optional().describe('Group members named with @name in the text'),
  files: z.array(attachmentSchema).optional().describe('Files sent with the message (gone once it is deleted)'),
  // A change record: what it changes.
  target: seqValue.optional().describe('A change record: the seq of the message it changes'),
  emoji: z.string().optional().describe('A reaction record: the emoji'),
  op: z.enum(['add', 'remove']).optional().describe('A reaction record: added or removed'),
  // A message's state after its changes.
  editedAt: wireTime.optional().describe('When the message was last edited'),
  edits: z.number().int().positive().optional().describe('How many times it was edited'),
  deleted: tombstoneSchema.optional().describe('It was deleted: a tombstone, with no text'),
  reactions: z.array(reactionSchema).optional().describe('Reactions, one entry per emoji, in the order they were first added'),
  changedSeq: seqValue.optional().describe('The seq of the last change applied to this message: a change record with a seq at or below it is already part of this state'),
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
    text: wellFormedText(maxLength).default('').describe('The text; it may be empty when files are sent'),
    clientMsgId: clientMsgIdSchema.optional(),
    replyTo: seqValue.optional().describe('Answer this message (a seq of the same conversation)'),
    files: z.array(fileIdSchema).min(1).max(FILE_LIMITS.maxFilesPerMessage, `at most ${FILE_LIMITS.maxFilesPerMessage} files per message`)
      .refine((ids) => new Set(ids).size === ids.length, 'a file is listed twice').optional().describe('Files uploaded through /v1/files and not sent yet, by id'),
  }).refine((b) => b.text.length > 0 || (b.files?.length ?? 0) > 0, { message: 'text must not be empty', path: ['text'] });
}
export const sendSchema = makeSendSchema();

/** A message of a conversation: `to` names the conversation as in a send, `seq` the message. */
const messageRef = { to: targetSchema, seq: seqValue };

/** Replaces a message's text (its author, within CHAT_EDIT_WINDOW_SECONDS). */
export function makeEditSchema(maxLength: number = LIMITS.maxMessageLength) {
  return z.strictObject({ ...messageRef, text: wellFormedText(maxLength).min(1, 'text must not be empty'), clientMsgId: clientMsgIdSchema.optional() });
}
export const editSchema = makeEditSchema();
/** Deletes a message (its author; in a group also owners and admins). */
export const deleteSchema = z.strictObject({ ...messageRef, clientMsgId: clientMsgIdSchema.optional() });

export const emojiSchema = z.string().max(2 * MAX_EMOJI_CODE_POINTS).refine(isOneEmoji, 'emoji must be one emoji');
/** What a reaction request does to mine: add it, remove it, or toggle it (the default). */
const reactOpSchema = z.enum(['add', 'remove', 'toggle']).optional().describe('add, remove, or toggle (the default): adds my reaction unless I reacted with this emoji already, then removes it');
/** Adds, removes or toggles my reaction. Any member of the conversation. */
export const reactSchema = z.strictObject({ ...messageRef, emoji: emojiSchema, op: reactOpSchema, clientMsgId: clientMsgIdSchema.optional() });
/** The REST forms: the conversation and seq are in the path. */
export function makeEditBodySchema(maxLength: number = LIMITS.maxMessageLength) {
  return z.strictObject({ text: wellFormedText(maxLength).min(1, 'text must not be empty'), clientMsgId: clientMsgIdSchema.optional() });
}
export const editBodySchema = makeEditBodySchema();
export const reactBodySchema = z.strictObject({ emoji: emojiSchema, op: reactOpSchema, clientMsgId: clientMsgIdSchema.optional() });
export const messageParamSchema = z.strictObject({ peer: targetSchema, seq: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER) });
/** Which messages of a conversation changed after a seq: the safety net of catch-up. */
export const changesQuerySchema = z.strictObject({
  sinceSeq: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  limit: z.coerce.number().int().min(1).max(LIMITS.maxHistoryLimit).optional(),
});

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
  around: seqParam.optional().describe('The messages around this seq (it and the older half of the page, then the newer half): where a search hit is read in context'),
}).refine((q) => q.beforeSeq === undefined || q.afterSeq === undefined || q.afterSeq < q.beforeSeq, { message: 'afterSeq must be below beforeSeq' })
  .refine((q) => q.around === undefined || (q.beforeSeq === undefined && q.afterSeq === undefined), { message: 'around goes without beforeSeq and afterSeq' });

/**
 * A server search (GET /v1/search): `q` in the query language of search.ts, `in` a conversation
 * to search in (as `in:` in the query), newest first with `sort=recent`, `cursor` the `next` of
 * the previous page.
 */
export const searchQuerySchema = z.strictObject({
  q: z.string().max(MAX_QUERY_CHARS, `q exceeds ${MAX_QUERY_CHARS} characters`),
  in: targetSchema.optional(),
  limit: z.coerce.number().int().min(1).max(MAX_SEARCH_LIMIT).optional(),
  sort: z.enum(['relevance', 'recent']).optional().describe('relevance (the default) or recent: newest first'),
  cursor: z.string().max(200).regex(/^[A-Za-z0-9_-]+$/, 'not a cursor').optional(),
});
export type SearchQueryInput = z.infer<typeof searchQuerySchema>;

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
/** A send as a client writes it: `text` may be left out when files are sent. */
export type SendRequest = z.input<typeof sendSchema>;
export type EditInput = z.infer<typeof editSchema>;
export type DeleteInput = z.infer<typeof deleteSchema>;
export type ReactInput = z.infer<typeof reactSchema>;
export type ChangesQuery = z.infer<typeof changesQuerySchema>;
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
export const groupRoleValueSchema = z.enum(GROUP_ROLES);
export const groupRoleSchema = z.strictObject({ role: groupRoleValueSchema });
/** A group in a route: its handle, with or without `#` (encoded as %23). */
export const groupParamSchema = z.strictObject({ group: z.string().regex(GROUP_HANDLE, 'not a group handle') });
export const groupMemberParamSchema = groupParamSchema.extend({ username: usernameSchema });
/** History of a friend (username) or of a group (`#handle`). */
export const historyParamSchema = z.strictObject({ peer: targetSchema });

export type GroupCreateInput = z.infer<typeof groupCreateSchema>;
export type GroupUpdateInput = z.infer<typeof groupUpdateSchema>;
