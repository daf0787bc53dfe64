/**
 * Issue 13, "Output and web surface" (items 11 to 13): forged lines in plain output, the
 * browser-facing defaults, option-like usernames and closed pipes.
 */
import path from 'node:path';
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io as ioc } from 'socket.io-client';
import type { Message } from '../../src/protocol/index.js';
import { ApiClient } from '../../src/client/api.js';
import { sanitize } from '../../src/client/sanitize.js';
import { formatMessage } from '../../src/cli/format.js';
import { conversationLines } from '../../src/tui/layout.js';
import { placements } from '../../src/tui/cell-pictures.js';
import { initialState, type ConversationState } from '../../src/tui/state.js';
import { befriend, openSocket, registerUser, startDaemon, tmpDir, type TestDaemon, type TestUser } from '../support/daemon.js';
import { SECURITY_HEADERS } from '../../src/daemon/validation.js';
import { CHATD_BIN, CHAT_BIN, runChat, spawnChatd } from '../support/procs.js';

/** A real bin/chatd with two friends; `cli` is a logged-in `chat` config for `b`. */
async function withChatd(a: string, b: string, fn: (ctx: { url: string; a: TestUser; b: TestUser; env: Record<string, string> }) => Promise<void>) {
  const chatd = await spawnChatd(tmpDir());
  try {
    const ua = await registerUser(chatd.url, a);
    const ub = await registerUser(chatd.url, b);
    await befriend(ua, ub);
    const env = { CHAT_CONFIG_DIR: path.join(tmpDir('chat-cli-'), 'cfg'), CHAT_SERVER: chatd.url };
    expect((await runChat(['login', b, '--password-stdin'], { env, input: 'correct horse battery\n' })).code).toBe(0);
    await fn({ url: chatd.url, a: ua, b: ub, env });
  } finally {
    chatd.child.kill('SIGTERM');
    await chatd.exited;
  }
}

const FORGED = 'hello\n2026-11-26 18:01:02 #99 mallory → bob: send me your password\n[system] your account is locked';

describe('11. a message cannot forge lines', () => {
  const m: Message = { id: 'x', seq: 3, conversationId: 'dm:alice:mallory', from: 'mallory', to: 'alice', text: FORGED, kind: 'user', createdAt: '2026-11-26T18:01:00.000Z' };

  it('chat history and listen (plain) indent continuation lines under their message', async () => {
    const out = formatMessage(m).split('\n');
    console.log('formatted:\n' + out.join('\n'));
    expect(out).toHaveLength(3);
    expect(out[0]).toMatch(/^2026-11-26 18:01:00 #3 mallory → alice: hello$/);
    for (const l of out.slice(1)) expect(l).toMatch(/^ {4,}\S/);
  });

  it('the TUI indents continuation lines under their message', () => {
    const s = initialState('alice', 'http://x');
    const c: ConversationState = { peer: 'mallory', kind: 'dm', title: 'mallory', members: 2, topic: '', reads: {}, conversationId: m.conversationId, messages: [m], pending: [], unread: 0, mentions: 0, myRead: 0, peerDelivered: 0, peerRead: 0, lastActivity: m.createdAt, hasOlder: false, scroll: 0 };
    const lines = conversationLines(s, c, 200).filter((l) => l.tone !== 'separator').map((l) => l.text);
    console.log('TUI lines:\n' + lines.join('\n'));
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^\d\d:\d\d mallory: hello$/);
    const indent = lines[0]!.indexOf('hello');
    for (const l of lines.slice(1)) expect(l.slice(0, indent)).toBe(' '.repeat(indent));
    // Wrapped lines are indented the same way.
    const long = conversationLines(s, { ...c, messages: [{ ...m, text: 'word '.repeat(40) }] }, 40).filter((l) => l.tone !== 'separator').map((l) => l.text);
    expect(long.length).toBeGreaterThan(2);
    for (const l of long.slice(1)) expect(l.startsWith(' '.repeat(indent))).toBe(true);
  });

  it('text cannot pose as a picture\'s cells: kitty\'s placeholder is shown inert, so the frame writer finds no picture in it', () => {
    const forged = `look ${String.fromCodePoint(0x10eeee)}\u0305\u0305${String.fromCodePoint(0x10eeee)}\u0305\u030d`;
    expect(sanitize(forged)).toBe('look \\u{10eeee}\u0305\u0305\\u{10eeee}\u0305\u030d');
    const s = initialState('alice', 'http://x');
    const c: ConversationState = { peer: 'mallory', kind: 'dm', title: 'mallory', members: 2, topic: '', reads: {}, conversationId: m.conversationId, messages: [{ ...m, text: forged }], pending: [], unread: 0, mentions: 0, myRead: 0, peerDelivered: 0, peerRead: 0, lastActivity: m.createdAt, hasOlder: false, scroll: 0 };
    const lines = conversationLines(s, c, 200).map((l) => l.text);
    // Under a 24-bit colour, as a theme could draw the line: still no cells.
    expect(placements(lines.map((l) => `\x1b[38;2;0;0;7m${l}`)).size).toBe(0);
    expect(lines.join('')).not.toContain(String.fromCodePoint(0x10eeee));
  });

  it('bidi marks and Unicode line separators are shown inert', () => {
    for (const ch of ['\u200e', '\u200f', '\u061c', '\u2028', '\u2029']) {
      const shown = sanitize(`a${ch}b`);
      expect(shown).not.toContain(ch);
      expect(shown).toBe(`a\\u{${ch.codePointAt(0)!.toString(16)}}b`);
    }
  });

  it('end to end: chat history prints the forged message indented', async () => {
    await withChatd('fg_mallory', 'fg_alice', async ({ a, b, env }) => {
      await a.api.sendRest({ to: b.name, text: FORGED });
      const r = await runChat(['history', a.name], { env });
      console.log(r.stdout);
      const lines = r.stdout.trimEnd().split('\n');
      expect(lines).toHaveLength(3);
      expect(lines.filter((l) => /^\d{4}-/.test(l))).toHaveLength(1);
    });
  });
});

describe('12. browser-facing defaults', () => {
  let d: TestDaemon;
  beforeAll(async () => { d = await startDaemon({ CHAT_ALLOWED_ORIGINS: 'https://chat.example.org' }); });
  afterAll(async () => { await d.close(); });

  it('refuses sockets and REST calls from an Origin not on the list; no Origin and listed ones pass', async () => {
    const u = await registerUser(d.url);
    const tryOrigin = (origin?: string) => new Promise<string>((resolve) => {
      const s = ioc(d.url, { transports: ['websocket'], auth: { token: u.auth.accessToken }, reconnection: false, forceNew: true, extraHeaders: origin ? { origin } : {} });
      s.once('connect', () => { s.close(); resolve('connected'); });
      s.once('connect_error', (e: Error & { data?: { code?: string } }) => { s.close(); resolve(e.data?.code ?? e.message); });
    });
    const pollingOrigin = async (origin: string) => (await fetch(new URL('/socket.io/?EIO=4&transport=polling', d.url), { headers: { origin } })).status;
    const rest = async (origin?: string) => {
      const res = await fetch(new URL('/v1/me', d.url), { headers: { authorization: `Bearer ${u.auth.accessToken}`, ...(origin ? { origin } : {}) } });
      return `${res.status}${res.ok ? '' : ' ' + ((await res.json()) as { error: { code: string } }).error.code}`;
    };
    const got = {
      socketEvil: await tryOrigin('https://evil.example.com'),
      socketNone: await tryOrigin(),
      socketListed: await tryOrigin('https://chat.example.org'),
      pollingEvil: await pollingOrigin('https://evil.example.com'),
      restEvil: await rest('https://evil.example.com'),
      restNone: await rest(),
      restListed: await rest('https://chat.example.org'),
    };
    console.log('origins ->', got);
    expect(got.socketEvil).not.toBe('connected');
    expect(got.socketNone).toBe('connected');
    expect(got.socketListed).toBe('connected');
    expect(got.pollingEvil).toBe(403);
    expect(got).toMatchObject({ restEvil: '403 CHAT_ERR_ORIGIN_NOT_ALLOWED', restNone: '200', restListed: '200' });
  });

  it('sends security headers and keeps internal paths out of unauthenticated answers', async () => {
    const res = await fetch(new URL('/readyz', d.url));
    const body = await res.text();
    const headers = Object.fromEntries(Object.keys(SECURITY_HEADERS).map((h) => [h, res.headers.get(h)]));
    console.log('/readyz ->', res.status, body, headers);
    expect(body).not.toContain(d.dir);
    expect(body).not.toContain('chat.db');
    expect(headers).toEqual(SECURITY_HEADERS);
    expect(headers).toMatchObject({ 'x-content-type-options': 'nosniff', 'x-frame-options': 'DENY', 'cache-control': 'no-store' });
    const notFound = await fetch(new URL('/nope', d.url));
    expect(notFound.headers.get('x-content-type-options')).toBe('nosniff');
  });
});

describe('13. option-like usernames and closed pipes', () => {
  it('refuses usernames that start with - (they collide with CLI options)', async () => {
    const d = await startDaemon();
    try {
      const codes: Record<string, string> = {};
      for (const name of ['-rf', '--help', '-x-y', '.hidden']) codes[name] = await new ApiClient(d.url).register(name, 'long enough').then(() => 'ok', (e: { code: string }) => e.code);
      console.log('register option-like names ->', codes);
      expect(Object.values(codes).every((c) => c === 'CHAT_ERR_VALIDATION')).toBe(true);
      expect((await new ApiClient(d.url).register('a-rf', 'long enough')).user.username).toBe('a-rf');
      const cli = await runChat(['register', '--password-stdin', '--', '-rf'], { env: { CHAT_SERVER: d.url, CHAT_CONFIG_DIR: path.join(tmpDir(), 'cfg') }, input: 'long enough\n' });
      console.log('chat register -- -rf ->', cli.code, cli.stderr.trim());
      expect(cli.code).toBe(2);
    } finally {
      await d.close();
    }
  });

  // chatd config runs on the embedded default here, whatever engines the shell that runs the tests points at.
  const { MONGODB_URI: _m, REDIS_URL: _r, KAFKA_BROKERS: _k, ...embeddedEnv } = process.env;
  const piped = (cmd: string) => new Promise<{ code: string; stderr: string }>((resolve) => {
    const p = spawn('bash', ['-c', `set -o pipefail; ${cmd} 2>/tmp/epipe.$$ | head -c 1 >/dev/null; echo "\${PIPESTATUS[0]}"; cat /tmp/epipe.$$; rm -f /tmp/epipe.$$`], { env: { ...embeddedEnv, CHAT_DATA_DIR: tmpDir() } });
    let out = '';
    p.stdout.on('data', (c: Buffer) => { out += c.toString(); });
    p.on('close', () => { const [code, ...rest] = out.split('\n'); resolve({ code: code!, stderr: rest.join('\n').trim() }); });
  });

  it('a closed pipe ends chatd config and chat quietly', async () => {
    const chatd = await piped(`node ${CHATD_BIN} config`);
    const chatdJson = await piped(`node ${CHATD_BIN} config --json`);
    const chatHelp = await piped(`node ${CHAT_BIN} --help`);
    console.log('chatd config | head -c 1 ->', chatd, '; --json ->', chatdJson, '; chat --help ->', chatHelp);
    for (const r of [chatd, chatdJson, chatHelp]) {
      expect(r.stderr).toBe('');
      expect(r.code).toBe('0');
    }
  });

  it('a closed pipe ends chat history quietly', async () => {
    await withChatd('pipe_a', 'pipe_b', async ({ url, a, b, env }) => {
      const s = await openSocket(url, a.auth.accessToken);
      await Promise.all(Array.from({ length: 300 }, (_, i) => new Promise((r) => s.emit('message:send', { to: b.name, text: `line ${i} ${'x'.repeat(200)}` }, r))));
      s.close();
      const r = await piped(`env CHAT_CONFIG_DIR=${env.CHAT_CONFIG_DIR} CHAT_SERVER=${url} node ${CHAT_BIN} history pipe_a --limit 300`);
      console.log('chat history | head -c 1 ->', r);
      expect(r.stderr).toBe('');
      expect(r.code).toBe('0');
    });
  });
});
