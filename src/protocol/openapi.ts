/**
 * The protocol written down for third-party clients, generated from the same zod schemas the
 * daemon parses requests with: an OpenAPI 3.1 document for the REST API and a JSON Schema for
 * every socket event. chatd serves both (ROUTES.openapi, ROUTES.eventsSchema); a test holds the
 * operation list to the routes chatd actually registers.
 */
import { z } from 'zod';
import * as R from './responses.js';
import {
  adminIdsSchema, changePasswordSchema, changesQuerySchema, deleteSchema, searchQuerySchema, makeEditBodySchema, makeEditSchema, reactBodySchema, reactSchema, groupAddSchema, groupCreateSchema, groupRoleSchema, groupUpdateSchema, historyQuerySchema,
  loginSchema, logoutSchema, makeSendSchema, receiptSchema, refreshSchema, registerSchema, resetPasswordSchema, syncSchema,
  tokenCreateSchema, typingSchema,
} from './schemas.js';
import { UPLOAD_CONTENT_TYPE, filesQuerySchema, uploadCreateSchema } from './files.js';

type Auth = 'none' | 'user' | 'admin';
interface Operation {
  /** The operationId: a name a generated client can call (`sendMessage`), stable across versions. */
  id: string;
  method: 'get' | 'head' | 'post' | 'put' | 'patch' | 'delete';
  /** OpenAPI form: /v1/friends/{username}. */
  path: string;
  summary: string;
  auth: Auth;
  body?: z.ZodType;
  /** A body that is not JSON: its media type (an upload's bytes). */
  rawBody?: string;
  /** Request headers the operation reads, each with its description. */
  headers?: Record<string, string>;
  query?: z.ZodType;
  /**
   * Success status and what it returns: a response schema (responses.ts) or an array of one, for
   * JSON answers; the media type of a document or text; nothing for 204.
   */
  ok: [status: number, returns?: z.ZodType | string];
  /** Another documented non-error status, its answer and when it happens (503 from /readyz). */
  also?: [status: number, returns: z.ZodType | string, when: string];
}

/** Stands for the send schema, built with the server's own text limit. */
const SEND = makeSendSchema();
const EDIT = makeEditBodySchema();

const op = (id: string, method: Operation['method'], path: string, auth: Auth, summary: string, ok: Operation['ok'], extra: Pick<Operation, 'body' | 'rawBody' | 'headers' | 'query' | 'also'> = {}): Operation => ({ id, method, path, auth, summary, ok, ...extra });

/** Each operation's tag (a generated client's module): by its path's first part after /v1. */
export const TAGS: readonly { name: string; description: string; paths: RegExp }[] = [
  { name: 'health', description: 'Liveness, readiness, metrics and these documents', paths: /^\/(healthz|readyz|metrics|v1\/openapi\.json|v1\/events\.schema\.json)$/ },
  { name: 'auth', description: 'Accounts and sessions: register, log in, refresh, log out', paths: /^\/v1\/auth\// },
  { name: 'me', description: 'The signed-in user', paths: /^\/v1\/me(\/|$)/ },
  { name: 'friends', description: 'Friends and friend requests', paths: /^\/v1\/friends(\/|$)/ },
  { name: 'messages', description: 'Conversations, sending, history, and messages that change (edit, delete, react)', paths: /^\/v1\/(messages|conversations)(\/|$)/ },
  { name: 'files', description: 'Uploads (resumable) and downloads (ranges)', paths: /^\/v1\/files(\/|$)/ },
  { name: 'search', description: 'Search every message the caller may read', paths: /^\/v1\/search$/ },
  { name: 'groups', description: 'Groups, members and roles', paths: /^\/v1\/groups(\/|$)/ },
  { name: 'tokens', description: 'API tokens for scripts and bots', paths: /^\/v1\/tokens(\/|$)/ },
  { name: 'admin', description: 'Administrators only: accounts, pipeline, failed publishes, dead letters, reindex', paths: /^\/v1\/admin\// },
];
const tagOf = (path: string) => {
  const t = TAGS.find((x) => x.paths.test(path));
  if (!t) throw new Error(`no tag for ${path}`);
  return t.name;
};

/** The admin user actions (`POST /v1/admin/users/{username}/{action}`). */
export const ADMIN_USER_ACTIONS = ['disable', 'enable', 'promote', 'demote', 'password'] as const;

/**
 * The error statuses an operation can answer, each with the same body (ErrorResponse): 400 for a
 * malformed request, 401 without a valid credential, 403 when it is not allowed, 404 for what its
 * path names, 409 for a conflict with the current state, 413 for a body over its limit, 429 over
 * a rate limit; anything else (500, 503, 507) is `default`.
 */
function errorStatuses(o: Operation): number[] {
  const out = new Set<number>();
  const takesInput = o.body !== undefined || o.query !== undefined || o.rawBody !== undefined || o.path.includes('{') || o.headers !== undefined;
  if (takesInput || o.auth !== 'none') out.add(400);
  if (o.auth !== 'none' || o.path === '/v1/auth/login' || o.path === '/v1/auth/refresh') out.add(401);
  if (o.auth !== 'none') out.add(403);
  if (o.path.includes('{')) out.add(404);
  // 409 also where an engine the deployment lacks answers CHAT_ERR_NOT_CONFIGURED (admin, search), and a download of an incomplete upload.
  if (o.method !== 'get' && o.method !== 'head' && o.auth !== 'none' || o.path === '/v1/auth/register' || o.auth === 'admin' || o.path === '/v1/search' || o.path === '/v1/files/{id}/content') out.add(409);
  if (o.path === '/v1/files/{id}/content' && o.method === 'patch') out.add(408);
  if (o.path === '/v1/files/{id}/content' && o.method === 'get') out.add(416);
  if (o.body !== undefined || o.rawBody !== undefined) out.add(413);
  if (o.auth !== 'none' || o.path.startsWith('/v1/auth/')) out.add(429);
  return [...out].sort((a, b) => a - b);
}
const ERROR_STATUS_TEXT: Record<number, string> = {
  400: 'Malformed, or over a limit (CHAT_ERR_VALIDATION and others)',
  401: 'No valid credential (CHAT_ERR_UNAUTHENTICATED, CHAT_ERR_TOKEN_EXPIRED, ...)',
  403: 'Not allowed (CHAT_ERR_FORBIDDEN, CHAT_ERR_NOT_FRIENDS, CHAT_ERR_ADMIN_REQUIRED, ...)',
  404: 'Not found, or not yours to see: a stranger gets the same answer as for what does not exist',
  409: 'In conflict with the current state (CHAT_ERR_USERNAME_TAKEN, CHAT_ERR_UPLOAD_OFFSET, ...)',
  408: 'An upload that sent too little for too long (CHAT_ERR_UPLOAD_TIMEOUT): resume from its Upload-Offset',
  413: 'The body is over its limit',
  416: 'A range that starts past the end of the file (CHAT_ERR_RANGE_NOT_SATISFIABLE)',
  429: 'Over a rate limit (CHAT_ERR_RATE_LIMITED, with retryAfterMs)',
};

/** Every REST operation chatd serves (health and metrics included). */
export const OPERATIONS: readonly Operation[] = [
  op('liveness', 'get', '/healthz', 'none', 'Liveness: the process answers', [200, R.livenessSchema]),
  op('readiness', 'get', '/readyz', 'none', 'Readiness: every engine answers and the node is not draining (503 otherwise)', [200, R.healthReportSchema], { also: [503, R.healthReportSchema, 'Not ready: an engine is down, or the node is draining'] }),
  op('metrics', 'get', '/metrics', 'none', 'Prometheus metrics (text exposition format)', [200, 'text/plain']),
  op('getOpenApiDocument', 'get', '/v1/openapi.json', 'none', 'This document', [200, 'application/json']),
  op('getEventsSchema', 'get', '/v1/events.schema.json', 'none', 'JSON Schema of every socket event', [200, 'application/schema+json']),
  op('register', 'post', '/v1/auth/register', 'none', 'Create an account; returns tokens', [201, R.authResultSchema], { body: registerSchema }),
  op('login', 'post', '/v1/auth/login', 'none', 'Log in; returns a 15-minute access token and a rotating refresh token', [200, R.authResultSchema], { body: loginSchema }),
  op('refresh', 'post', '/v1/auth/refresh', 'none', 'Rotate a refresh token (reuse revokes the session)', [200, R.authResultSchema], { body: refreshSchema }),
  op('logout', 'post', '/v1/auth/logout', 'user', 'End this session', [204], { body: logoutSchema }),
  op('getMe', 'get', '/v1/me', 'user', 'The signed-in user', [200, R.meViewSchema]),
  op('changePassword', 'post', '/v1/me/password', 'user', 'Change the password (ends other sessions and API tokens unless keepTokens)', [200, R.passwordChangedSchema], { body: changePasswordSchema }),
  op('listFriends', 'get', '/v1/friends', 'user', 'Friends, with presence', [200, z.array(R.friendViewSchema)]),
  op('listFriendRequests', 'get', '/v1/friends/requests', 'user', 'Pending friend requests, both ways', [200, R.friendRequestsSchema]),
  op('addFriend', 'post', '/v1/friends/{username}', 'user', 'Send a friend request', [200, R.friendAddResultSchema]),
  op('acceptFriend', 'post', '/v1/friends/{username}/accept', 'user', 'Accept a friend request', [200, R.friendAddResultSchema]),
  op('removeFriend', 'delete', '/v1/friends/{username}', 'user', 'Remove a friend, or decline or cancel a request', [204]),
  op('listConversations', 'get', '/v1/conversations', 'user', 'Conversations (direct and group) with the last message and unread counts', [200, z.array(R.conversationViewSchema)]),
  op('sendMessage', 'post', '/v1/messages', 'user', 'Send a message; answered once it is durable', [201, R.messageResponseSchema], { body: SEND }),
  op('getHistory', 'get', '/v1/messages/{username}', 'user', 'History with a friend, or a #group (URL-encoded): messages as they now are; with afterSeq, every record after it (changes too), for catch-up', [200, z.array(R.messageResponseSchema)], { query: historyQuerySchema }),
  op('listChanges', 'get', '/v1/messages/{username}/changes', 'user', 'Messages of the conversation changed after sinceSeq, as they now are (the catch-up safety net)', [200, z.array(R.messageResponseSchema)], { query: changesQuerySchema }),
  op('editMessage', 'patch', '/v1/messages/{username}/{seq}', 'user', 'Edit my message (within the edit window); answers with the edit record', [200, R.messageResponseSchema], { body: EDIT }),
  op('deleteMessage', 'delete', '/v1/messages/{username}/{seq}', 'user', 'Delete a message (mine; in a group, owners and admins delete any); answers with the delete record', [200, R.messageResponseSchema]),
  op('reactToMessage', 'post', '/v1/messages/{username}/{seq}/reactions', 'user', 'React with one emoji: toggles mine by default (op: add, remove, toggle); answers with the reaction record', [200, R.messageResponseSchema], { body: reactBodySchema }),
  op('getMessageEdits', 'get', '/v1/messages/{username}/{seq}/edits', 'user', 'A message\'s edit history', [200, R.messageEditsSchema]),
  op('listSharedFiles', 'get', '/v1/messages/{username}/files', 'user', 'Files sent in the conversation, newest first (a former group member: up to their removal)', [200, z.array(R.sharedFileResponseSchema)], { query: filesQuerySchema }),
  op('beginUpload', 'post', '/v1/files', 'user', 'Begin an upload of `size` bytes: refused at once past CHAT_MAX_FILE_SIZE, the quota or the uploads in flight. Then send the bytes with PATCH /v1/files/{id}/content, and the id with a message', [201, R.fileInfoResponseSchema], { body: uploadCreateSchema }),
  op('getFile', 'get', '/v1/files/{id}', 'user', 'A file: mine (sent or not), or one sent where I read', [200, R.fileInfoResponseSchema]),
  op('cancelUpload', 'delete', '/v1/files/{id}', 'user', 'Cancel an upload not sent yet (a sent file goes with its message)', [204]),
  op('getUploadOffset', 'head', '/v1/files/{id}/content', 'user', 'Where an upload stands: Upload-Offset (bytes held) and Upload-Length, to resume from', [200]),
  op('uploadContent', 'patch', '/v1/files/{id}/content', 'user', 'Send an upload\'s bytes from Upload-Offset (in one request or several; a cut request keeps what arrived). 409 CHAT_ERR_UPLOAD_OFFSET answers the right offset in Upload-Offset; 408 CHAT_ERR_UPLOAD_TIMEOUT when it drips slower than CHAT_UPLOAD_MIN_RATE', [200, R.fileInfoResponseSchema], { rawBody: UPLOAD_CONTENT_TYPE, headers: { 'Upload-Offset': 'The bytes the server holds of this upload (from HEAD, or the last answer)' } }),
  op('downloadFile', 'get', '/v1/files/{id}/content', 'user', 'Download a complete file, as an attachment; a Range header gets part of it (206), so a download resumes', [200, 'application/octet-stream'], { headers: { Range: 'bytes=<start>-[<end>]: one range' }, also: [206, 'application/octet-stream', 'The range asked for, with Content-Range'] }),
  op('search', 'get', '/v1/search', 'user', 'Search every message I may read: words, "phrases", -excluded, from:, in:, has:file, is:mention, before:/after: (README, search)', [200, R.searchResultSchema], { query: searchQuerySchema }),
  op('listGroups', 'get', '/v1/groups', 'user', 'My groups', [200, z.array(R.groupViewSchema)]),
  op('createGroup', 'post', '/v1/groups', 'user', 'Create a group with friends', [201, R.groupViewSchema], { body: groupCreateSchema }),
  op('getGroup', 'get', '/v1/groups/{group}', 'user', 'A group I am in (by handle, without #)', [200, R.groupViewSchema]),
  op('updateGroup', 'patch', '/v1/groups/{group}', 'user', 'Rename, move the handle or set the topic (owners, admins)', [200, R.groupViewSchema], { body: groupUpdateSchema }),
  op('deleteGroup', 'delete', '/v1/groups/{group}', 'user', 'Delete the group (owners)', [204]),
  op('listGroupMembers', 'get', '/v1/groups/{group}/members', 'user', 'Members, roles and presence', [200, z.array(R.groupMemberViewSchema)]),
  op('addGroupMembers', 'post', '/v1/groups/{group}/members', 'user', 'Add friends (owners, admins)', [200, R.groupViewSchema], { body: groupAddSchema }),
  op('removeGroupMember', 'delete', '/v1/groups/{group}/members/{username}', 'user', 'Remove a member (owners, admins)', [204]),
  op('setGroupMemberRole', 'put', '/v1/groups/{group}/members/{username}/role', 'user', 'Set a member\'s role (owners; admins for members)', [204], { body: groupRoleSchema }),
  op('leaveGroup', 'post', '/v1/groups/{group}/leave', 'user', 'Leave the group', [204]),
  op('getGroupReceipts', 'get', '/v1/groups/{group}/receipts', 'user', 'How far each member has read', [200, R.receiptsSchema]),
  op('createToken', 'post', '/v1/tokens', 'user', 'Create an API token for scripts and bots (shown once)', [201, R.apiTokenCreatedSchema], { body: tokenCreateSchema }),
  op('listTokens', 'get', '/v1/tokens', 'user', 'My API tokens (never the secret)', [200, z.array(R.apiTokenViewSchema)]),
  op('revokeToken', 'delete', '/v1/tokens/{id}', 'user', 'Revoke an API token', [204]),
  op('adminListUsers', 'get', '/v1/admin/users', 'admin', 'Every account', [200, z.array(R.adminUserViewSchema)]),
  op('adminUserAction', 'post', '/v1/admin/users/{username}/{action}', 'admin', 'disable, enable, promote, demote, or password (body: { password })', [200, R.adminUserViewSchema], { body: resetPasswordSchema }),
  op('adminStatus', 'get', '/v1/admin/status', 'admin', 'Engines, pipeline backlog, failed publishes and dead letters', [200, R.adminStatusSchema]),
  op('adminListFailed', 'get', '/v1/admin/failed', 'admin', 'Publishes that failed and wait for Kafka', [200, z.array(R.failedPublishSchema)]),
  op('adminReplayFailed', 'post', '/v1/admin/failed/replay', 'admin', 'Replay failed publishes now', [200, R.replayResultSchema], { body: adminIdsSchema }),
  op('adminPurgeFailed', 'post', '/v1/admin/failed/purge', 'admin', 'Drop failed publishes', [200, R.purgeResultSchema], { body: adminIdsSchema }),
  op('adminListDeadLetters', 'get', '/v1/admin/dlq', 'admin', 'Dead letters (records the persister could not store)', [200, z.array(R.deadLetterSchema)]),
  op('adminReplayDeadLetters', 'post', '/v1/admin/dlq/replay', 'admin', 'Replay dead letters', [200, R.replayResultSchema], { body: adminIdsSchema }),
  op('adminReindexSearch', 'post', '/v1/admin/search/reindex', 'admin', 'Rebuild the scale-out search index (OpenSearch) from the stored messages', [200, R.reindexResultSchema]),
];

/** A zod schema as JSON Schema (the input side: what a client sends). */
export function jsonSchemaOf(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }) as Record<string, unknown>;
  return rest;
}


/**
 * A $ref to a response schema registered in responses.ts, or an array of one. Anything else is a
 * programming error: every answer in the documents has a name.
 */
export function responseRef(schema: z.ZodType, prefix: string): Record<string, unknown> {
  const name = R.responseName(schema);
  if (name) return { $ref: `${prefix}${name}` };
  if (schema instanceof z.ZodArray) return { type: 'array', items: responseRef(schema.element as z.ZodType, prefix) };
  throw new Error('a response schema must be registered in responses.ts (or be an array of one)');
}

function response(returns: z.ZodType | string | undefined, description?: string): Record<string, unknown> {
  if (returns === undefined) return { description: description ?? 'No content' };
  if (typeof returns === 'string') return { description: description ?? returns, content: { [returns]: { schema: returns === 'application/octet-stream' ? { type: 'string', format: 'binary' } : { type: returns.startsWith('text/') ? 'string' : 'object' } } } };
  const name = R.responseName(returns) ?? `${R.responseName((returns as z.ZodArray).element as z.ZodType)}[]`;
  return { description: description ?? name, content: { 'application/json': { schema: responseRef(returns, '#/components/schemas/') } } };
}

/** The server's settings the schemas depend on. */
export interface SchemaSettings { maxMessageLength?: number }

export function openApiDocument(version: string, settings: SchemaSettings = {}): Record<string, unknown> {
  const send = makeSendSchema(settings.maxMessageLength);
  const paths: Record<string, Record<string, unknown>> = {};
  for (const o of OPERATIONS) {
    const params = [...o.path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: m[1] === 'action' ? { type: 'string', enum: [...ADMIN_USER_ACTIONS] } : m[1] === 'seq' ? { type: 'integer', minimum: 1 } : { type: 'string' } }));
    for (const [name, description] of Object.entries(o.headers ?? {})) params.push({ name, in: 'header', required: name === 'Upload-Offset', schema: { type: 'string' }, description } as never);
    if (o.query) {
      const q = jsonSchemaOf(o.query) as { properties?: Record<string, unknown>; required?: string[] };
      for (const [name, schema] of Object.entries(q.properties ?? {})) params.push({ name, in: 'query', required: q.required?.includes(name) ?? false, schema } as never);
    }
    const [status, returns] = o.ok;
    paths[o.path] ??= {};
    paths[o.path]![o.method] = {
      operationId: o.id,
      tags: [tagOf(o.path)],
      summary: o.summary,
      ...(o.auth === 'none' ? { security: [] } : {}),
      ...(o.auth === 'admin' ? { description: 'Administrators only (CHAT_ERR_ADMIN_REQUIRED otherwise).' } : {}),
      ...(params.length ? { parameters: params } : {}),
      ...(o.rawBody ? { requestBody: { required: true, content: { [o.rawBody]: { schema: { type: 'string', format: 'binary' } } } } } : {}),
      ...(o.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchemaOf(o.body === SEND ? send : o.body === EDIT ? makeEditBodySchema(settings.maxMessageLength) : o.body) } } } } : {}),
      responses: {
        [status]: response(returns),
        ...(o.also ? { [o.also[0]]: response(o.also[1], o.also[2]) } : {}),
        ...Object.fromEntries(errorStatuses(o).map((s) => [s, { $ref: `#/components/responses/Error${s}` }])),
        default: { $ref: '#/components/responses/Error' },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'chatd REST API',
      version,
      description: 'Every body is JSON. Answers may gain fields in later versions: ignore the ones you do not know. Authenticate with `Authorization: Bearer <token>`: a 15-minute access token from /v1/auth/login, or an API token (chat_…) from /v1/tokens for scripts and bots. Tokens are refused in URLs. Real-time events go over Socket.IO (WebSocket transport, token in auth.token): see /v1/events.schema.json.',
      license: { name: 'MIT', identifier: 'MIT' },
    },
    tags: TAGS.map(({ name, description }) => ({ name, description })),
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'An access token (JWT) or an API token (chat_…)' } },
      schemas: R.responseJsonSchemas('#/components/schemas/'),
      responses: {
        Error: response(R.errorResponseSchema, 'An error (500, 503, 507, ...): the code says which (README, error codes)'),
        ...Object.fromEntries(Object.entries(ERROR_STATUS_TEXT).map(([s, text]) => [`Error${s}`, response(R.errorResponseSchema, text)])),
      },
    },
    security: [{ bearer: [] }],
    paths,
  };
}

/** Socket.IO events: what a client emits (with its ack), and what the server pushes. */
export function eventsJsonSchema(version: string, settings: SchemaSettings = {}): Record<string, unknown> {
  const ack = (ok: unknown) => ({ oneOf: [{ type: 'object', required: ['ok', 'data'], properties: { ok: { const: true }, data: ok } }, { type: 'object', required: ['ok', 'error'], properties: { ok: { const: false }, error: { $ref: '#/$defs/Error' } } }] });
  const ref = (schema: z.ZodType) => responseRef(schema, '#/$defs/');
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'chatd-events.schema.json',
    title: `chatd socket events ${version}`,
    description: 'Connect with socket.io-client, transports ["websocket"], auth: { token } (an access or API token). Each client event is emitted with a payload and an acknowledgement callback that receives { ok: true, data } or { ok: false, error }. Payloads may gain fields in later versions: ignore the ones you do not know.',
    $defs: R.responseJsonSchemas('#/$defs/'),
    clientToServer: {
      'message:send': { payload: jsonSchemaOf(makeSendSchema(settings.maxMessageLength)), ack: ack(ref(R.messageResponseSchema)) },
      'message:sync': { payload: jsonSchemaOf(syncSchema), ack: ack(ref(R.syncResultSchema)) },
      'message:edit': { payload: jsonSchemaOf(makeEditSchema(settings.maxMessageLength)), ack: ack(ref(R.messageResponseSchema)) },
      'message:delete': { payload: jsonSchemaOf(deleteSchema), ack: ack(ref(R.messageResponseSchema)) },
      'message:react': { payload: jsonSchemaOf(reactSchema), ack: ack(ref(R.messageResponseSchema)) },
      'typing:update': { payload: jsonSchemaOf(typingSchema), ack: ack({ type: 'null' }) },
      'receipt:update': { payload: jsonSchemaOf(receiptSchema), ack: ack(ref(R.receiptEventSchema)) },
    },
    serverToClient: {
      'message:new': { payload: ref(R.messageResponseSchema) },
      'message:change': { payload: ref(R.messageResponseSchema) },
      'presence:update': { payload: ref(R.presenceEventSchema) },
      'typing:update': { payload: ref(R.typingEventSchema) },
      'receipt:update': { payload: ref(R.receiptEventSchema) },
      'ai:chunk': { payload: ref(R.aiChunkEventSchema) },
      'friend:update': { payload: ref(R.friendEventSchema) },
      'group:update': { payload: ref(R.groupEventSchema) },
      'session:end': { payload: ref(R.errorBodySchema) },
    },
  };
}
