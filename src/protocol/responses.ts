/**
 * What chatd answers and pushes, as zod schemas: the TypeScript types in types.ts are inferred
 * from these, and the OpenAPI document and the events' JSON Schema are generated from them, so the
 * three cannot disagree. A test sends every documented operation to a real chatd and validates
 * each answer against the served document.
 */
import { z } from 'zod';
import { ERROR_CODES, type ErrorCode } from './errors.js';
import { groupRoleValueSchema, messageSchema } from './schemas.js';
import { fileInfoSchema, sharedFileSchema } from './files.js';

/** Times on the wire are ISO 8601 in UTC (`2026-11-29T07:08:58.000Z`). */
const isoTime = z.iso.datetime();
const seq = z.number().int().nonnegative();
const count = z.number().int().nonnegative();

/** The response and event schemas by the name the documents give them. */
export const responseRegistry = z.registry<{ id: string }>();
const named = <T extends z.ZodType>(id: string, schema: T, description?: string): T => {
  const s = (description ? schema.meta({ description }) : schema) as T;
  responseRegistry.add(s, { id });
  return s;
};

export const errorBodySchema = named('Error', z.object({
  code: z.enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]]).describe('Stable; the README lists each with what to do'),
  message: z.string().describe('For people; may change between versions'),
  retryAfterMs: z.number().int().nonnegative().optional().describe('For CHAT_ERR_RATE_LIMITED: milliseconds to wait'),
  details: z.unknown().optional().describe('For CHAT_ERR_VALIDATION: the field and what is wrong with it'),
}), 'What went wrong: in REST answers as { error }, in socket acks as { ok: false, error }, and as the session:end payload.');
export const errorResponseSchema = named('ErrorResponse', z.object({ error: errorBodySchema }), 'Every REST error answer (4xx, 5xx).');

export const messageResponseSchema = named('Message', messageSchema, 'A record of a conversation\'s log: a message (kind user, ai, system) as it now is, or a change to one (kind edit, delete, react; `target` names the message). `seq` orders a conversation\'s records without gaps; `clientMsgId` is the sender\'s dedupe key.');
export const messageEditsSchema = named('MessageEdits', z.object({
  seq,
  versions: z.array(z.object({ text: z.string(), at: isoTime })).describe('Every text the message had, the first one first; the last is the current one'),
}), 'A message\'s edit history, readable by the members of its conversation until the message is deleted.');
export const groupRoleEnum = named('GroupRole', groupRoleValueSchema, 'Owners and admins manage a group; the owner alone deletes it.');

export const publicUserSchema = named('PublicUser', z.object({ id: z.string(), username: z.string(), admin: z.boolean() }));
/** GET /v1/me: who I am, and what this server takes from me (its configured limits). */
export const meViewSchema = named('MeView', publicUserSchema.extend({
  limits: z.object({
    maxMessageLength: z.number().int().positive().describe('The longest message text, in characters (UTF-16 code units), CHAT_MAX_MESSAGE_LENGTH'),
    maxFileSize: z.number().int().positive().describe('The largest file, in bytes, CHAT_MAX_FILE_SIZE'),
    maxFilesPerMessage: z.number().int().positive().describe('The most files on one message'),
  }),
}));
export const adminUserViewSchema = named('AdminUserView', publicUserSchema.extend({ disabled: z.boolean(), createdAt: isoTime }));

export const authResultSchema = named('AuthResult', z.object({
  user: publicUserSchema,
  accessToken: z.string().describe('A JWT for Authorization: Bearer, valid for expiresIn seconds'),
  expiresIn: z.number().int().positive().describe('Seconds until the access token expires'),
  refreshToken: z.string().describe('Single use: /v1/auth/refresh answers with a new one; a reused one ends the session'),
}));

export const passwordChangedSchema = named('PasswordChanged', z.object({ revokedSessions: count, revokedTokens: count }), 'What the password change ended besides the password.');

export const friendViewSchema = named('FriendView', z.object({ username: z.string(), online: z.boolean() }));
export const friendRequestsSchema = named('FriendRequests', z.object({ incoming: z.array(z.string()), outgoing: z.array(z.string()) }));
export const friendAddResultSchema = named('FriendAddResult', z.object({
  username: z.string(),
  status: z.enum(['requested', 'friends']).describe('"requested" while waiting for the other side, "friends" once mutual'),
}));

export const conversationViewSchema = named('ConversationView', z.object({
  conversationId: z.string(),
  kind: z.enum(['dm', 'group']),
  with: z.string().describe('The peer\'s username, or the group\'s #handle'),
  title: z.string().describe('What people read: the peer\'s username, or the group\'s display name'),
  lastSeq: seq,
  lastMessage: messageResponseSchema.nullable(),
  unread: count.describe('Messages after my read marker (edits, deletes and reactions are not counted), at most 9999'),
  mentions: count.describe('Of those, the ones that mention me with @name (groups), as they now are'),
  myRead: seq.describe('My read marker (0 when none)'),
  peerDelivered: seq.describe('The peer\'s delivered marker; in a group, the lowest of the other members\''),
  peerRead: seq.describe('The peer\'s read marker; in a group, the lowest of the other members\''),
  members: count.optional().describe('Groups only: current members'),
  topic: z.string().optional().describe('Groups only: the topic (untrusted text; empty when none)'),
  readBy: count.optional().describe('Groups only: how many others have read up to lastSeq'),
}));

export const groupViewSchema = named('GroupView', z.object({
  id: z.string(),
  conversationId: z.string(),
  handle: z.string().describe('Lower case, without the #'),
  name: z.string(),
  topic: z.string(),
  role: groupRoleEnum.describe('The caller\'s role'),
  memberCount: count,
  createdAt: isoTime,
  createdBy: z.string(),
}), 'A group as its members see it.');

export const groupMemberViewSchema = named('GroupMemberView', z.object({ username: z.string(), role: groupRoleEnum, online: z.boolean(), joinedAt: isoTime }));

export const receiptMarkersSchema = named('Receipt', z.object({ delivered: seq, read: seq }), 'A member\'s delivery and read markers in a conversation: the highest seq received, and read.');
export const receiptsSchema = named('Receipts', z.record(z.string(), receiptMarkersSchema), 'Each member\'s markers, by username.');

export const apiTokenViewSchema = named('ApiTokenView', z.object({ id: z.string(), name: z.string(), createdAt: isoTime, lastUsedAt: isoTime.nullable() }));
export const apiTokenCreatedSchema = named('ApiTokenCreated', z.object({ id: z.string(), name: z.string(), token: z.string().describe('The secret (chat_…), shown once') }));

const backendsSchema = z.record(z.string(), z.object({ ok: z.boolean(), kind: z.string(), detail: z.string().optional() }));
export const healthReportSchema = named('HealthReport', z.object({ status: z.enum(['ok', 'degraded']), backends: backendsSchema }), 'Each engine\'s kind and state; 503 when one is down or the node is draining.');
export const livenessSchema = named('Liveness', z.object({ status: z.literal('ok') }));

export const failedPublishSchema = named('FailedPublish', messageResponseSchema.extend({ failedAt: isoTime, error: z.string() }), 'A message acknowledged while Kafka was down, waiting in the failed-publish store.');
export const deadLetterSchema = named('DeadLetter', z.object({
  id: z.string(),
  topic: z.string(),
  partition: z.number().int().nonnegative(),
  offset: z.string(),
  key: z.string().nullable(),
  value: z.string(),
  error: z.string(),
  at: isoTime,
}), 'A record the persistence consumer could not store, kept in the dead-letter topic.');

export const adminStatusSchema = named('AdminStatus', z.object({
  node: z.object({ pid: z.number().int(), uptimeSec: count, store: z.string(), log: z.string(), cache: z.string() }),
  backends: backendsSchema,
  consumerLag: count.nullable().describe('Messages in Kafka not yet committed by the persistence consumers (null without Kafka)'),
  failedStore: count.nullable().describe('Entries in the failed-publish store (null without Kafka)'),
  dlq: z.object({ pending: count, total: count }).nullable().describe('Dead letters not yet replayed, and records ever written to the DLQ topic (null without Kafka)'),
}));
export const reindexResultSchema = named('ReindexResult', z.object({ indexed: count.describe('Messages written to the index (deleted ones removed from it)') }));
export const replayResultSchema = named('ReplayResult', z.object({ replayed: z.array(z.string()), remaining: count }));
export const purgeResultSchema = named('PurgeResult', z.object({ purged: z.array(z.string()) }));

// What the server pushes over the socket.
export const syncResultSchema = named('SyncResult', z.object({
  messages: z.array(messageResponseSchema),
  more: z.boolean().describe('True when the answer was cut at its bound (`limit` messages, or the server byte bound, 256 KiB by default): move each cursor to the last seq received and call again'),
}));
export const presenceEventSchema = named('PresenceEvent', z.object({ username: z.string(), online: z.boolean() }));
export const typingEventSchema = named('TypingEvent', z.object({ conversationId: z.string(), username: z.string(), typing: z.boolean() }));
export const receiptEventSchema = named('ReceiptEvent', z.object({ conversationId: z.string(), username: z.string(), delivered: seq, read: seq }));
export const aiChunkEventSchema = named('AiChunkEvent', z.object({
  conversationId: z.string(),
  requestId: z.string().describe('Id of the message that asked'),
  text: z.string().describe('Text to append'),
  restart: z.boolean().optional().describe('True on the first piece of an attempt: drop text shown so far (a retry starts over)'),
  done: z.boolean(),
  error: z.string().optional(),
}), 'A piece of a streamed /ai answer; the final answer also arrives as a stored `kind: "ai"` message.');
export const friendEventSchema = named('FriendEvent', z.object({
  username: z.string().describe('The other user'),
  status: z.enum(['incoming', 'outgoing', 'friends', 'none']).describe('What that user now is to the receiver'),
}), 'A change in a friendship, sent live to both users, each from their own side.');
export const groupEventTypeEnum = z.enum(['created', 'member_added', 'member_removed', 'member_left', 'role_changed', 'renamed', 'topic_changed', 'deleted']);
export const groupEventSchema = named('GroupEvent', z.object({
  type: groupEventTypeEnum,
  group: z.object({ id: z.string(), conversationId: z.string(), handle: z.string(), name: z.string(), topic: z.string() }),
  by: z.string().describe('Who made the change'),
  users: z.array(z.string()).optional().describe('The users added, removed or given a role'),
  role: groupRoleEnum.optional(),
}), 'A change to a group, live to every member\'s sockets (and to the users it removed). Membership changes are also `system` messages in the group, with a seq.');

/** A registered schema's name, for a $ref. */
export function responseName(schema: z.ZodType): string | undefined {
  return responseRegistry.get(schema)?.id;
}

/** Every registered schema as JSON Schema (the output side), cross-references as `${prefix}<Name>`. */
export function responseJsonSchemas(prefix: string): Record<string, Record<string, unknown>> {
  const { schemas } = z.toJSONSchema(responseRegistry, { io: 'output', target: 'draft-2020-12', unrepresentable: 'any', uri: (id) => `${prefix}${id}` });
  return Object.fromEntries(Object.entries(schemas).map(([name, s]) => {
    const { $schema: _s, $id: _i, ...rest } = s as Record<string, unknown>;
    return [name, name === 'Error' ? openErrorCode(openObjects(rest)) : openObjects(rest)];
  }));
}

/**
 * An error's code, as the documents give it: a string, with today's codes as examples, not a
 * closed enum. A later version adds codes; a client generated from a closed enum (Python's, say)
 * would refuse to parse an answer carrying one (a ValueError instead of the error it reports).
 */
function openErrorCode(schema: Record<string, unknown>): Record<string, unknown> {
  const props = schema.properties as Record<string, Record<string, unknown>>;
  const codes = props.code!.enum as string[];
  return { ...schema, properties: { ...props, code: { type: 'string', pattern: '^CHAT_ERR_[A-Z0-9_]+$', description: `Stable; the README lists each with what to do. New versions may add codes: treat one you do not know by the answer's HTTP status. Today: ${codes.join(', ')}.`, examples: codes } } };
}

/**
 * Later versions may add fields to answers: the documents say what is there, not that nothing else
 * may be (`additionalProperties: false` would make strict clients break on an upgrade). The tests
 * put the strictness back to hold chatd to the documents.
 */
function openObjects<T>(node: T): T {
  if (Array.isArray(node)) return node.map(openObjects) as T;
  if (!node || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) if (!(k === 'additionalProperties' && v === false)) out[k] = openObjects(v);
  return evenTuple(out) as T;
}

/**
 * A tuple whose items are all alike ([start, end)) as an array of that item with a fixed length:
 * the same values, in a form client generators read (openapi-python-client refuses `items: false`,
 * which JSON Schema 2020-12 writes after `prefixItems`).
 */
function evenTuple(node: Record<string, unknown>): Record<string, unknown> {
  const prefix = node.prefixItems as unknown[] | undefined;
  if (!prefix || node.items !== false || prefix.some((p) => JSON.stringify(p) !== JSON.stringify(prefix[0]))) return node;
  const { prefixItems: _p, items: _i, ...rest } = node;
  return { ...rest, items: prefix[0], minItems: prefix.length, maxItems: prefix.length };
}

export const searchHitSchema = named('SearchHit', z.object({
  message: messageResponseSchema,
  with: z.string().describe('The conversation as in a send: the other user of a direct conversation, or the #group'),
  snippet: z.string().describe('The part of the text around what matched, on one line'),
  matches: z.array(z.tuple([count, count])).describe('The matched words in snippet, as [start, end) offsets in UTF-16 code units'),
}), 'One message that matched a search, as it now is.');
export const searchResultSchema = named('SearchResult', z.object({
  hits: z.array(searchHitSchema),
  next: z.string().nullable().describe('Pass as cursor for the next page; null on the last one'),
}), 'A page of search hits, best first (or newest first with sort=recent).');

export const fileInfoResponseSchema = named('FileInfo', fileInfoSchema, 'A file: an upload in progress (received < size) or complete, sent with a message or not yet.');
export const sharedFileResponseSchema = named('SharedFile', sharedFileSchema, 'A file sent in a conversation, with who sent it and the seq of its message.');
