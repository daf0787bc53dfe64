/**
 * Issue 13, "Storage and transport" (items 7 to 10): file modes, a full disk, the socket
 * buffer against what the schemas accept, and text that cannot be stored as sent.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Ack, Message } from '../../src/protocol/index.js';
import { dmConversationId, LIMITS } from '../../src/protocol/index.js';
import { befriend, databaseOf, emit, openSocket, registerUser, startDaemon, tmpDir, waitFor, type TestDaemon } from '../support/daemon.js';
import { spawnChatd } from '../support/procs.js';

const modes = (dir: string) => Object.fromEntries([['.', fs.statSync(dir).mode & 0o777], ...fs.readdirSync(dir).map((f) => [f, fs.statSync(path.join(dir, f)).mode & 0o777])].map(([k, v]) => [k, (v as number).toString(8)]));

describe('7. the data dir is private', () => {
  it('a loose data dir and loose files are tightened on every start, with a warning; WAL and SHM are 0600', async () => {
    const dir = tmpDir('chat-perm-');
    fs.chmodSync(dir, 0o755);
    let chatd = await spawnChatd(dir);
    const a = await registerUser(chatd.url);
    const b = await registerUser(chatd.url);
    await befriend(a, b);
    await a.api.sendRest({ to: b.name, text: 'secret text' });
    const first = modes(dir);
    const warned = chatd.lines.filter((l) => /permission/i.test(l));
    console.log('after a start on a 0755 dir:', first, '; warnings:', warned.length);
    expect(first).toMatchObject({ '.': '700', 'chat.db': '600', 'chat.db-wal': '600', 'chat.db-shm': '600', 'secrets.json': '600' });
    // Folders (the data dir, its files folder) 0700, every file 0600.
    const want = (k: string) => (k === '.' || fs.statSync(path.join(dir, k)).isDirectory() ? '700' : '600');
    expect(Object.entries(first).every(([k, m]) => m === want(k))).toBe(true);
    expect(warned.length).toBeGreaterThan(0);
    chatd.child.kill('SIGTERM');
    await chatd.exited;
    // Someone loosens them while chatd is down: the next start tightens them again.
    fs.chmodSync(dir, 0o755);
    for (const f of fs.readdirSync(dir)) fs.chmodSync(path.join(dir, f), 0o644);
    chatd = await spawnChatd(dir);
    await new (await import('../../src/client/api.js')).ApiClient(chatd.url).login(a.name, 'correct horse battery');
    const second = modes(dir);
    console.log('after a restart with 0644 files:', second, '; warnings:', chatd.lines.filter((l) => /permission/i.test(l)).length);
    expect(Object.entries(second).every(([k, m]) => m === want(k))).toBe(true);
    expect(chatd.lines.some((l) => /permission/i.test(l) && /chat\.db/.test(l))).toBe(true);
    chatd.child.kill('SIGTERM');
    await chatd.exited;
  });
});

describe('8. a full disk', () => {
  let mnt: string;
  let d: TestDaemon;
  beforeAll(() => {
    mnt = tmpDir('chat-full-');
    // A real full file system: a small tmpfs (CI runs as root on a machine that allows it).
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m,mode=0700', 'tmpfs', mnt]);
  });
  afterAll(async () => {
    await d?.close();
    execFileSync('umount', ['-l', mnt]);
  });

  it('refuses sends with CHAT_ERR_STORAGE_FULL, fails /readyz, and recovers when space returns', async () => {
    d = await startDaemon({}, mnt);
    const a = await registerUser(d.url);
    const b = await registerUser(d.url);
    await befriend(a, b);
    const s = await openSocket(d.url, a.auth.accessToken);
    expect((await emit<Message>(s, 'message:send', { to: b.name, text: 'before' })).ok).toBe(true);
    const filler = path.join(mnt, 'filler');
    const fd = fs.openSync(filler, 'w');
    const chunk = Buffer.alloc(64 * 1024, 1);
    try { for (;;) fs.writeSync(fd, chunk); } catch { /* ENOSPC */ }
    try { for (;;) fs.writeSync(fd, chunk, 0, 512); } catch { /* ENOSPC */ }
    fs.closeSync(fd);
    const codes = new Map<string, number>();
    let acked = 0;
    const big = 'x'.repeat(3000);
    for (let i = 0; i < 400; i++) {
      const r = await emit<Message>(s, 'message:send', { to: b.name, text: `${i} ${big}`, clientMsgId: `full-${i}` });
      const k = r.ok ? 'ok' : r.error.code;
      if (r.ok) acked++;
      codes.set(k, (codes.get(k) ?? 0) + 1);
      if (!r.ok) break;
    }
    const ready = await fetch(new URL('/readyz', d.url));
    console.log(`sends into a full disk: ${JSON.stringify(Object.fromEntries(codes))}; /readyz -> ${ready.status}`);
    expect(codes.get('CHAT_ERR_STORAGE_FULL')).toBe(1);
    expect(ready.status).toBe(503);
    fs.unlinkSync(filler);
    await waitFor(async () => (await fetch(new URL('/readyz', d.url))).status === 200, 10_000);
    const after = await emit<Message>(s, 'message:send', { to: b.name, text: 'after' });
    expect(after.ok).toBe(true);
    const stored = await databaseOf(d.daemon).archive.history(dmConversationId(a.name, b.name), { limit: 500 });
    console.log(`acked while filling: ${acked}; stored: ${stored.length - 2} (+ before and after)`);
    expect(stored.length).toBe(acked + 2);
    s.close();
  });
});

/** Escapes every character of a JSON string as \uXXXX (valid JSON, as some encoders write it). */
const escapeAll = (s: string) => `"${s.split('').map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')}"`;
/** Escapes non-ASCII as \uXXXX surrogate pairs, as Python's json does by default. */
const asciiJson = (v: unknown) => JSON.stringify(v).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/** A socket.io client at the packet level, so the test chooses the JSON encoding. */
async function rawSocket(url: string, token: string) {
  const ws = new WebSocket(url.replace('http', 'ws') + '/socket.io/?EIO=4&transport=websocket');
  const frames: string[] = [];
  const waiters: ((f: string) => void)[] = [];
  ws.on('message', (data) => {
    const f = data.toString();
    if (f === '2') return ws.send('3');
    const w = waiters.shift();
    if (w) w(f); else frames.push(f);
  });
  const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
  const next = () => new Promise<string>((r) => { const f = frames.shift(); if (f !== undefined) r(f); else waiters.push(r); });
  await new Promise((r) => ws.once('open', r));
  expect((await next()).startsWith('0')).toBe(true);
  ws.send(`40${JSON.stringify({ token })}`);
  expect((await next()).startsWith('40')).toBe(true);
  let ackId = 0;
  return {
    ws, closed,
    /** Sends `42<id>["event", <payload text>]` and resolves with the ack, or 'closed'. */
    async call(event: string, payloadJson: string): Promise<Ack<unknown> | 'closed'> {
      const id = ackId++;
      ws.send(`42${id}["${event}",${payloadJson}]`);
      const f = await Promise.race([next(), closed.then(() => 'closed')]);
      if (f === 'closed') return 'closed';
      return (JSON.parse(f.slice(`43${id}`.length)) as Ack<unknown>[])[0]!;
    },
  };
}

describe('9 and 10. what the schemas accept fits the transport; invalid UTF-16 is refused', () => {
  let d: TestDaemon;
  beforeAll(async () => { d = await startDaemon(); });
  afterAll(async () => { await d.close(); });

  it('a legal 4000-emoji message escaped as surrogate pairs and 1000 fully escaped cursors are answered, not disconnected', async () => {
    const a = await registerUser(d.url);
    const b = await registerUser(d.url);
    await befriend(a, b);
    const raw = await rawSocket(d.url, a.auth.accessToken);
    const text = '😀'.repeat(LIMITS.maxMessageLength);
    const payload = asciiJson({ to: b.name, text, clientMsgId: 'emoji-1' });
    const sent = await raw.call('message:send', payload);
    console.log(`message:send of ${payload.length} bytes (4000 emoji as \\ud83d\\ude00) ->`, sent === 'closed' ? 'closed' : sent.ok ? 'ok' : sent.error.code);
    expect(sent !== 'closed' && sent.ok).toBe(true);
    expect((await b.api.history(a.name)).at(-1)!.text).toBe(text);

    const cursors = Array.from({ length: LIMITS.maxSyncCursors }, (_, i) => `${escapeAll(`dm:${'a'.repeat(32)}:${String(i).padStart(32, 'b')}`)}:${Number.MAX_SAFE_INTEGER}`);
    const syncJson = `{"cursors":{${cursors.join(',')}}}`;
    const synced = await raw.call('message:sync', syncJson);
    console.log(`message:sync with ${LIMITS.maxSyncCursors} fully escaped cursors, ${syncJson.length} bytes ->`, synced === 'closed' ? 'closed' : synced.ok ? 'ok' : synced.error.code);
    expect(synced !== 'closed' && synced.ok).toBe(true);
    const tooMany = await raw.call('message:sync', `{"cursors":{${[...cursors, `"dm:x:y":1`].join(',')}}}`);
    console.log('one cursor more ->', tooMany === 'closed' ? 'closed' : tooMany.ok ? 'ok' : tooMany.error.code);
    expect(tooMany !== 'closed' && !tooMany.ok && tooMany.error.code).toBe('CHAT_ERR_VALIDATION');
    // The same message over REST, in the same encoding.
    const rest = await fetch(new URL('/v1/messages', d.url), { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${a.auth.accessToken}` }, body: asciiJson({ to: b.name, text, clientMsgId: 'emoji-2' }) });
    expect(rest.status).toBe(201);
    raw.ws.close();
  });

  it('text with a lone surrogate is refused on the socket and over REST, so the ack never differs from what is stored', async () => {
    const a = await registerUser(d.url);
    const b = await registerUser(d.url);
    await befriend(a, b);
    const s = await openSocket(d.url, a.auth.accessToken);
    const tries = {
      socketHigh: await emit<Message>(s, 'message:send', { to: b.name, text: 'ab\ud800cd' }),
      socketLow: await emit<Message>(s, 'message:send', { to: b.name, text: '\udc00' }),
      socketPair: await emit<Message>(s, 'message:send', { to: b.name, text: '\ud83d\ude00 ok' }),
    };
    const rest = await a.api.sendRest({ to: b.name, text: 'x\udfffy' }).then(() => 'ok', (e: { code: string }) => e.code);
    const summary = { ...Object.fromEntries(Object.entries(tries).map(([k, v]) => [k, v.ok ? 'ok' : v.error.code])), rest };
    console.log('lone surrogates ->', summary);
    expect(summary).toEqual({ socketHigh: 'CHAT_ERR_VALIDATION', socketLow: 'CHAT_ERR_VALIDATION', socketPair: 'ok', rest: 'CHAT_ERR_VALIDATION' });
    const stored = await b.api.history(a.name);
    expect(stored.map((m) => m.text)).toEqual(['\ud83d\ude00 ok']);
    s.close();
  });
});
