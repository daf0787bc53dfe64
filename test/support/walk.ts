/**
 * Walks every operation of the OpenAPI document on a running chatd, as three users (the first
 * account is the admin), with two sockets collecting what the walk pushes, and validates every
 * answer, ack and event against the documents that chatd serves. Shared by the embedded test and
 * the scale-out service suite.
 */
import { expect } from 'vitest';
import { OPERATIONS, ROUTES } from '../../src/protocol/index.js';
import { openSocket, waitFor, type TestSocket } from './daemon.js';
import { documentedApi, type Documents } from './documents.js';

/** Operations whose answers need Kafka; the embedded default answers them with CHAT_ERR_NOT_CONFIGURED. */
/** What scale-out refuses without OPENSEARCH_URL, as the walk runs it (CHAT_ERR_NOT_CONFIGURED); the embedded deployment refuses the reindex too. */
export const NEEDS_OPENSEARCH = ['GET /v1/search', 'POST /v1/admin/search/reindex'];
export const NEEDS_KAFKA = ['GET /v1/admin/failed', 'POST /v1/admin/failed/replay', 'POST /v1/admin/failed/purge', 'GET /v1/admin/dlq', 'POST /v1/admin/dlq/replay'];

export interface Walk {
  /** Operations called, and those answered with their documented success status. */
  checked: Set<string>;
  succeeded: Set<string>;
  /** Answers, acks and events that do not conform to the documents. */
  failures: string[];
  seen: { event: string; payload: unknown }[];
  acks: Record<string, unknown>;
}

/** Needs a fresh deployment (the users alice, bob and carol, the group #crew) and chatd's AI pointed at a Gemini fake. */
export async function walkOperations(base: string, docs: Documents, scaleOut: boolean): Promise<Walk> {
  const api = documentedApi(base, docs);
  const { call, failures } = api;
  // Sockets, opened before the walk, collect every event it causes.
  const seen: { event: string; payload: unknown }[] = [];
  const listen = (s: TestSocket) => s.onAny((event: string, payload: unknown) => seen.push({ event, payload }));

  expect((await call('GET', '/healthz', ROUTES.healthz)).status).toBe(200);
  expect((await call('GET', '/readyz', ROUTES.readyz)).status).toBe(200);
  expect((await call('GET', '/metrics', ROUTES.metrics)).body).toMatch(/^# HELP/m);
  await call('GET', '/v1/openapi.json', ROUTES.openapi);
  await call('GET', '/v1/events.schema.json', ROUTES.eventsSchema);

  const reg = async (name: string) => (await call('POST', '/v1/auth/register', ROUTES.register, undefined, { username: name, password: 'correct horse battery' })).body as { accessToken: string; refreshToken: string };
  const alice = await reg('alice'); // the first account: admin
  const bob = await reg('bob');
  const carol = await reg('carol');
  const login = (await call('POST', '/v1/auth/login', ROUTES.login, undefined, { username: 'alice', password: 'correct horse battery', device: 'laptop' })).body as { accessToken: string; refreshToken: string };
  const rotated = (await call('POST', '/v1/auth/refresh', ROUTES.refresh, undefined, { refreshToken: login.refreshToken })).body as { accessToken: string; refreshToken: string };
  const a = alice.accessToken;
  const b = bob.accessToken;
  const c = carol.accessToken;
  const sa = await openSocket(base, a);
  const sb = await openSocket(base, b);
  listen(sa);
  listen(sb);
  await call('GET', '/v1/me', ROUTES.me, a);

  expect((await call('POST', '/v1/friends/{username}', ROUTES.friend('bob'), a)).body).toMatchObject({ status: 'requested' });
  await call('GET', '/v1/friends/requests', ROUTES.friendRequests, b);
  expect((await call('POST', '/v1/friends/{username}/accept', ROUTES.friendAccept('alice'), b)).body).toMatchObject({ status: 'friends' });
  await call('POST', '/v1/friends/{username}', ROUTES.friend('carol'), a);
  await call('POST', '/v1/friends/{username}/accept', ROUTES.friendAccept('alice'), c);
  await call('GET', '/v1/friends', ROUTES.friends, a);

  expect((await call('POST', '/v1/messages', ROUTES.messages, a, { to: 'bob', text: 'hello', clientMsgId: 'doc-1' })).status).toBe(201);
  await call('GET', '/v1/messages/{username}', ROUTES.history('bob'), b);
  // Acks of every client event, against the events document.
  const acks: Record<string, unknown> = {
    'message:send': await sb.emitWithAck('message:send', { to: 'alice', text: 'hi back', clientMsgId: 'doc-2' }),
    'message:sync': await sb.emitWithAck('message:sync', { cursors: {}, limit: 10 }),
    'receipt:update': await sb.emitWithAck('receipt:update', { conversationId: 'dm:alice:bob', delivered: 2, read: 2 }),
    'typing:update': await sb.emitWithAck('typing:update', { to: 'alice', typing: true }),
  };
  // Changes to a message: over REST, and each over the socket with its ack; alice's socket gets message:change.
  const hello = 1;
  await call('PATCH', '/v1/messages/{username}/{seq}', ROUTES.message('bob', hello), a, { text: 'hello, edited', clientMsgId: 'doc-3' });
  await call('POST', '/v1/messages/{username}/{seq}/reactions', ROUTES.messageReactions('alice', hello), b, { emoji: '👍' });
  await call('GET', '/v1/messages/{username}/{seq}/edits', ROUTES.messageEdits('alice', hello), b);
  await call('GET', '/v1/messages/{username}/changes', `${ROUTES.messageChanges('alice')}?sinceSeq=0`, b);
  // Search: the embedded index answers; scale-out has no index yet and says so with a coded error.
  const found = await call<{ hits: { message: { text: string } }[] }>('GET', '/v1/search', `${ROUTES.search}?q=${encodeURIComponent('hello from:alice')}`, b);
  if (scaleOut) expect(found.body).toMatchObject({ error: { code: 'CHAT_ERR_NOT_CONFIGURED' } });
  else expect(found.body.hits.map((h) => h.message.text)).toEqual(['hello, edited']);
  // Files: an upload in two pieces (HEAD says where it stands), sent with a message, listed, downloaded by range; another cancelled.
  const upload = await call<{ id: string; error?: { code: string } }>('POST', '/v1/files', ROUTES.files, a, { name: 'notes.txt', size: 11 });
  {
    const id = upload.body.id;
    const bytes = { 'content-type': 'application/offset+octet-stream' };
    await call('PATCH', '/v1/files/{id}/content', ROUTES.fileContent(id), a, undefined, { body: Buffer.from('hello'), headers: { ...bytes, 'upload-offset': '0' } });
    expect((await call('HEAD', '/v1/files/{id}/content', ROUTES.fileContent(id), a)).headers.get('upload-offset')).toBe('5');
    await call('PATCH', '/v1/files/{id}/content', ROUTES.fileContent(id), a, undefined, { body: Buffer.from(', bob\n'), headers: { ...bytes, 'upload-offset': '5' } });
    await call('GET', '/v1/files/{id}', ROUTES.file(id), a);
    expect((await sa.emitWithAck('message:send', { to: 'bob', text: 'a file', files: [id] })).ok).toBe(true);
    expect((await call('GET', '/v1/files/{id}/content', ROUTES.fileContent(id), b)).body).toBe('hello, bob\n');
    expect((await call('GET', '/v1/files/{id}/content', ROUTES.fileContent(id), b, undefined, { headers: { range: 'bytes=7-' } })).body).toBe('bob\n');
    const other = await call<{ id: string }>('POST', '/v1/files', ROUTES.files, a, { name: 'drop.bin', size: 3 });
    expect((await call('DELETE', '/v1/files/{id}', ROUTES.file(other.body.id), a)).status).toBe(204);
  }
  await call('GET', '/v1/messages/{username}/files', ROUTES.conversationFiles('alice'), b);
  const reply = await sb.emitWithAck('message:send', { to: 'alice', text: 'a reply', replyTo: hello });
  acks['message:edit'] = await sa.emitWithAck('message:edit', { to: 'bob', seq: hello, text: 'hello, again' });
  acks['message:react'] = await sb.emitWithAck('message:react', { to: 'alice', seq: hello, emoji: '🎉', op: 'add' });
  acks['message:delete'] = await sb.emitWithAck('message:delete', { to: 'alice', seq: (reply as { data: { seq: number } }).data.seq });
  await call('DELETE', '/v1/messages/{username}/{seq}', ROUTES.message('bob', hello), a);
  for (const [name, ack] of Object.entries(acks)) {
    expect(ack, name).toMatchObject({ ok: true });
    for (const e of docs.ack(name, ack)) failures.push(`ack ${name}: ${e}`);
  }
  // An /ai question streams ai:chunk events and stores the answer.
  await sa.emitWithAck('message:send', { to: 'bob', text: '/ai what is documented?' });
  await waitFor(() => seen.some((s) => s.event === 'ai:chunk' && (s.payload as { done: boolean }).done));
  await call('GET', '/v1/conversations', ROUTES.conversations, a);

  expect((await call('POST', '/v1/groups', ROUTES.groups, a, { handle: 'crew', name: 'The crew', members: ['bob', 'carol'] })).status).toBe(201);
  await call('GET', '/v1/groups', ROUTES.groups, a);
  await call('GET', '/v1/groups/{group}', ROUTES.group('crew'), b);
  await call('PATCH', '/v1/groups/{group}', ROUTES.group('crew'), a, { topic: 'documents' });
  await call('GET', '/v1/groups/{group}/members', ROUTES.groupMembers('crew'), a);
  expect((await call('DELETE', '/v1/groups/{group}/members/{username}', ROUTES.groupMember('crew', 'carol'), a)).status).toBe(204);
  await call('POST', '/v1/groups/{group}/members', ROUTES.groupMembers('crew'), a, { usernames: ['carol'] });
  expect((await call('PUT', '/v1/groups/{group}/members/{username}/role', ROUTES.groupRole('crew', 'bob'), a, { role: 'admin' })).status).toBe(204);
  await call('POST', '/v1/messages', ROUTES.messages, a, { to: '#crew', text: 'group hello' });
  await call('GET', '/v1/messages/{username}', ROUTES.history('#crew'), b);
  await sb.emitWithAck('receipt:update', { conversationId: (await call('GET', '/v1/groups/{group}', ROUTES.group('crew'), b)).body['conversationId'], read: 2 });
  const receipts = (await call('GET', '/v1/groups/{group}/receipts', ROUTES.groupReceipts('crew'), a)).body as Record<string, unknown>;
  // Members with a marker: the sender, and bob who read; carol has none yet.
  expect(Object.keys(receipts).sort()).toEqual(['alice', 'bob']);
  expect((await call('POST', '/v1/groups/{group}/leave', ROUTES.groupLeave('crew'), c)).status).toBe(204);
  expect((await call('DELETE', '/v1/groups/{group}', ROUTES.group('crew'), a)).status).toBe(204);

  const token = (await call('POST', '/v1/tokens', ROUTES.tokens, a, { name: 'docs bot', password: 'correct horse battery' })).body as { id: string; token: string };
  await call('GET', '/v1/me', ROUTES.me, token.token); // so lastUsedAt is a time, not null
  const tokens = (await call('GET', '/v1/tokens', ROUTES.tokens, a)).body as { lastUsedAt: string | null }[];
  expect(tokens[0]!.lastUsedAt).not.toBeNull();
  expect((await call('DELETE', '/v1/tokens/{id}', ROUTES.token(token.id), a)).status).toBe(204);

  await call('GET', '/v1/admin/users', ROUTES.adminUsers, a);
  expect((await call('POST', '/v1/admin/users/{username}/{action}', ROUTES.adminUser('carol', 'disable'), a, {})).body).toMatchObject({ disabled: true });
  await call('GET', '/v1/admin/status', ROUTES.adminStatus, a);
  // Reindexing is for OpenSearch: the walk runs without it, so both deployments refuse it with a coded error.
  expect((await call('POST', '/v1/admin/search/reindex', ROUTES.adminSearchReindex, a, {})).body).toMatchObject({ error: { code: 'CHAT_ERR_NOT_CONFIGURED' } });
  for (const key of NEEDS_KAFKA) {
    const [method, path] = key.split(' ') as [string, string];
    const r = await call(method, path, path, a, method === 'POST' ? { all: true } : undefined);
    // The embedded default has no failed publishes or dead letters to show; the scale-out log answers (empty here).
    if (scaleOut) expect(r.status, key).toBe(200);
    else expect(r.body, key).toMatchObject({ error: { code: 'CHAT_ERR_NOT_CONFIGURED' } });
  }
  await call('DELETE', '/v1/friends/{username}', ROUTES.friend('carol'), a);
  expect((await call('POST', '/v1/me/password', ROUTES.password, b, { currentPassword: 'correct horse battery', newPassword: 'another horse battery' })).status).toBe(200);
  expect((await call('POST', '/v1/auth/logout', ROUTES.logout, rotated.accessToken, { refreshToken: rotated.refreshToken })).status).toBe(204);
  // An error answer is checked too: the default response, the Error schema.
  expect((await call('GET', '/v1/me', ROUTES.me, 'not-a-token')).status).toBe(401);

  // Every pushed event, against the events document; bob going offline tells alice.
  await waitFor(() => seen.some((s) => s.event === 'group:update' && (s.payload as { type: string }).type === 'deleted'));
  sb.close();
  await waitFor(() => seen.some((s) => s.event === 'presence:update' && !(s.payload as { online: boolean }).online));
  for (const s of seen) for (const e of docs.event(s.event, s.payload)) failures.push(`event ${s.event}: ${e}`);
  sa.close();
  const checked = new Set(api.answered.keys());
  const succeeded = new Set(OPERATIONS.map((o) => `${o.method.toUpperCase()} ${o.path}`).filter((k, i) => api.answered.get(k)?.includes(OPERATIONS[i]!.ok[0])));
  return { checked, succeeded, failures, seen, acks };
}

/** One line for the test output. */
export function walkSummary(w: Walk): string {
  const events = [...new Set(w.seen.map((s) => s.event))].sort();
  return `${w.checked.size} of ${OPERATIONS.length} operations answered, ${w.succeeded.size} with their documented success; ${w.seen.length} events of ${events.length} kinds (${events.join(', ')}); ${Object.keys(w.acks).length} acks; nonconforming: ${w.failures.length}`;
}
