/** A group's handle in a path: without its `#`, encoded. */
const groupPath = (g: string) => encodeURIComponent(g.replace(/^#/, ''));

/** REST routes, all JSON. Bodies are parsed with the schemas in ./schemas.ts. */
export const ROUTES = {
  register: '/v1/auth/register',
  login: '/v1/auth/login',
  refresh: '/v1/auth/refresh',
  logout: '/v1/auth/logout',
  me: '/v1/me',
  password: '/v1/me/password',
  friends: '/v1/friends',
  friendRequests: '/v1/friends/requests',
  friend: (u: string) => `/v1/friends/${encodeURIComponent(u)}`,
  friendAccept: (u: string) => `/v1/friends/${encodeURIComponent(u)}/accept`,
  conversations: '/v1/conversations',
  messages: '/v1/messages',
  /** A friend's username, or a group's `#handle`. */
  history: (u: string) => `/v1/messages/${encodeURIComponent(u)}`,
  /** One message of that conversation: PATCH edits it, DELETE deletes it. */
  message: (u: string, seq: number) => `/v1/messages/${encodeURIComponent(u)}/${seq}`,
  messageReactions: (u: string, seq: number) => `/v1/messages/${encodeURIComponent(u)}/${seq}/reactions`,
  messageEdits: (u: string, seq: number) => `/v1/messages/${encodeURIComponent(u)}/${seq}/edits`,
  /** Messages of the conversation changed after a seq (?sinceSeq=). */
  messageChanges: (u: string) => `/v1/messages/${encodeURIComponent(u)}/changes`,
  /** Server search (?q= in the query language of search.ts). */
  search: '/v1/search',
  /** Files: POST starts an upload (protocol/files.ts). */
  files: '/v1/files',
  /** A file's details (GET), or DELETE of an unsent upload. */
  file: (id: string) => `/v1/files/${encodeURIComponent(id)}`,
  /** A file's bytes: PATCH appends at Upload-Offset, HEAD tells the offset, GET downloads (Range answered). */
  fileContent: (id: string) => `/v1/files/${encodeURIComponent(id)}/content`,
  /** The files shared in a conversation (friend or #group), newest first. */
  conversationFiles: (u: string) => `/v1/messages/${encodeURIComponent(u)}/files`,
  groups: '/v1/groups',
  /** A group by its handle, with or without `#`. */
  group: (g: string) => `/v1/groups/${groupPath(g)}`,
  groupMembers: (g: string) => `/v1/groups/${groupPath(g)}/members`,
  groupMember: (g: string, u: string) => `/v1/groups/${groupPath(g)}/members/${encodeURIComponent(u)}`,
  groupRole: (g: string, u: string) => `/v1/groups/${groupPath(g)}/members/${encodeURIComponent(u)}/role`,
  groupLeave: (g: string) => `/v1/groups/${groupPath(g)}/leave`,
  groupReceipts: (g: string) => `/v1/groups/${groupPath(g)}/receipts`,
  tokens: '/v1/tokens',
  token: (id: string) => `/v1/tokens/${encodeURIComponent(id)}`,
  adminUsers: '/v1/admin/users',
  adminUser: (u: string, action: 'disable' | 'enable' | 'promote' | 'demote' | 'password') => `/v1/admin/users/${encodeURIComponent(u)}/${action}`,
  adminStatus: '/v1/admin/status',
  adminFailed: '/v1/admin/failed',
  adminFailedReplay: '/v1/admin/failed/replay',
  adminFailedPurge: '/v1/admin/failed/purge',
  adminDlq: '/v1/admin/dlq',
  adminDlqReplay: '/v1/admin/dlq/replay',
  adminSearchReindex: '/v1/admin/search/reindex',
  /** The REST API as OpenAPI 3.1, and every socket event as JSON Schema (src/protocol/openapi.ts). */
  openapi: '/v1/openapi.json',
  eventsSchema: '/v1/events.schema.json',
  healthz: '/healthz',
  readyz: '/readyz',
  metrics: '/metrics',
} as const;

/** Prefix of personal API tokens, so the server can tell them from JWTs. */
export const API_TOKEN_PREFIX = 'chat_';
