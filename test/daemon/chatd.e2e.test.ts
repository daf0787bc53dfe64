import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ApiClient, staticCredentials } from '../../src/client/api.js';
import { connect, call, sendDurable, type Connection } from '../../src/client/socket.js';
import type { Message } from '../../src/protocol/index.js';
import { befriend, emit, openSocket, registerUser, sleep, tmpDir, waitFor } from '../support/daemon.js';
import { runChat, spawnChatd, spawnProc, CHAT_BIN, CHATD_BIN } from '../support/procs.js';

/** Sends through one socket with a window of outstanding acks; records what was acknowledged. */
async function load(conn: Connection, to: string, total: number, window: number, acked: Map<string, Message>, stop: () => boolean) {
  let next = 0;
  const worker = async () => {
    while (next < total && !stop()) {
      const i = next++;
      try {
        const m = await call<'message:send', Message>(conn.socket, 'message:send', { to, text: `load ${i}`, clientMsgId: `k-${i}` }, 2000);
        acked.set(m.clientMsgId!, m);
      } catch {
        // Not acknowledged: the sender may retry with the same clientMsgId.
      }
    }
  };
  await Promise.all(Array.from({ length: window }, worker));
}

describe('chatd process', () => {
  it('kill -9 mid-load loses no acknowledged message; a retry with the same clientMsgIds adds no duplicate', async () => {
    const dir = tmpDir();
    const first = await spawnChatd(dir, { CHAT_MESSAGE_RATE_LIMIT: '1000000' });
    const a = await registerUser(first.url, 'killer');
    const b = await registerUser(first.url, 'victim');
    await befriend(a, b);
    const total = 3000;
    const acked = new Map<string, Message>();
    const conn = connect(first.url, staticCredentials(a.auth.accessToken));
    await waitFor(() => conn.socket.connected);
    const running = load(conn, b.name, total, 64, acked, () => first.child.exitCode !== null || first.child.signalCode !== null);
    await waitFor(() => acked.size >= 800, 30_000, 5);
    first.child.kill('SIGKILL');
    await first.exited;
    await running;
    conn.close();
    const ackedBeforeKill = acked.size;

    // Same data dir, same port: clients reconnect to where they were.
    const second = await spawnChatd(dir, { CHAT_MESSAGE_RATE_LIMIT: '1000000' }, String(first.port));
    const login = await new ApiClient(second.url).login('killer', 'correct horse battery');
    const conn2 = connect(second.url, staticCredentials(login.accessToken));
    await waitFor(() => conn2.socket.connected);
    // Everything acknowledged before the kill is there, read through bin/chat.
    const cfg = tmpDir();
    expect((await runChat(['login', 'victim', '--password-stdin'], { env: { CHAT_CONFIG_DIR: cfg, CHAT_SERVER: second.url }, input: 'correct horse battery\n' })).code).toBe(0);
    const readAll = async () => {
      const out: Message[] = [];
      for (;;) {
        const r = await runChat(['history', 'killer', '--json', '--limit', '500', '--after-seq', String(out.length ? out[out.length - 1]!.seq : 0)], { env: { CHAT_CONFIG_DIR: cfg } });
        expect(r.code).toBe(0);
        const page = JSON.parse(r.stdout) as Message[];
        out.push(...page);
        if (page.length < 500) return out;
      }
    };
    const afterRestart = await readAll();
    const storedKeys = new Set(afterRestart.map((m) => m.clientMsgId));
    const lost = [...acked.keys()].filter((k) => !storedKeys.has(k)).length;
    const changed = [...acked.values()].filter((m) => { const s = afterRestart.find((x) => x.id === m.id); return !s || s.seq !== m.seq; }).length;

    // The sender retries every unacknowledged message with its original clientMsgId.
    acked.clear();
    await load(conn2, b.name, total, 64, acked, () => false);
    conn2.close();
    const final = await readAll();
    const dupes = final.length - new Set(final.map((m) => m.clientMsgId)).size;
    console.log(`kill -9: sent=${total} acked-before-kill=${ackedBeforeKill} stored-after-restart=${afterRestart.length} lost=${lost} changed=${changed}; after retry: acked=${acked.size} stored=${final.length} duplicates=${dupes}`);
    expect(lost).toBe(0);
    expect(changed).toBe(0);
    expect(dupes).toBe(0);
    expect(final.length).toBe(total);
    expect(final.map((m) => m.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  }, 120_000);

  it('SIGTERM stops accepting, flushes what was accepted and exits 0', async () => {
    const dir = tmpDir();
    const d = await spawnChatd(dir, { CHAT_MESSAGE_RATE_LIMIT: '1000000' });
    const a = await registerUser(d.url);
    const b = await registerUser(d.url);
    await befriend(a, b);
    const conn = connect(d.url, staticCredentials(a.auth.accessToken));
    await waitFor(() => conn.socket.connected);
    const acked = new Map<string, Message>();
    let stopped = false;
    const running = load(conn, b.name, 2000, 32, acked, () => stopped);
    await waitFor(() => acked.size >= 200, 30_000, 5);
    d.child.kill('SIGTERM');
    expect(await d.exited).toBe(0);
    stopped = true;
    conn.close();
    await running;
    expect(d.lines.some((l) => l.includes('chatd stopped'))).toBe(true);
    const again = await spawnChatd(dir);
    const login = await new ApiClient(again.url).login(b.name, 'correct horse battery');
    const api = new ApiClient(again.url, staticCredentials(login.accessToken));
    const stored: Message[] = [];
    for (let after = 0; ; ) {
      const page = await api.history(a.name, { limit: 500, afterSeq: after });
      stored.push(...page);
      if (page.length < 500) break;
      after = page[page.length - 1]!.seq;
    }
    const ids = new Set(stored.map((m) => m.id));
    const lost = [...acked.values()].filter((m) => !ids.has(m.id)).length;
    console.log(`SIGTERM: acked=${acked.size} stored=${stored.length} lost=${lost}`);
    expect(lost).toBe(0);
    again.child.kill('SIGTERM');
    await again.exited;
  }, 60_000);

  it('chat listen survives a kill -9 and restart of chatd: no gap, no duplicate', async () => {
    const dir = tmpDir();
    const first = await spawnChatd(dir);
    const a = await registerUser(first.url, 'speaker');
    const b = await registerUser(first.url, 'hearer');
    await befriend(a, b);
    const cfg = tmpDir();
    expect((await runChat(['login', 'hearer', '--password-stdin'], { env: { CHAT_CONFIG_DIR: cfg, CHAT_SERVER: first.url }, input: 'correct horse battery\n' })).code).toBe(0);
    const listener = spawnProc(CHAT_BIN, ['listen', '--json'], { CHAT_CONFIG_DIR: cfg });
    try {
      await listener.waitLine(/^connected/);
      const sendAll = async (url: string, from: number, to: number) => {
        const login = await new ApiClient(url).login('speaker', 'correct horse battery');
        const conn = connect(url, staticCredentials(login.accessToken));
        for (let i = from; i < to; i++) await sendDurable(conn, { to: 'hearer', text: `n${i}`, clientMsgId: `n${i}` });
        conn.close();
      };
      await sendAll(first.url, 0, 10);
      first.child.kill('SIGKILL');
      await first.exited;
      const second = await spawnChatd(dir, {}, String(first.port));
      await sendAll(second.url, 10, 30);
      const got = () => listener.lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Message);
      await waitFor(() => got().length >= 30, 20_000);
      await sleep(300);
      const texts = got().map((m) => m.text);
      console.log(`listen across restart: sent=30 received=${texts.length} duplicates=${texts.length - new Set(texts).size}`);
      expect(texts).toEqual(Array.from({ length: 30 }, (_, i) => `n${i}`));
      expect(listener.lines.filter((l) => l.startsWith('disconnected')).length).toBeGreaterThanOrEqual(1);
      second.child.kill('SIGTERM');
      await second.exited;
    } finally {
      listener.child.kill('SIGKILL');
    }
  }, 60_000);

  it('invalid configuration exits 2 with one line naming the setting', async () => {
    const p = spawnProc(CHATD_BIN, ['start', '--data-dir', tmpDir()], { PORT: 'not-a-port' });
    expect(await p.exited).toBe(2);
    expect(p.lines.filter(Boolean)).toEqual([expect.stringMatching(/^chatd: invalid configuration: PORT: /)]);
    const q = spawnProc(CHATD_BIN, ['start', '--port', '99999', '--data-dir', tmpDir()], {});
    expect(await q.exited).toBe(2);
    expect(q.lines.join('\n')).toMatch(/--port/);
  });

  it('says on stderr where it listens and keeps its data; a busy port is one clear line and exit 1', async () => {
    const dir = tmpDir();
    const first = await spawnChatd(dir);
    try {
      expect(await first.waitLine(/^chatd: listening on/)).toBe(`chatd: listening on ${first.url}; data in ${dir}; secrets generated into ${dir}`);
      const { spawn } = await import('node:child_process');
      const child = spawn(process.execPath, [CHATD_BIN, 'start', '--port', String(first.port), '--data-dir', tmpDir()], { env: { PATH: process.env.PATH ?? '', HOME: tmpDir(), LOG_LEVEL: 'info' } });
      let out = '';
      let err = '';
      child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
      child.stderr.on('data', (c: Buffer) => { err += c.toString(); });
      const code = await new Promise<number | null>((r) => child.on('close', r));
      console.log(`second chatd on port ${first.port}: exit ${code}; stderr: ${err.trim()}; stdout: ${out.trim()}`);
      expect(code).toBe(1);
      expect(err).toBe(`chatd: port ${first.port} on 127.0.0.1 is in use; choose another with --port (or PORT)\n`);
      expect(out).not.toMatch(/EADDRINUSE|stack|"level":60/);
    } finally {
      first.child.kill('SIGTERM');
      await first.exited;
    }
  });

  it('chatd check verifies each configured engine and exits 0, or 1 naming the one that fails', async () => {
    const ok = spawnProc(CHATD_BIN, ['check', '--data-dir', tmpDir()], {});
    expect(await ok.exited).toBe(0);
    expect(ok.lines.filter(Boolean).map((l) => l.split(':')[0])).toEqual(['ok   store', 'ok   cache', 'ok   log', 'ok   files']);
    // A database file that is not one: the store fails, the others are probed still.
    const broken = tmpDir();
    fs.writeFileSync(path.join(broken, 'chat.db'), Buffer.alloc(8192, 0x5a), { mode: 0o600 });
    const bad = spawnProc(CHATD_BIN, ['check', '--data-dir', broken], {});
    expect(await bad.exited).toBe(1);
    expect(bad.lines.join('\n')).toMatch(/FAIL store: sqlite[\s\S]*ok   cache: memory/);
    // Redis alone is no deployment (the embedded one with Redis presence was removed): a configuration error.
    const redisOnly = spawnProc(CHATD_BIN, ['check', '--data-dir', tmpDir()], { REDIS_URL: 'redis://127.0.0.1:1' });
    expect(await redisOnly.exited).toBe(2);
    expect(redisOnly.lines.join('\n')).toMatch(/REDIS_URL.*MONGODB_URI and KAFKA_BROKERS/);
    // MongoDB holds messages only behind Kafka (the scale-out log): alone, it is a configuration error.
    const mongoOnly = spawnProc(CHATD_BIN, ['check', '--data-dir', tmpDir()], { MONGODB_URI: 'mongodb://127.0.0.1:1/chat' });
    expect(await mongoOnly.exited).toBe(2);
    expect(mongoOnly.lines.join('\n')).toMatch(/MONGODB_URI.*REDIS_URL and KAFKA_BROKERS/);
  }, 60_000);

  it('chatd config prints every value and its source, secrets masked', async () => {
    const dir = tmpDir();
    const p = spawnProc(CHATD_BIN, ['config', '--json', '--data-dir', dir], { GEMINI_API_KEY: 'sekret-value', PORT: '4567', XDG_CONFIG_HOME: dir });
    expect(await p.exited).toBe(0);
    const out = JSON.parse(p.lines.join('\n')) as { configFile: string | null; defaultConfigFile: string; envFile: string | null; settings: { env: string; value: string; source: string }[] };
    expect(out).toMatchObject({ configFile: null, defaultConfigFile: path.join(dir, 'chatd', 'config.json'), envFile: null });
    const rows = out.settings;
    expect(rows.find((r) => r.env === 'PORT')).toMatchObject({ value: '4567', source: 'env' });
    expect(rows.find((r) => r.env === 'CHAT_DATA_DIR')).toMatchObject({ source: 'flag' });
    expect(rows.find((r) => r.env === 'GEMINI_API_KEY')).toMatchObject({ value: '********' });
    expect(p.lines.join('\n')).not.toContain('sekret-value');
    expect(fs.existsSync(path.join(dir, 'secrets.json'))).toBe(false);
  });

  it('chatd config prints an invalid configuration too: every setting, each problem beside its own, misspelt names warned of, exit 2', async () => {
    const dir = tmpDir();
    const p = spawnProc(CHATD_BIN, ['config', '--data-dir', dir], { PORT: 'eighty', CHAT_MAX_SESSOINS: '3', CHAT_MAX_SESSIONS: '9', XDG_CONFIG_HOME: dir });
    expect(await p.exited).toBe(2);
    const text = p.lines.join('\n');
    console.log(text.split('\n').filter((l) => /✗|!|PORT|CHAT_MAX_SESSIONS|chatd:/.test(l)).join('\n'));
    expect(text).toMatch(/^PORT +\(unset\) +\(env\) +✗ .*number/m);
    expect(text).toMatch(/^CHAT_MAX_SESSIONS +9 +\(env\)$/m);
    expect(text).toMatch(/^! CHAT_MAX_SESSOINS is not a setting and is ignored \(did you mean CHAT_MAX_SESSIONS\?\)$/m);
    expect(text).toMatch(/^chatd: invalid configuration: PORT: /m);
    // chatd start refuses the same configuration, and says why.
    const start = spawnProc(CHATD_BIN, ['start', '--data-dir', dir], { PORT: 'eighty', XDG_CONFIG_HOME: dir });
    expect(await start.exited).toBe(2);
    expect(start.lines.join('\n')).toMatch(/invalid configuration: PORT: /);
  });

  it('reads no .env from the directory it starts in; an env file only with --env-file; its config file from $XDG_CONFIG_HOME', async () => {
    // Started in another project's folder, whose .env says HOST=0.0.0.0 and PORT=5173 (a Vite project, say).
    const project = tmpDir();
    fs.writeFileSync(path.join(project, '.env'), 'HOST=0.0.0.0\nPORT=5173\nCHAT_MAX_MESSAGE_LENGTH=10\n');
    const xdg = tmpDir();
    const settings = async (args: string[], env: Record<string, string> = {}) => {
      const p = spawnProc(CHATD_BIN, ['config', '--json', '--data-dir', tmpDir(), ...args], { XDG_CONFIG_HOME: xdg, ...env }, { cwd: project });
      const code = await p.exited;
      return { code, text: p.lines.join('\n') };
    };
    const plain = await settings([]);
    expect(plain.code).toBe(0);
    const rows = (JSON.parse(plain.text) as { settings: { env: string; value: string; source: string }[] }).settings;
    const row = (env: string, r = rows) => r.find((x) => x.env === env);
    console.log(`started beside a foreign .env: HOST ${row('HOST')!.value} (${row('HOST')!.source}), PORT ${row('PORT')!.value} (${row('PORT')!.source})`);
    expect(row('HOST')).toMatchObject({ value: '127.0.0.1', source: 'default' });
    expect(row('PORT')).toMatchObject({ value: '3000', source: 'default' });

    // Named, it is read, and the environment still wins over it.
    const named = await settings(['--env-file', path.join(project, '.env')], { PORT: '4000' });
    expect(named.code).toBe(0);
    const nrows = (JSON.parse(named.text) as { envFile: string; settings: { env: string; value: string; source: string }[] });
    expect(nrows.envFile).toBe(path.join(project, '.env'));
    // Node itself (20 and 24 alike) checks that a file given as --env-file exists, even after the
    // script's name, and stops with exit 9 before chatd runs when it does not (it loads nothing
    // from it there). Either way a missing env file is a clear error and a non-zero exit.
    expect(row('HOST', nrows.settings)).toMatchObject({ value: '0.0.0.0', source: 'env file' });
    expect(row('PORT', nrows.settings)).toMatchObject({ value: '4000', source: 'env' });
    const missing = await settings(['--env-file', path.join(project, 'nope.env')]);
    console.log(`--env-file naming a missing file: exit ${missing.code}: ${missing.text.trim()}`);
    if (missing.code === 9) expect(missing.text).toMatch(/: .*nope\.env: not found/);
    else {
      expect(missing.code).toBe(2);
      expect(missing.text).toMatch(/--env-file: cannot read .*nope\.env: ENOENT/);
    }

    // The default config file: $XDG_CONFIG_HOME/chatd/config.json, shown by chatd config.
    fs.mkdirSync(path.join(xdg, 'chatd'), { recursive: true });
    fs.writeFileSync(path.join(xdg, 'chatd', 'config.json'), JSON.stringify({ port: 4321 }));
    const fromXdg = await settings([]);
    const xrows = JSON.parse(fromXdg.text) as { configFile: string; settings: { env: string; value: string; source: string }[] };
    expect(xrows.configFile).toBe(path.join(xdg, 'chatd', 'config.json'));
    expect(row('PORT', xrows.settings)).toMatchObject({ value: '4321', source: 'file' });
    const human = spawnProc(CHATD_BIN, ['config', '--data-dir', tmpDir()], { XDG_CONFIG_HOME: xdg }, { cwd: project });
    expect(await human.exited).toBe(0);
    expect(human.lines[0]).toBe(`# config file: ${path.join(xdg, 'chatd', 'config.json')}`);
    expect(human.lines[1]).toBe('# env file: none (only with --env-file)');
  });

  it('logs never contain passwords or tokens', async () => {
    const d = await spawnChatd(tmpDir(), { LOG_LEVEL: 'trace' });
    const u = await registerUser(d.url, 'logcheck', 'very secret password');
    await u.api.whoami();
    await new ApiClient(d.url).refresh(u.auth.refreshToken);
    await fetch(new URL('/v1/me', d.url), { headers: { authorization: 'Bearer garbage-token-value' } });
    // A socket carries its handshake's x-request-id into the log lines about it (debug level here).
    const s = await openSocket(d.url, u.auth.accessToken, { extraHeaders: { 'x-request-id': 'sock-req-7' } });
    expect((await emit(s, 'message:sync', { cursors: {} })).ok).toBe(true);
    expect((await emit(s, 'message:send', { to: 'nobody', text: 'x' })).ok).toBe(false);
    s.close();
    await sleep(200);
    d.child.kill('SIGTERM');
    await d.exited;
    const log = d.lines.join('\n');
    expect(log).toContain('chatd listening');
    // One line per request, with its id, the route pattern, the status, the time and the user id.
    const requests = d.lines.filter((l) => l.includes('"msg":"request"')).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(requests.find((r) => r.route === '/v1/me' && r.status === 200)).toMatchObject({ method: 'GET', userId: u.auth.user.id, reqId: expect.stringMatching(/^[0-9a-f-]{36}$/), ms: expect.any(Number) });
    expect(requests.find((r) => r.route === '/v1/me' && r.status === 401)).not.toHaveProperty('userId');
    const socketLines = d.lines.filter((l) => l.includes('"reqId":"sock-req-7"')).map((l) => JSON.parse(l) as Record<string, unknown>);
    console.log(`socket log lines with the handshake's request id: ${socketLines.map((l) => `${l.msg}${l.event ? ` ${l.event} ${l.code}` : ''}`).join('; ')}`);
    expect(socketLines.map((l) => l.msg)).toEqual(['socket connected', 'socket event', 'socket event', 'socket disconnected']);
    expect(socketLines[1]).toMatchObject({ event: 'message:sync', code: 'ok', userId: u.auth.user.id, ms: expect.any(Number) });
    expect(socketLines[2]).toMatchObject({ event: 'message:send', code: expect.stringMatching(/^CHAT_ERR_/) });
    for (const secret of ['very secret password', u.auth.accessToken, u.auth.refreshToken.split('.')[1]!, 'garbage-token-value']) expect(log).not.toContain(secret);
  });
});
