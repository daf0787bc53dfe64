/**
 * The protocol written down for third-party clients, generated from the same zod schemas the
 * daemon parses requests with: an OpenAPI 3.1 document for the REST API and a JSON Schema for
 * every socket event. chatd serves both (ROUTES.openapi, ROUTES.eventsSchema); a test holds the
 * operation list to the routes chatd actually registers.
 */
import { z } from 'zod';
import { ERROR_CODES } from './errors.js';
import {
  adminIdsSchema, changePasswordSchema, groupAddSchema, groupCreateSchema, groupRoleSchema, groupUpdateSchema, historyQuerySchema,
  loginSchema, logoutSchema, makeSendSchema, messageSchema, receiptSchema, refreshSchema, registerSchema, resetPasswordSchema, syncSchema,
  tokenCreateSchema, typingSchema,
} from './schemas.js';

type Auth = 'none' | 'user' | 'admin';
interface Operation {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** OpenAPI form: /v1/friends/{username}. */
  path: string;
  summary: string;
  auth: Auth;
  body?: z.ZodType;
  query?: z.ZodType;
  /** Success status and what it returns (the TypeScript type in src/protocol/types.ts). */
  ok: [status: number, returns: string];
}

/** Stands for the send schema, built with the server's own text limit. */
const SEND = makeSendSchema();

const op = (method: Operation['method'], path: string, auth: Auth, summary: string, ok: Operation['ok'], extra: Pick<Operation, 'body' | 'query'> = {}): Operation => ({ method, path, auth, summary, ok, ...extra });

/** Every REST operation chatd serves (health and metrics included). */
export const OPERATIONS: readonly Operation[] = [
  op('get', '/healthz', 'none', 'Liveness: the process answers', [200, '{ status: "ok" }']),
  op('get', '/readyz', 'none', 'Readiness: every engine answers and the node is not draining (503 otherwise)', [200, 'engine health']),
  op('get', '/metrics', 'none', 'Prometheus metrics (text exposition format)', [200, 'text/plain']),
  op('get', '/v1/openapi.json', 'none', 'This document', [200, 'OpenAPI 3.1']),
  op('get', '/v1/events.schema.json', 'none', 'JSON Schema of every socket event', [200, 'JSON Schema 2020-12']),
  op('post', '/v1/auth/register', 'none', 'Create an account; returns tokens', [201, 'AuthResult'], { body: registerSchema }),
  op('post', '/v1/auth/login', 'none', 'Log in; returns a 15-minute access token and a rotating refresh token', [200, 'AuthResult'], { body: loginSchema }),
  op('post', '/v1/auth/refresh', 'none', 'Rotate a refresh token (reuse revokes the session)', [200, 'AuthResult'], { body: refreshSchema }),
  op('post', '/v1/auth/logout', 'user', 'End this session', [204, 'nothing'], { body: logoutSchema }),
  op('get', '/v1/me', 'user', 'The signed-in user', [200, 'PublicUser']),
  op('post', '/v1/me/password', 'user', 'Change the password (ends other sessions and API tokens unless keepTokens)', [200, 'PasswordChanged'], { body: changePasswordSchema }),
  op('get', '/v1/friends', 'user', 'Friends, with presence', [200, 'FriendView[]']),
  op('get', '/v1/friends/requests', 'user', 'Pending friend requests, both ways', [200, 'FriendRequests']),
  op('post', '/v1/friends/{username}', 'user', 'Send a friend request', [200, 'FriendView']),
  op('post', '/v1/friends/{username}/accept', 'user', 'Accept a friend request', [200, 'FriendView']),
  op('delete', '/v1/friends/{username}', 'user', 'Remove a friend, or decline or cancel a request', [204, 'nothing']),
  op('get', '/v1/conversations', 'user', 'Conversations (direct and group) with the last message and unread counts', [200, 'ConversationView[]']),
  op('post', '/v1/messages', 'user', 'Send a message; answered once it is durable', [201, 'Message'], { body: SEND }),
  op('get', '/v1/messages/{username}', 'user', 'History with a friend, or a #group (URL-encoded)', [200, 'Message[]'], { query: historyQuerySchema }),
  op('get', '/v1/groups', 'user', 'My groups', [200, 'GroupView[]']),
  op('post', '/v1/groups', 'user', 'Create a group with friends', [201, 'GroupView'], { body: groupCreateSchema }),
  op('get', '/v1/groups/{group}', 'user', 'A group I am in (by handle, without #)', [200, 'GroupView']),
  op('patch', '/v1/groups/{group}', 'user', 'Rename, move the handle or set the topic (owners, admins)', [200, 'GroupView'], { body: groupUpdateSchema }),
  op('delete', '/v1/groups/{group}', 'user', 'Delete the group (owners)', [204, 'nothing']),
  op('get', '/v1/groups/{group}/members', 'user', 'Members, roles and presence', [200, 'GroupMemberView[]']),
  op('post', '/v1/groups/{group}/members', 'user', 'Add friends (owners, admins)', [200, 'GroupView'], { body: groupAddSchema }),
  op('delete', '/v1/groups/{group}/members/{username}', 'user', 'Remove a member (owners, admins)', [204, 'nothing']),
  op('put', '/v1/groups/{group}/members/{username}/role', 'user', 'Set a member\'s role (owners; admins for members)', [204, 'nothing'], { body: groupRoleSchema }),
  op('post', '/v1/groups/{group}/leave', 'user', 'Leave the group', [204, 'nothing']),
  op('get', '/v1/groups/{group}/receipts', 'user', 'How far each member has read', [200, 'Receipt[]']),
  op('post', '/v1/tokens', 'user', 'Create an API token for scripts and bots (shown once)', [201, 'ApiTokenCreated'], { body: tokenCreateSchema }),
  op('get', '/v1/tokens', 'user', 'My API tokens (never the secret)', [200, 'ApiTokenView[]']),
  op('delete', '/v1/tokens/{id}', 'user', 'Revoke an API token', [204, 'nothing']),
  op('get', '/v1/admin/users', 'admin', 'Every account', [200, 'AdminUserView[]']),
  op('post', '/v1/admin/users/{username}/{action}', 'admin', 'disable, enable, promote, demote, or password (body: { password })', [200, 'AdminUserView'], { body: resetPasswordSchema }),
  op('get', '/v1/admin/status', 'admin', 'Engines, pipeline backlog, failed publishes and dead letters', [200, 'AdminStatus']),
  op('get', '/v1/admin/failed', 'admin', 'Publishes that failed and wait for Kafka', [200, 'FailedPublish[]']),
  op('post', '/v1/admin/failed/replay', 'admin', 'Replay failed publishes now', [200, 'ReplayResult'], { body: adminIdsSchema }),
  op('post', '/v1/admin/failed/purge', 'admin', 'Drop failed publishes', [200, 'PurgeResult'], { body: adminIdsSchema }),
  op('get', '/v1/admin/dlq', 'admin', 'Dead letters (records the persister could not store)', [200, 'DeadLetter[]']),
  op('post', '/v1/admin/dlq/replay', 'admin', 'Replay dead letters', [200, 'ReplayResult'], { body: adminIdsSchema }),
];

/** A zod schema as JSON Schema (the input side: what a client sends). */
export function jsonSchemaOf(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }) as Record<string, unknown>;
  return rest;
}

const errorBody = {
  type: 'object',
  required: ['code', 'message'],
  properties: {
    code: { type: 'string', enum: Object.keys(ERROR_CODES) },
    message: { type: 'string' },
    details: { description: 'For CHAT_ERR_VALIDATION: the field and what is wrong with it' },
    retryAfterMs: { type: 'number', description: 'For CHAT_ERR_RATE_LIMITED: milliseconds to wait' },
  },
};

/** The server's settings the schemas depend on. */
export interface SchemaSettings { maxMessageLength?: number }

export function openApiDocument(version: string, settings: SchemaSettings = {}): Record<string, unknown> {
  const send = makeSendSchema(settings.maxMessageLength);
  const paths: Record<string, Record<string, unknown>> = {};
  for (const o of OPERATIONS) {
    const params = [...o.path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
    if (o.query) {
      const q = jsonSchemaOf(o.query) as { properties?: Record<string, unknown> };
      for (const [name, schema] of Object.entries(q.properties ?? {})) params.push({ name, in: 'query', required: false, schema } as never);
    }
    const [status, returns] = o.ok;
    paths[o.path] ??= {};
    paths[o.path]![o.method] = {
      operationId: `${o.method}${o.path.replace(/[{}]/g, '').replace(/[^a-zA-Z0-9]+(.)?/g, (_, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
      summary: o.summary,
      ...(o.auth === 'none' ? { security: [] } : {}),
      ...(o.auth === 'admin' ? { description: 'Administrators only (CHAT_ERR_ADMIN_REQUIRED otherwise).' } : {}),
      ...(params.length ? { parameters: params } : {}),
      ...(o.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchemaOf(o.body === SEND ? send : o.body) } } } } : {}),
      responses: {
        [status]: {
          description: returns,
          ...(returns === 'Message' ? { content: { 'application/json': { schema: { $ref: '#/components/schemas/Message' } } } } : {}),
          ...(returns === 'Message[]' ? { content: { 'application/json': { schema: { type: 'array', items: { $ref: '#/components/schemas/Message' } } } } } : {}),
        },
        default: { description: 'An error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'chatd REST API',
      version,
      description: 'Every body is JSON. Authenticate with `Authorization: Bearer <token>`: a 15-minute access token from /v1/auth/login, or an API token (chat_…) from /v1/tokens for scripts and bots. Tokens are refused in URLs. Real-time events go over Socket.IO (WebSocket transport, token in auth.token): see /v1/events.schema.json.',
      license: { name: 'MIT', identifier: 'MIT' },
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'An access token (JWT) or an API token (chat_…)' } },
      schemas: { Error: errorBody, Message: jsonSchemaOf(messageSchema) },
    },
    security: [{ bearer: [] }],
    paths,
  };
}

/** Socket.IO events: what a client emits (with its ack), and what the server pushes. */
export function eventsJsonSchema(version: string, settings: SchemaSettings = {}): Record<string, unknown> {
  const ack = (ok: unknown) => ({ oneOf: [{ type: 'object', required: ['ok', 'data'], properties: { ok: { const: true }, data: ok } }, { type: 'object', required: ['ok', 'error'], properties: { ok: { const: false }, error: { $ref: '#/$defs/Error' } } }] });
  const typed = (name: string) => ({ description: `${name} (src/protocol/types.ts)`, type: 'object' });
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'chatd-events.schema.json',
    title: `chatd socket events ${version}`,
    description: 'Connect with socket.io-client, transports ["websocket"], auth: { token } (an access or API token). Each client event is emitted with a payload and an acknowledgement callback that receives { ok: true, data } or { ok: false, error }.',
    $defs: { Error: errorBody, Message: jsonSchemaOf(messageSchema) },
    clientToServer: {
      'message:send': { payload: jsonSchemaOf(makeSendSchema(settings.maxMessageLength)), ack: ack({ $ref: '#/$defs/Message' }) },
      'message:sync': { payload: jsonSchemaOf(syncSchema), ack: ack(typed('SyncResult')) },
      'typing:update': { payload: jsonSchemaOf(typingSchema), ack: ack({ type: 'null' }) },
      'receipt:update': { payload: jsonSchemaOf(receiptSchema), ack: ack(typed('ReceiptEvent')) },
    },
    serverToClient: {
      'message:new': { payload: { $ref: '#/$defs/Message' } },
      'presence:update': { payload: typed('PresenceEvent') },
      'typing:update': { payload: typed('TypingEvent') },
      'receipt:update': { payload: typed('ReceiptEvent') },
      'ai:chunk': { payload: typed('AiChunkEvent') },
      'friend:update': { payload: typed('FriendEvent') },
      'group:update': { payload: typed('GroupEvent') },
      'session:end': { payload: { $ref: '#/$defs/Error' } },
    },
  };
}
