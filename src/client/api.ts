import { unreachable } from './unreachable.js';
// Straight from the protocol's zod-free modules, so REST commands start without loading zod.
import { ChatError, fromErrorBody } from '../protocol/errors.js';
import { ROUTES } from '../protocol/rest.js';
import type {
  AdminStatus, AdminUserView, ApiTokenCreated, DeadLetter, FailedPublish, ReplayResult, ApiTokenView, AuthResult, ConversationView, FriendAddResult,
  FileInfo, FriendRequests, FriendView, GroupMemberView, GroupRole, GroupView, HistoryQuery, Message, MessageEdits, MeView, PasswordChanged, PublicUser, Receipt, SearchResult, SendInput, SendRequest, SharedFile,
} from '../protocol/index.js';

/** Supplies bearer tokens to the client and refreshes them when the server says they expired. */
export interface Credentials {
  /** A usable token, refreshing first when it is about to expire. Undefined when logged out. */
  token(): Promise<string | undefined>;
  /** Forces a refresh after the server rejected the token as expired. Throws an auth error when impossible. */
  refresh(): Promise<string>;
}

export const anonymous: Credentials = {
  token: async () => undefined,
  refresh: async () => { throw new ChatError('CHAT_ERR_UNAUTHENTICATED'); },
};

/** The one message for every command that needs a login and has none. */
export const NOT_LOGGED_IN = 'Not logged in: run "chat login" or set CHAT_TOKEN';

/** A static token (an API token from CHAT_TOKEN): nothing to refresh. */
export function staticCredentials(token: string): Credentials {
  return { token: async () => token, refresh: async () => { throw new ChatError('CHAT_ERR_TOKEN_INVALID', 'The API token was rejected'); } };
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** Typed REST client for chatd, shared by the CLI and the TUI. */
export class ApiClient {
  constructor(readonly server: string, private readonly creds: Credentials = anonymous) {}

  async request<T>(method: Method, path: string, body?: unknown, opts: { auth?: boolean; query?: Record<string, string | number | undefined>; signal?: AbortSignal } = {}): Promise<T> {
    const auth = opts.auth ?? true;
    let url = new URL(path, this.server).toString();
    if (opts.query) {
      const qs = new URLSearchParams();
      for (const [k, v] of Object.entries(opts.query)) if (v !== undefined) qs.set(k, String(v));
      const s = qs.toString();
      if (s) url += `?${s}`;
    }
    const send = async (token: string | undefined) => {
      const headers: Record<string, string> = { accept: 'application/json' };
      if (body !== undefined) headers['content-type'] = 'application/json';
      if (token) headers.authorization = `Bearer ${token}`;
      try {
        return await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: opts.signal });
      } catch (err) {
        throw unreachable(this.server, (err as Error & { cause?: Error }).cause?.message ?? (err as Error).message);
      }
    };
    let token = auth ? await this.creds.token() : undefined;
    if (auth && !token) throw new ChatError('CHAT_ERR_UNAUTHENTICATED', NOT_LOGGED_IN);
    let res = await send(token);
    if (auth && res.status === 401) {
      const err = await errorOf(res);
      if (err.code !== 'CHAT_ERR_TOKEN_EXPIRED') throw err;
      token = await this.creds.refresh();
      res = await send(token);
    }
    if (!res.ok) throw await errorOf(res);
    if (res.status === 204) return undefined as T;
    return (await res.json()) as T;
  }

  /** A usable bearer token (refreshed first when about to expire), for requests made outside fetch. */
  async bearer(): Promise<string> {
    const token = await this.creds.token();
    if (!token) throw new ChatError('CHAT_ERR_UNAUTHENTICATED', NOT_LOGGED_IN);
    return token;
  }

  /** Refreshes the access token after the server said it expired (throws an auth error when impossible). */
  refreshToken(): Promise<string> {
    return this.creds.refresh();
  }

  /**
   * A request whose answer is returned unread (downloads) or whose body is a stream (uploads):
   * authenticated like `request`, an error answer thrown as its ChatError. A streamed body cannot
   * be sent twice: an expired token is refreshed and the error thrown, for the caller to resume.
   */
  async raw(method: Method | 'HEAD', path: string, init: { headers?: Record<string, string>; body?: AsyncIterable<Uint8Array> | Uint8Array; signal?: AbortSignal } = {}): Promise<Response> {
    const url = new URL(path, this.server).toString();
    const send = async (token: string | undefined) => {
      const headers: Record<string, string> = { ...init.headers };
      if (token) headers.authorization = `Bearer ${token}`;
      try {
        return await fetch(url, { method, headers, body: init.body as RequestInit["body"], signal: init.signal, ...(init.body && !(init.body instanceof Uint8Array) ? { duplex: 'half' } : {}) } as RequestInit);
      } catch (err) {
        throw unreachable(this.server, (err as Error & { cause?: Error }).cause?.message ?? (err as Error).message);
      }
    };
    let token = await this.creds.token();
    if (!token) throw new ChatError('CHAT_ERR_UNAUTHENTICATED', NOT_LOGGED_IN);
    let res = await send(token);
    if (res.status === 401) {
      const err = method === 'HEAD' ? new ChatError('CHAT_ERR_TOKEN_EXPIRED') : await errorOf(res);
      if (err.code !== 'CHAT_ERR_TOKEN_EXPIRED') throw err;
      token = await this.creds.refresh();
      if (init.body && !(init.body instanceof Uint8Array)) throw err;
      res = await send(token);
    }
    if (!res.ok) throw method === 'HEAD' ? new ChatError(res.status === 404 ? 'CHAT_ERR_FILE_NOT_FOUND' : 'CHAT_ERR_VALIDATION') : await errorOf(res);
    return res;
  }

  register(username: string, password: string) { return this.request<AuthResult>('POST', ROUTES.register, { username, password }, { auth: false }); }
  login(username: string, password: string) { return this.request<AuthResult>('POST', ROUTES.login, { username, password }, { auth: false }); }
  refresh(refreshToken: string) { return this.request<AuthResult>('POST', ROUTES.refresh, { refreshToken }, { auth: false }); }
  logout(refreshToken: string) { return this.request<void>('POST', ROUTES.logout, { refreshToken }); }
  whoami() { return this.request<MeView>('GET', ROUTES.me); }
  changePassword(currentPassword: string, newPassword: string, keepTokens = false) { return this.request<PasswordChanged>('POST', ROUTES.password, { currentPassword, newPassword, keepTokens }); }
  friends() { return this.request<FriendView[]>('GET', ROUTES.friends); }
  friendRequests() { return this.request<FriendRequests>('GET', ROUTES.friendRequests); }
  addFriend(u: string) { return this.request<FriendAddResult>('POST', ROUTES.friend(u)); }
  acceptFriend(u: string) { return this.request<FriendAddResult>('POST', ROUTES.friendAccept(u)); }
  removeFriend(u: string) { return this.request<void>('DELETE', ROUTES.friend(u)); }
  conversations() { return this.request<ConversationView[]>('GET', ROUTES.conversations); }
  history(u: string, q: HistoryQuery = {}) { return this.request<Message[]>('GET', ROUTES.history(u), undefined, { query: q }); }
  sendRest(input: SendRequest, signal?: AbortSignal) { return this.request<Message>('POST', ROUTES.messages, input, { signal }); }
  /** Changes to a message of the conversation with `u` (a friend, or a #group): each answers with its change record. */
  editMessage(u: string, seq: number, text: string, clientMsgId?: string) { return this.request<Message>('PATCH', ROUTES.message(u, seq), { text, ...(clientMsgId ? { clientMsgId } : {}) }); }
  deleteMessage(u: string, seq: number) { return this.request<Message>('DELETE', ROUTES.message(u, seq)); }
  react(u: string, seq: number, emoji: string, op: 'add' | 'remove' | 'toggle' = 'toggle', clientMsgId?: string) { return this.request<Message>('POST', ROUTES.messageReactions(u, seq), { emoji, op, ...(clientMsgId ? { clientMsgId } : {}) }); }
  messageEdits(u: string, seq: number) { return this.request<MessageEdits>('GET', ROUTES.messageEdits(u, seq)); }
  changedSince(u: string, sinceSeq: number, limit?: number) { return this.request<Message[]>('GET', ROUTES.messageChanges(u), undefined, { query: { sinceSeq, ...(limit ? { limit } : {}) } }); }
  /** Server search: `q` in the query language (src/protocol/search.ts); `next` of the previous page as cursor. */
  search(q: string, opts: { in?: string; limit?: number; sort?: 'relevance' | 'recent'; cursor?: string } = {}) { return this.request<SearchResult>('GET', ROUTES.search, undefined, { query: { q, ...opts } }); }
  /** Files: start an upload (then send its bytes with client/files.ts), see one, cancel one, list a conversation's. */
  beginUpload(name: string, size: number) { return this.request<FileInfo>('POST', ROUTES.files, { name, size }); }
  fileInfo(id: string) { return this.request<FileInfo>('GET', ROUTES.file(id)); }
  cancelUpload(id: string) { return this.request<void>('DELETE', ROUTES.file(id)); }
  sharedFiles(u: string, q: { limit?: number; beforeSeq?: number } = {}) { return this.request<SharedFile[]>('GET', ROUTES.conversationFiles(u), undefined, { query: q }); }
  groups() { return this.request<GroupView[]>('GET', ROUTES.groups); }
  createGroup(handle: string, members: string[] = [], extra: { name?: string; topic?: string } = {}) { return this.request<GroupView>('POST', ROUTES.groups, { handle, members, ...extra }); }
  group(g: string) { return this.request<GroupView>('GET', ROUTES.group(g)); }
  updateGroup(g: string, patch: { handle?: string; name?: string; topic?: string }) { return this.request<GroupView>('PATCH', ROUTES.group(g), patch); }
  deleteGroup(g: string) { return this.request<void>('DELETE', ROUTES.group(g)); }
  groupMembers(g: string) { return this.request<GroupMemberView[]>('GET', ROUTES.groupMembers(g)); }
  addGroupMembers(g: string, usernames: string[]) { return this.request<GroupView>('POST', ROUTES.groupMembers(g), { usernames }); }
  removeGroupMember(g: string, u: string) { return this.request<void>('DELETE', ROUTES.groupMember(g, u)); }
  setGroupRole(g: string, u: string, role: GroupRole) { return this.request<void>('PUT', ROUTES.groupRole(g, u), { role }); }
  leaveGroup(g: string) { return this.request<void>('POST', ROUTES.groupLeave(g), {}); }
  groupReceipts(g: string) { return this.request<Record<string, Receipt>>('GET', ROUTES.groupReceipts(g)); }
  createToken(name: string, password: string) { return this.request<ApiTokenCreated>('POST', ROUTES.tokens, { name, password }); }
  listTokens() { return this.request<ApiTokenView[]>('GET', ROUTES.tokens); }
  revokeToken(id: string) { return this.request<void>('DELETE', ROUTES.token(id)); }
  adminUsers() { return this.request<AdminUserView[]>('GET', ROUTES.adminUsers); }
  adminUser(u: string, action: 'disable' | 'enable' | 'promote' | 'demote') { return this.request<AdminUserView>('POST', ROUTES.adminUser(u, action)); }
  adminResetPassword(u: string, password: string) { return this.request<AdminUserView>('POST', ROUTES.adminUser(u, 'password'), { password }); }
  adminStatus() { return this.request<AdminStatus>('GET', ROUTES.adminStatus); }
  adminFailed() { return this.request<FailedPublish[]>('GET', ROUTES.adminFailed); }
  adminFailedReplay(ids: string[] | 'all') { return this.request<ReplayResult>('POST', ROUTES.adminFailedReplay, ids === 'all' ? { all: true } : { ids }); }
  adminFailedPurge(ids: string[] | 'all') { return this.request<{ purged: string[] }>('POST', ROUTES.adminFailedPurge, ids === 'all' ? { all: true } : { ids }); }
  adminDlq() { return this.request<DeadLetter[]>('GET', ROUTES.adminDlq); }
  adminSearchReindex() { return this.request<{ indexed: number }>('POST', ROUTES.adminSearchReindex, {}); }
  adminDlqReplay(ids: string[] | 'all') { return this.request<ReplayResult>('POST', ROUTES.adminDlqReplay, ids === 'all' ? {} : { ids }); }
}

async function errorOf(res: Response): Promise<ChatError> {
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    body = undefined;
  }
  const fallback = res.status === 401 ? 'CHAT_ERR_UNAUTHENTICATED' : res.status === 429 ? 'CHAT_ERR_RATE_LIMITED' : res.status >= 500 ? 'CHAT_ERR_INTERNAL' : 'CHAT_ERR_VALIDATION';
  return fromErrorBody((body as { error?: unknown } | undefined)?.error, fallback);
}

/** Answers that mean "not accepted, try again": chatd stopping or (once reached) restarting. */
const RETRYABLE = new Set(['CHAT_ERR_SHUTTING_DOWN', 'CHAT_ERR_UNAVAILABLE']);

/**
 * Sends over REST and resolves with the durable ack (201 comes after the commit), retrying with
 * the same clientMsgId, so a retry never creates a second message. A server that cannot be
 * reached at all fails at once; once reached, a restart is waited out until the deadline.
 */
export async function sendDurableRest(api: ApiClient, input: SendInput & { clientMsgId: string }, deadlineMs = 30_000): Promise<Message> {
  const deadline = Date.now() + deadlineMs;
  let reached = false;
  for (let attempt = 0; ; attempt++) {
    try {
      return await api.sendRest(input, AbortSignal.timeout(Math.max(1000, deadline - Date.now())));
    } catch (err) {
      const e = err instanceof ChatError ? err : new ChatError('CHAT_ERR_UNAVAILABLE', (err as Error).message);
      const unreachable = e.code === 'CHAT_ERR_UNAVAILABLE' && /^Cannot reach chatd/.test(e.message);
      if (!unreachable) reached = true;
      if (!RETRYABLE.has(e.code) || (unreachable && !reached) || Date.now() >= deadline) throw e;
      await new Promise((r) => setTimeout(r, Math.min(2000, 200 * 2 ** Math.min(attempt, 4))));
    }
  }
}
