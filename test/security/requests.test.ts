/**
 * Issue 25, items 8, 9, 10, 13 and 15: what a REST request or a handshake could still do.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSocket, registerUser, startDaemon, uniqueName, type TestDaemon } from '../support/daemon.js';

/**
 * Writes a request's head and only `sent` bytes of a body that claims `length`, then waits up to
 * `waitMs` for an answer. Returns the status line, or 'no answer' when the server waits for the rest.
 */
function partialPost(url: string, route: string, length: number, sent: number, headers: Record<string, string> = {}, waitMs = 2000): Promise<string> {
  const { port } = new URL(url);
  return new Promise((resolve) => {
    const sock = net.connect(Number(port), '127.0.0.1');
    let got = '';
    const done = (r: string) => { clearTimeout(t); sock.destroy(); resolve(r); };
    const t = setTimeout(() => done('no answer'), waitMs);
    sock.on('data', (c: Buffer) => {
      got += c.toString();
      if (got.includes('\r\n')) done(got.split('\r\n')[0]!);
    });
    sock.on('error', () => done(got.split('\r\n')[0] || 'connection error'));
    const head = Object.entries({ host: `127.0.0.1:${port}`, 'content-type': 'application/json', 'content-length': String(length), ...headers }).map(([k, v]) => `${k}: ${v}`).join('\r\n');
    sock.write(`POST ${route} HTTP/1.1\r\n${head}\r\n\r\n`);
    sock.write(`{"ids":["${'i'.repeat(Math.max(0, sent - 9))}`);
  });
}

describe('25.8 bodies are read only after authentication, and only as large as the schema needs', () => {
  let d: TestDaemon;
  beforeAll(async () => { d = await startDaemon(); });
  afterAll(async () => { await d.close(); });

  it('an unauthenticated 600 KB body to an admin route is answered 401 before it is sent', async () => {
    const root = await registerUser(d.url, uniqueName('root'));
    const user = await registerUser(d.url);
    const anonymous = await partialPost(d.url, '/v1/admin/failed/replay', 600_000, 1024);
    const notAdmin = await partialPost(d.url, '/v1/admin/failed/replay', 600_000, 1024, { authorization: `Bearer ${user.auth.accessToken}` });
    const bogus = await partialPost(d.url, '/v1/friends/someone', 60_000, 1024, { authorization: 'Bearer nope' });
    console.log(`600 KB claimed, 1 KB sent: anonymous -> ${anonymous}; a non-admin -> ${notAdmin}; a bad token on /v1/friends -> ${bogus}`);
    expect(anonymous).toBe('HTTP/1.1 401 Unauthorized');
    expect(notAdmin).toBe('HTTP/1.1 403 Forbidden');
    expect(bogus).toBe('HTTP/1.1 401 Unauthorized');
    expect(root.name).toBeTruthy();
  });

  it('each route takes a body up to what its schema needs: 40 KB is too large for anything but a message', async () => {
    const u = await registerUser(d.url);
    const post = (route: string, body: unknown) => fetch(new URL(route, d.url), { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${u.auth.accessToken}` }, body: JSON.stringify(body) });
    const pad = 'x'.repeat(40_000);
    const routes = { '/v1/groups': { handle: 'abc', topic: pad }, '/v1/tokens': { name: 'n', password: pad }, '/v1/me/password': { currentPassword: pad, newPassword: 'y' } };
    const got: Record<string, number> = {};
    for (const [route, body] of Object.entries(routes)) got[route] = (await post(route, body)).status;
    // A message of 4000 characters (emoji, each a surrogate pair written as two \uXXXX escapes: 48 KB) is legal and must pass.
    const escaped = `{"to":"${u.name}","text":"${'\\ud83d\\ude00'.repeat(4000)}"}`;
    const msg = await fetch(new URL('/v1/messages', d.url), { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${u.auth.accessToken}` }, body: escaped });
    const msgBody = (await msg.json()) as { error?: { code: string } };
    console.log('40 KB bodies ->', got, `; a 4000-character message escaped (${escaped.length} bytes) -> ${msg.status} ${msgBody.error?.code ?? ''}`);
    for (const status of Object.values(got)) expect(status).toBe(413);
    // Reaches the service (which refuses a message to oneself): the body was read and parsed.
    expect(msgBody.error?.code).toBe('CHAT_ERR_MESSAGE_SELF');
  });
});

describe('25.9 a client that closes early writes no error lines', () => {
  it('a request body aborted mid-way is logged at debug, without a stack', async () => {
    const lines: { level: number; msg: string; err?: { stack?: string } }[] = [];
    const d = await startDaemon({ LOG_LEVEL: 'debug' }, undefined, { write: (l: string) => { lines.push(JSON.parse(l)); } });
    try {
      for (let i = 0; i < 5; i++) {
        const r = await partialPost(d.url, '/v1/auth/login', 10_000, 100, {}, 100);
        expect(r).toBe('no answer');
      }
      await new Promise((r) => setTimeout(r, 300));
      const errors = lines.filter((l) => l.level >= 40);
      const aborted = lines.filter((l) => /closed the request/.test(l.msg));
      console.log(`5 bodies aborted mid-way: lines at warn or above: ${errors.length}; at debug: ${aborted.map((l) => `${l.level} "${l.msg}"`).join(', ')}`);
      expect(errors).toEqual([]);
      expect(aborted.length).toBe(5);
      for (const l of aborted) {
        expect(l.level).toBe(20);
        expect(JSON.stringify(l)).not.toMatch(/stack|at [A-Za-z]+ \(/);
      }
    } finally {
      await d.close();
    }
  });
});

describe('25.10 a token in any query parameter is refused', () => {
  let d: TestDaemon;
  beforeAll(async () => { d = await startDaemon(); });
  afterAll(async () => { await d.close(); });

  it('REST and the handshake refuse JWTs, API tokens and refresh tokens under any key', async () => {
    const u = await registerUser(d.url);
    const apiToken = (await u.api.createToken('bot', 'correct horse battery')).token;
    const tries: Record<string, string> = {
      'jwt=<access JWT>': `jwt=${u.auth.accessToken}`,
      'q=Bearer <access JWT>': `q=${encodeURIComponent(`Bearer ${u.auth.accessToken}`)}`,
      'key=<API token>': `key=${apiToken}`,
      'r=<refresh token>': `r=${u.auth.refreshToken}`,
      'x[]=<JWT>': `x[]=a&x[]=${u.auth.accessToken}`,
      '<JWT>=1': `${u.auth.accessToken}=1`,
    };
    const rest: Record<string, string> = {};
    for (const [what, q] of Object.entries(tries)) {
      const res = await fetch(new URL(`/v1/me?${q}`, d.url), { headers: { authorization: `Bearer ${u.auth.accessToken}` } });
      rest[what] = `${res.status} ${((await res.json()) as { error?: { code: string } }).error?.code ?? 'ok'}`;
    }
    const socket = await openSocket(d.url, u.auth.accessToken, { query: { jwt: u.auth.accessToken } }).then((s) => { s.close(); return 'connected'; }, (e: Error & { data?: { code?: string } }) => e.data?.code ?? e.message);
    const plain = await fetch(new URL('/v1/me?limit=5&name=eyJhbGciOi', d.url), { headers: { authorization: `Bearer ${u.auth.accessToken}` } });
    console.log('tokens in the query ->', rest, '; socket with ?jwt= beside auth.token ->', socket, '; a plain query ->', plain.status);
    for (const answer of Object.values(rest)) expect(answer).toBe('400 CHAT_ERR_TOKEN_IN_QUERY');
    expect(socket).toBe('CHAT_ERR_TOKEN_IN_QUERY');
    expect(plain.status).toBe(200);
  });
});

describe('25.13 every authenticated route spends from one request budget', () => {
  it('1,500 cheap GETs from one user: the default budget (600 a minute) answers the rest 429, and nobody else is refused', async () => {
    const d = await startDaemon({ CHAT_REQUEST_RATE_LIMIT: '600' });
    try {
      const u = await registerUser(d.url);
      const other = await registerUser(d.url);
      const routes = ['/v1/me', '/v1/friends', '/v1/tokens', '/v1/friends/requests'];
      const codes = new Map<number, number>();
      const t0 = performance.now();
      await Promise.all(Array.from({ length: 10 }, async (_, w) => {
        for (let i = w; i < 1500; i += 10) {
          const res = await fetch(new URL(routes[i % routes.length]!, d.url), { headers: { authorization: `Bearer ${u.auth.accessToken}` } });
          await res.arrayBuffer();
          codes.set(res.status, (codes.get(res.status) ?? 0) + 1);
        }
      }));
      const ms = performance.now() - t0;
      const bystander = await other.api.whoami().then(() => 'ok', (e: { code?: string }) => e.code);
      console.log(`1500 GETs in ${ms.toFixed(0)} ms ->`, Object.fromEntries(codes), `; another user from the same address -> ${bystander}`);
      // The bucket holds 600 and refills 10 a second while the loop runs.
      expect(codes.get(200) ?? 0).toBeLessThanOrEqual(600 + Math.ceil(ms / 100) + 1);
      expect(codes.get(200) ?? 0).toBeGreaterThanOrEqual(600);
      expect(codes.get(429) ?? 0).toBeGreaterThan(0);
      expect([...codes.keys()].sort()).toEqual([200, 429]);
      expect(bystander).toBe('ok');
    } finally {
      await d.close();
    }
  }, 60_000);
});

describe('25.15 a same-origin client (python-socketio sends Origin) is let in; foreign Origins are not', () => {
  let d: TestDaemon;
  beforeAll(async () => { d = await startDaemon(); });
  afterAll(async () => { await d.close(); });

  it('Origin equal to the URL the client reached passes on REST and the handshake; another host is refused', async () => {
    const u = await registerUser(d.url);
    const { host } = new URL(d.url);
    const rest = async (origin: string) => (await fetch(new URL('/v1/me', d.url), { headers: { authorization: `Bearer ${u.auth.accessToken}`, origin } })).status;
    const ws = (origin: string) => openSocket(d.url, u.auth.accessToken, { extraHeaders: { origin } }).then((s) => { s.close(); return 'connected'; }, (e: Error & { description?: unknown }) => `refused: ${e.message}`);
    const same = { rest: await rest(`http://${host}`), socket: await ws(`http://${host}`) };
    const foreign = { rest: await rest('http://evil.example'), socket: await ws('http://evil.example'), port: await rest(`http://127.0.0.1:1`) };
    console.log('Origin of the server itself ->', same, '; foreign ->', foreign);
    expect(same).toEqual({ rest: 200, socket: 'connected' });
    expect(foreign.rest).toBe(403);
    expect(foreign.port).toBe(403);
    expect(foreign.socket).toMatch(/^refused/);
  });
});
