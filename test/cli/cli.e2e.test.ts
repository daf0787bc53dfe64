import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Message } from '../../src/protocol/index.js';
import { closedPort, tmpDir, waitFor } from '../support/daemon.js';
import { chatdForFile, runChat, spawnProc, CHAT_BIN, type Proc } from '../support/procs.js';

const file = chatdForFile();
const started = file.started;
const user = file.user;

async function friendsPair(a: ReturnType<typeof user>, b: ReturnType<typeof user>) {
  expect((await a.run(['register', a.name, '--password-stdin'], 'password-a\n')).code).toBe(0);
  expect((await b.run(['register', b.name, '--password-stdin'], 'password-b\n')).code).toBe(0);
  expect((await a.run(['friends', 'add', b.name])).code).toBe(0);
  expect((await b.run(['friends', 'accept', a.name])).code).toBe(0);
}

describe('chat CLI end to end', () => {
  it('registers, befriends, sends, reads history, and stores credentials privately', async () => {
    const a = user('cli_alice');
    const b = user('cli_bob');
    expect((await a.run(['register', a.name, '--password-stdin'], 'password-a\n')).code).toBe(0);
    expect((await b.run(['register', b.name, '--password-stdin'], 'password-b\n')).code).toBe(0);
    expect((await a.run(['friends', 'add', b.name])).code).toBe(0);
    // A request waiting for me shows under my (empty) list, with what accepts it.
    expect((await b.run(['friends', 'list'])).stdout).toBe('no friends yet\nrequests from cli_alice: chat friends accept <user>\n');
    expect((await b.run(['friends', 'accept', a.name])).code).toBe(0);
    expect((await b.run(['friends', 'list'])).stdout).toBe('○ cli_alice (offline)\n');
    expect(await a.json(['whoami'])).toMatchObject({ username: 'cli_alice' });
    expect(await a.json(['friends', 'list'])).toEqual([{ username: 'cli_bob', online: false }]);
    expect(await b.json(['friends', 'requests'])).toEqual({ incoming: [], outgoing: [] });
    const sent = await a.json<Message>(['send', 'cli_bob', 'hello', 'there']);
    expect(sent).toMatchObject({ from: 'cli_alice', to: 'cli_bob', text: 'hello there', seq: 1 });
    const piped = await a.run(['send', 'cli_bob', '--json'], 'from a pipe\n');
    expect(JSON.parse(piped.stdout).text).toBe('from a pipe');
    const hist = await b.json<Message[]>(['history', 'cli_alice']);
    expect(hist.map((m) => m.text)).toEqual(['hello there', 'from a pipe']);
    expect((await b.json<Message[]>(['history', 'cli_alice', '--limit', '1', '--before-seq', '2'])).map((m) => m.seq)).toEqual([1]);
    const human = await b.run(['history', 'cli_alice']);
    expect(human.stdout).toMatch(/#1 cli_alice → cli_bob: hello there/);
    const dir = a.env.CHAT_CONFIG_DIR;
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    expect(fs.statSync(path.join(dir, 'credentials.json')).mode & 0o777).toBe(0o600);
  });

  it('prompts for the password without echo on a terminal', async () => {
    const cfg = path.join(tmpDir('chat-cli-'), 'cfg');
    // script(1) gives the CLI a real pseudo-terminal; the password is typed into it.
    const { spawn } = await import('node:child_process');
    const child = spawn('script', ['-qfec', `${process.execPath} ${CHAT_BIN} --server ${file.chatd.url} register cli_tty`, '/dev/null'], { env: { ...process.env, CHAT_CONFIG_DIR: cfg }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
    await waitFor(() => out.includes('Choose a password'));
    child.stdin.write('tty-secret-pw\r');
    await waitFor(() => out.includes('Repeat'));
    child.stdin.write('tty-secret-pw\r');
    const code = await new Promise<number | null>((r) => child.on('close', r));
    expect(out).toContain('registered and logged in as cli_tty'); // script(1) merges stderr into the terminal
    expect(out).not.toContain('tty-secret-pw');
    expect(code).toBe(0);
  });

  it('exits 2 on usage errors, 4 on auth errors, 1 on other errors', async () => {
    const a = user('cli_carol');
    const nobody = user('cli_nobody');
    expect((await a.run(['register', 'Bad Name', '--password-stdin'], 'password-x\n')).code).toBe(2);
    expect((await a.run(['frobnicate'])).code).toBe(2);
    expect((await a.run(['history', 'bob', '--limit', 'lots'])).code).toBe(2);
    expect((await a.run(['register', 'cli_carol'])).code).toBe(2); // stdin is not a TTY and no --password-stdin
    const notLoggedIn = await nobody.run(['whoami']);
    expect(notLoggedIn.code).toBe(4);
    expect(notLoggedIn.stderr).toMatch(/chat login/);
    expect((await a.run(['register', 'cli_carol', '--password-stdin'], 'password-c\n')).code).toBe(0);
    const wrong = await a.run(['login', 'cli_carol', '--password-stdin'], 'wrong-password\n');
    expect(wrong.code).toBe(4);
    expect(wrong.stderr).toMatch(/CHAT_ERR_INVALID_CREDENTIALS/);
    const stranger = await a.run(['send', 'cli_alice', 'hi']);
    expect(stranger.code).toBe(1);
    expect(stranger.stderr).toMatch(/CHAT_ERR_NOT_FRIENDS/);
    // Bad arguments are 2 everywhere, and each names the setting it came from.
    const badServer = await a.run(['--server', 'not-a-url', 'whoami']);
    expect(badServer.code).toBe(2);
    expect(badServer.stderr).toMatch(/--server must be an http\(s\) URL/);
    const emptyEnv = await runChat(['whoami'], { env: { ...a.env, CHAT_SERVER: '' } });
    expect(emptyEnv.code).toBe(2);
    expect(emptyEnv.stderr).toMatch(/CHAT_SERVER is empty/);
    expect((await user('cli_short').run(['register', 'cli_short', '--password-stdin'], 'short\n')).code).toBe(2);
    expect((await a.run(['send', 'cli_carol', 'me'])).stderr).toMatch(/CHAT_ERR_MESSAGE_SELF: You cannot message yourself/);
    expect((await user('cli_sys').run(['register', 'system', '--password-stdin'], 'long-enough\n')).stderr).toMatch(/CHAT_ERR_USERNAME_RESERVED/);
    const revoked = await runChat(['whoami'], { env: { ...a.env, CHAT_TOKEN: 'chat_nope.nope' } });
    expect(revoked.code).toBe(4);
    expect(revoked.stderr).toMatch(/CHAT_TOKEN/);
    expect(revoked.stderr).not.toMatch(/chat login/);
    // Outcomes for people go to stderr; stdout carries data only.
    const added = await a.run(['friends', 'add', 'cli_alice']);
    expect(added.stdout).toBe('');
    expect(added.stderr).toMatch(/friend request sent to cli_alice/);
    const unreachable = await runChat(['whoami'], { env: { ...a.env, CHAT_SERVER: 'http://127.0.0.1:1' } });
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(/CHAT_ERR_UNAVAILABLE/);
  });

  it('chat infra says clearly when Docker is not available', async () => {
    const r = await runChat(['infra', 'status'], { env: { CHAT_CONFIG_DIR: tmpDir(), PATH: '/nonexistent' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Docker is not available: the docker command is not installed/);
  });

  it('an idempotent resend stores one message', async () => {
    const a = user('cli_dan');
    const b = user('cli_eve');
    await friendsPair(a, b);
    const first = await a.json<Message>(['send', 'cli_eve', 'only once', '--idempotency-key', 'order-42']);
    const again = await a.json<Message>(['send', 'cli_eve', 'only once', '--idempotency-key', 'order-42']);
    expect(again).toEqual(first);
    expect(await b.json<Message[]>(['history', 'cli_dan'])).toHaveLength(1);
  });

  it('two listeners receive each other\'s messages live as JSON lines', async () => {
    const a = user('cli_fay');
    const b = user('cli_gus');
    await friendsPair(a, b);
    const la = spawnProc(CHAT_BIN, ['listen', '--json'], a.env);
    const lb = spawnProc(CHAT_BIN, ['listen', '--json'], b.env);
    started.push(la, lb);
    await la.waitLine(/connected/);
    await lb.waitLine(/connected/);
    for (let i = 0; i < 3; i++) {
      expect((await a.run(['send', 'cli_gus', `ping ${i}`])).code).toBe(0);
      expect((await b.run(['send', 'cli_fay', `pong ${i}`])).code).toBe(0);
    }
    const parse = (p: Proc) => p.lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Message);
    await waitFor(() => parse(la).length >= 6 && parse(lb).length >= 6);
    for (const p of [la, lb]) expect(parse(p).map((m) => m.text)).toEqual(['ping 0', 'pong 0', 'ping 1', 'pong 1', 'ping 2', 'pong 2']);
    la.child.kill('SIGINT');
    lb.child.kill('SIGINT');
    expect(await la.exited).toBe(0);
    expect(await lb.exited).toBe(0);
  });

  it('listen --json --events prints every event type', async () => {
    const a = user('cli_evt_a');
    const b = user('cli_evt_b');
    await friendsPair(a, b);
    const lb = spawnProc(CHAT_BIN, ['listen', '--json', '--events'], b.env);
    started.push(lb);
    await lb.waitLine(/connected/);
    // a comes online (presence), types (typing), sends (message), and b's receipt goes back to a.
    const aliceSocket = await (await import('../support/daemon.js')).openSocket(file.chatd.url, JSON.parse((await import('node:fs')).readFileSync(path.join(a.env.CHAT_CONFIG_DIR, 'credentials.json'), 'utf8')).accessToken);
    aliceSocket.emit('typing:update', { to: 'cli_evt_b', typing: true });
    expect((await a.run(['send', 'cli_evt_b', 'with events'])).code).toBe(0);
    const events = () => lb.lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { event: string; data: { text?: string } });
    await waitFor(() => ['presence:update', 'typing:update', 'message:new'].every((e) => events().some((x) => x.event === e)));
    expect(events().find((e) => e.event === 'message:new')?.data.text).toBe('with events');
    // A friend request reaches an open listener live.
    const c = user('cli_evt_c');
    expect((await c.run(['register', 'cli_evt_c', '--password-stdin'], 'password-c\n')).code).toBe(0);
    expect((await c.run(['friends', 'add', 'cli_evt_b'])).code).toBe(0);
    await waitFor(() => events().some((x) => x.event === 'friend:update'));
    expect(events().find((x) => x.event === 'friend:update')?.data).toEqual({ username: 'cli_evt_c', status: 'incoming' });
    aliceSocket.close();
    lb.child.kill('SIGINT');
    expect(await lb.exited).toBe(0);
  });

  it('refreshes an expired access token transparently, and exits 4 with "run chat login" when refresh fails', async () => {
    const a = user('cli_hal');
    expect((await a.run(['register', 'cli_hal', '--password-stdin'], 'password-h\n')).code).toBe(0);
    const file = path.join(a.env.CHAT_CONFIG_DIR, 'credentials.json');
    const creds = JSON.parse(fs.readFileSync(file, 'utf8'));
    fs.writeFileSync(file, JSON.stringify({ ...creds, accessExpiresAt: Date.now() - 1000 }));
    expect((await a.json<{ username: string }>(['whoami'])).username).toBe('cli_hal');
    const rotated = JSON.parse(fs.readFileSync(file, 'utf8'));
    expect(rotated.refreshToken).not.toBe(creds.refreshToken);
    expect(rotated.accessToken).not.toBe(creds.accessToken);
    fs.writeFileSync(file, JSON.stringify({ ...rotated, accessExpiresAt: Date.now() - 1000, refreshToken: 'bogus.token' }));
    const r = await a.run(['whoami']);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/run "chat login"/);
  });

  it('six chat processes with an expired token refresh once, under a lock in $XDG_RUNTIME_DIR; a stale lock left by a killed process is taken over', async () => {
    const a = user('cli_hop');
    expect((await a.run(['register', 'cli_hop', '--password-stdin'], 'password-h\n')).code).toBe(0);
    const runtime = tmpDir();
    const env = { ...a.env, XDG_RUNTIME_DIR: runtime };
    const file = path.join(a.env.CHAT_CONFIG_DIR, 'credentials.json');
    const expire = () => fs.writeFileSync(file, JSON.stringify({ ...JSON.parse(fs.readFileSync(file, 'utf8')), accessExpiresAt: Date.now() - 1000 }));
    expire();
    const before = JSON.parse(fs.readFileSync(file, 'utf8')).refreshToken as string;
    const runs = await Promise.all(Array.from({ length: 6 }, () => runChat(['whoami', '--json'], { env })));
    const after = JSON.parse(fs.readFileSync(file, 'utf8')).refreshToken as string;
    // A second refresh with the same token would be reuse, which revokes the session: it still works.
    const later = await runChat(['whoami'], { env });
    const locks = fs.readdirSync(path.join(runtime, 'chat'));
    console.log(`6 concurrent whoami with an expired token: exits ${runs.map((r) => r.code).join(',')}; refresh token rotated: ${after !== before}; later whoami: ${later.code}; left in the runtime dir: ${locks.join(',') || 'nothing'}`);
    expect(runs.map((r) => r.code)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(after).not.toBe(before);
    expect(later.code).toBe(0);
    expect(locks).toEqual([]);
    // A lock whose holder died (its mtime no longer refreshed) is taken over after it goes stale.
    expire();
    const { refreshLockPath } = await import('../../src/client/session.js');
    const lock = refreshLockPath(env, path.resolve(a.env.CHAT_CONFIG_DIR));
    fs.mkdirSync(lock);
    const old = new Date(Date.now() - 60_000);
    fs.utimesSync(lock, old, old);
    expect((await runChat(['whoami'], { env })).code).toBe(0);
    expect(fs.existsSync(lock)).toBe(false);
  });

  it('API tokens: create, use through CHAT_TOKEN, list, revoke', async () => {
    const a = user('cli_ivy');
    expect((await a.run(['register', 'cli_ivy', '--password-stdin'], 'password-i\n')).code).toBe(0);
    const created = await a.run(['token', 'create', 'ci-bot', '--password-stdin', '--json'], 'password-i\n');
    expect(created.code).toBe(0);
    const t = JSON.parse(created.stdout) as { id: string; name: string; token: string };
    expect((await a.run(['token', 'create', 'evil', '--password-stdin'], 'wrong-password\n')).code).toBe(4);
    const bot = await runChat(['whoami', '--json'], { env: { CHAT_SERVER: file.chatd.url, CHAT_TOKEN: t.token, CHAT_CONFIG_DIR: tmpDir() } });
    expect(JSON.parse(bot.stdout).username).toBe('cli_ivy');
    expect((await a.json<{ id: string }[]>(['token', 'list'])).map((x) => x.id)).toEqual([t.id]);
    expect((await a.run(['token', 'revoke', t.id])).code).toBe(0);
    const after = await runChat(['whoami'], { env: { CHAT_SERVER: file.chatd.url, CHAT_TOKEN: t.token, CHAT_CONFIG_DIR: tmpDir() } });
    expect(after.code).toBe(4);
    // passwd ends the API tokens and says so; --keep-tokens keeps them.
    const t2 = JSON.parse((await a.run(['token', 'create', 'second', '--password-stdin', '--json'], 'password-i\n')).stdout) as { token: string };
    const pw = await a.run(['passwd', '--password-stdin'], 'password-i\npassword-i2\n');
    expect(pw.code).toBe(0);
    expect(pw.stdout + pw.stderr).toMatch(/0 other sessions signed out, 1 API token revoked/);
    expect((await runChat(['whoami'], { env: { CHAT_SERVER: file.chatd.url, CHAT_TOKEN: t2.token, CHAT_CONFIG_DIR: tmpDir() } })).code).toBe(4);
    const t3 = JSON.parse((await a.run(['token', 'create', 'third', '--password-stdin', '--json'], 'password-i2\n')).stdout) as { token: string };
    const kept = await a.run(['passwd', '--password-stdin', '--keep-tokens'], 'password-i2\npassword-i3\n');
    expect(kept.stdout + kept.stderr).toMatch(/your API tokens were kept/);
    expect((await runChat(['whoami'], { env: { CHAT_SERVER: file.chatd.url, CHAT_TOKEN: t3.token, CHAT_CONFIG_DIR: tmpDir() } })).code).toBe(0);
  });

  it('terminal escape sequences in messages are printed inert in human output and escaped in JSON', async () => {
    const a = user('cli_jay');
    const b = user('cli_kim');
    await friendsPair(a, b);
    expect((await a.run(['send', 'cli_kim', '-'], 'evil \u001b]52;c;ZXZpbA==\u0007 \u009b2J \u001b[31mred\n')).code).toBe(0);
    const human = await b.run(['history', 'cli_jay']);
    expect(human.stdout).not.toMatch(/[\u001b\u0007\u009b]/);
    expect(human.stdout).toContain('^[]52;c;ZXZpbA==^G');
    const json = await b.run(['history', 'cli_jay', '--json']);
    expect(json.stdout).not.toMatch(/[\u001b\u0007\u009b]/);
    expect(JSON.parse(json.stdout)[0].text).toContain('\u001b]52;');
  });

  it('admin commands need an admin and work with --json', async () => {
    const outsider = user('cli_lou');
    expect((await outsider.run(['register', 'cli_lou', '--password-stdin'], 'password-l\n')).code).toBe(0);
    const r = await outsider.run(['admin', 'users', 'list']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/CHAT_ERR_ADMIN_REQUIRED/);
    // The first account on this server (cli_alice) is admin.
    const admin = { ...user('cli_alice') };
    expect((await admin.run(['login', 'cli_alice', '--password-stdin'], 'password-a\n')).code).toBe(0);
    const list = await admin.json<{ username: string; admin: boolean }[]>(['admin', 'users', 'list']);
    expect(list.find((u) => u.username === 'cli_alice')?.admin).toBe(true);
    expect((await admin.json<{ disabled: boolean }>(['admin', 'users', 'disable', 'cli_lou'])).disabled).toBe(true);
    expect((await outsider.run(['whoami'])).code).toBe(4);
    expect((await admin.json<{ disabled: boolean }>(['admin', 'users', 'enable', 'cli_lou'])).disabled).toBe(false);
    expect((await admin.run(['admin', 'users', 'reset-password', 'cli_lou'], 'brand-new-pass\n')).code).toBe(0);
    expect((await outsider.run(['login', 'cli_lou', '--password-stdin'], 'brand-new-pass\n')).code).toBe(0);
    expect((await outsider.run(['logout'])).code).toBe(0);
    expect((await outsider.run(['whoami'])).code).toBe(4);
  });
  it('fails fast with one message when chatd cannot be reached, for send as for REST commands', async () => {
    const port = await closedPort();
    const env = { CHAT_SERVER: `http://127.0.0.1:${port}`, CHAT_TOKEN: 'chat_x.y', CHAT_CONFIG_DIR: tmpDir() };
    const t0 = Date.now();
    const send = await runChat(['send', 'bob', 'hi'], { env });
    const sendMs = Date.now() - t0;
    const history = await runChat(['history', 'bob'], { env });
    console.log(`chatd down: send exit ${send.code} after ${sendMs} ms: ${send.stderr.trim()}; history exit ${history.code}: ${history.stderr.trim()}`);
    expect(send.code).toBe(1);
    expect(sendMs).toBeLessThan(10_000);
    expect(send.stderr.trim()).toBe(history.stderr.trim());
    expect(send.stderr).toMatch(/Cannot reach chatd at http:\/\/127\.0\.0\.1:\d+: connect ECONNREFUSED/);
  });

  it('a one-shot send does not flip presence; listen ends quietly on SIGINT; send on a terminal with no text says what it expects', async () => {
    const a = user('cli_pres_a');
    const b = user('cli_pres_b');
    await friendsPair(a, b);
    const listener = spawnProc(CHAT_BIN, ['listen', '--events'], b.env);
    started.push(listener);
    await listener.waitLine(/^connected/);
    expect((await a.run(['send', 'cli_pres_b', 'quietly'])).code).toBe(0);
    await listener.waitLine(/"text":"quietly"/);
    await new Promise((r) => setTimeout(r, 500));
    const presence = listener.lines.filter((l) => l.includes('presence:update'));
    console.log(`presence events at bob during alice's chat send: ${presence.length}`);
    expect(presence).toEqual([]);
    listener.child.kill('SIGINT');
    expect(await listener.exited).toBe(0);
    expect(listener.lines.filter((l) => /reconnecting|disconnected/.test(l))).toEqual([]);
    const { spawn } = await import('node:child_process');
    const child = spawn('script', ['-qfec', `${process.execPath} ${CHAT_BIN} send cli_pres_b`, '/dev/null'], { env: { ...process.env, ...a.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
    const code = await new Promise<number | null>((r) => child.on('close', r));
    console.log(`chat send with no text on a terminal -> ${code}: ${out.trim()}`);
    expect(code).toBe(2);
    expect(out).toMatch(/nothing to send/);
  });
  it('--version, inherited options in subcommand help, no --json on tui, a short answer to typos, and shell completion', async () => {
    const version = (JSON.parse(fs.readFileSync(path.resolve(import.meta.dirname, '../../package.json'), 'utf8')) as { version: string }).version;
    expect((await runChat(['--version'])).stdout.trim()).toBe(version);
    const { CHATD_BIN } = await import('../support/procs.js');
    const { execFileSync } = await import('node:child_process');
    expect(execFileSync(process.execPath, [CHATD_BIN, '--version'], { encoding: 'utf8' }).trim()).toBe(version);
    expect((await runChat(['send', '--help'])).stdout).toMatch(/--server <url>/);
    expect((await runChat(['tui', '--help'])).stdout).not.toMatch(/--json/);
    const typo = await runChat(['histroy', 'bob']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/Did you mean history\?/);
    expect(typo.stderr).not.toMatch(/Commands:/);
    const bash = (await runChat(['completion', 'bash'])).stdout;
    // As bash calls it: the line up to the cursor (COMP_WORDS too, which the script does not need).
    const complete = (words: string[]) => execFileSync('bash', ['-c', `${bash}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; COMP_LINE='${words.join(' ')}'; COMP_POINT=\${#COMP_LINE}; _chat; echo "\${COMPREPLY[*]}"`], { encoding: 'utf8' }).trim();
    console.log(`bash completion: chat fr -> ${complete(['chat', 'fr'])}; chat friends a -> ${complete(['chat', 'friends', 'a'])}; chat send --id -> ${complete(['chat', 'send', '--id'])}`);
    expect(complete(['chat', 'fr'])).toBe('friends');
    expect(complete(['chat', 'friends', 'a'])).toBe('add accept');
    expect(complete(['chat', 'send', '--id'])).toBe('--idempotency-key');
    for (const shell of ['zsh', 'fish']) {
      const script = (await runChat(['completion', shell])).stdout;
      for (const c of ['register', 'send', 'history', 'listen', 'friends', 'token', 'admin', 'tui']) expect(script).toContain(c);
    }
    expect((await runChat(['completion', 'tcsh'])).code).toBe(2);
  });
});
