import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import jwt from 'jsonwebtoken';
import { ApiClient, staticCredentials } from '../../../src/client/api.js';
import { ChatError } from '../../../src/protocol/index.js';
import { loadConfig } from '../../../src/daemon/config.js';
import { befriend, openSocket, registerUser, startDaemon, uniqueName, type TestDaemon } from '../../support/daemon.js';

let d: TestDaemon;
let secret: string;
beforeAll(async () => {
  d = await startDaemon();
  secret = d.daemon.config.jwtAccessSecret;
});
afterAll(async () => { await d.close(); });

const raw = (path: string, init: RequestInit = {}) => fetch(new URL(path, d.url), init);
const errCode = async (p: Promise<unknown>) => ((await p.then(() => { throw new Error('expected a failure'); }, (e: unknown) => e)) as ChatError).code;

describe('accounts and tokens', () => {
  it('registers, logs in, answers whoami, and refuses short passwords and bad names', async () => {
    const name = uniqueName('acc');
    const api = new ApiClient(d.url);
    const r = await api.register(name, 'longenough');
    expect(r.user.username).toBe(name);
    expect(r.expiresIn).toBeLessThanOrEqual(900);
    const claims = jwt.decode(r.accessToken, { complete: true })!;
    expect(claims.header.alg).toBe('HS256');
    expect((claims.payload as jwt.JwtPayload).exp! - (claims.payload as jwt.JwtPayload).iat!).toBeLessThanOrEqual(900);
    const l = await api.login(name, 'longenough');
    // Who I am, and the server's limits (the TUI refuses a draft longer than maxMessageLength before sending).
    expect(await new ApiClient(d.url, staticCredentials(l.accessToken)).whoami()).toEqual({ ...r.user, limits: { maxMessageLength: 4000, maxFileSize: 100 * 1024 * 1024, maxFilesPerMessage: 10 } });
    expect(await errCode(api.register(uniqueName('x'), 'short'))).toBe('CHAT_ERR_VALIDATION');
    expect(await errCode(api.register('Bad Name', 'longenough'))).toBe('CHAT_ERR_VALIDATION');
    expect(await errCode(api.register(name, 'longenough'))).toBe('CHAT_ERR_USERNAME_TAKEN');
    expect(await errCode(api.register('system', 'longenough'))).toBe('CHAT_ERR_USERNAME_RESERVED');
  });

  it('answers unknown user and wrong password identically', async () => {
    const u = await registerUser(d.url);
    const a = await raw('/v1/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: u.name, password: 'wrong password' }) });
    const b = await raw('/v1/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'nosuchuser', password: 'wrong password' }) });
    expect(a.status).toBe(401);
    expect(b.status).toBe(a.status);
    expect(await b.json()).toEqual(await a.json());
  });

  it('rejects alg:none, a wrong signature, an expired token and a wrong algorithm', async () => {
    const u = await registerUser(d.url);
    const sub = u.auth.user.id;
    const sid = (jwt.decode(u.auth.accessToken) as jwt.JwtPayload).sid;
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${Buffer.from(JSON.stringify({ sub, sid, typ: 'access', iss: 'chatd', exp: Math.floor(Date.now() / 1000) + 600 })).toString('base64url')}.`;
    const wrongSig = jwt.sign({ sid, typ: 'access' }, 'x'.repeat(40), { algorithm: 'HS256', subject: sub, issuer: 'chatd', expiresIn: 600 });
    const hs512 = jwt.sign({ sid, typ: 'access' }, secret, { algorithm: 'HS512', subject: sub, issuer: 'chatd', expiresIn: 600 });
    const expired = jwt.sign({ sid, typ: 'access', exp: Math.floor(Date.now() / 1000) - 10 }, secret, { algorithm: 'HS256', subject: sub, issuer: 'chatd' });
    const good = jwt.sign({ sid, typ: 'access' }, secret, { algorithm: 'HS256', subject: sub, issuer: 'chatd', expiresIn: 600 });
    const who = async (t: string) => {
      const res = await raw('/v1/me', { headers: { authorization: `Bearer ${t}` } });
      const body = (await res.json()) as { id?: string; error?: { code: string } };
      return res.ok ? body.id : `${res.status} ${body.error?.code}`;
    };
    expect(await who(none)).toBe('401 CHAT_ERR_TOKEN_INVALID');
    expect(await who(wrongSig)).toBe('401 CHAT_ERR_TOKEN_INVALID');
    expect(await who(hs512)).toBe('401 CHAT_ERR_TOKEN_INVALID');
    expect(await who(expired)).toBe('401 CHAT_ERR_TOKEN_EXPIRED');
    expect(await who(good)).toBe(sub);
    for (const t of [none, wrongSig, expired]) {
      const err = await openSocket(d.url, t).then(() => null, (e: Error & { data?: { code: string } }) => e);
      expect(err?.data?.code).toMatch(/^CHAT_ERR_TOKEN_(INVALID|EXPIRED)$/);
    }
  });

  it('refuses a token in the query string, on REST and on the socket handshake', async () => {
    const u = await registerUser(d.url);
    const res = await raw(`/v1/me?access_token=${u.auth.accessToken}`, { headers: { authorization: `Bearer ${u.auth.accessToken}` } });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('CHAT_ERR_TOKEN_IN_QUERY');
    const err = await openSocket(d.url, u.auth.accessToken, { query: { token: u.auth.accessToken } }).then(() => null, (e: Error & { data?: { code: string } }) => e);
    expect(err?.data?.code).toBe('CHAT_ERR_TOKEN_IN_QUERY');
    const noAuth = await openSocket(d.url, '').then(() => null, (e: Error & { data?: { code: string } }) => e);
    expect(noAuth?.data?.code).toBe('CHAT_ERR_UNAUTHENTICATED');
  });

  it('rotates refresh tokens and revokes the whole family on reuse', async () => {
    const u = await registerUser(d.url);
    const api = new ApiClient(d.url);
    const r1 = await api.refresh(u.auth.refreshToken);
    expect(r1.refreshToken).not.toBe(u.auth.refreshToken);
    const r2 = await api.refresh(r1.refreshToken);
    // The stolen (already used) first token comes back: the family dies, including the newest tokens.
    expect(await errCode(api.refresh(u.auth.refreshToken))).toBe('CHAT_ERR_REFRESH_REUSED');
    expect(await errCode(api.refresh(r2.refreshToken))).toBe('CHAT_ERR_REFRESH_INVALID');
    expect(await errCode(new ApiClient(d.url, staticCredentials(r2.accessToken)).whoami())).toBe('CHAT_ERR_SESSION_REVOKED');
    expect(await errCode(api.refresh('garbage'))).toBe('CHAT_ERR_REFRESH_INVALID');
    expect(await errCode(api.refresh(`${r2.refreshToken.split('.')[0]}.forged`))).toBe('CHAT_ERR_REFRESH_INVALID');
  });

  it('keeps devices independent: logging out one leaves the other logged in, and logout needs the owner', async () => {
    const u = await registerUser(d.url);
    const other = await registerUser(d.url);
    const laptop = await new ApiClient(d.url).login(u.name, 'correct horse battery');
    const laptopApi = new ApiClient(d.url, staticCredentials(laptop.accessToken));
    expect(await errCode(other.api.logout(laptop.refreshToken))).toBe('CHAT_ERR_REFRESH_INVALID');
    expect(await errCode(new ApiClient(d.url).request('POST', '/v1/auth/logout', { refreshToken: laptop.refreshToken }, { auth: false }))).toBe('CHAT_ERR_UNAUTHENTICATED');
    await laptopApi.logout(laptop.refreshToken);
    expect(await errCode(laptopApi.whoami())).toBe('CHAT_ERR_SESSION_REVOKED');
    expect(await errCode(new ApiClient(d.url).refresh(laptop.refreshToken))).toBe('CHAT_ERR_REFRESH_INVALID');
    expect((await u.api.whoami()).username).toBe(u.name);
  });

  it('API tokens work for REST and sockets, are listed without secrets, and stop working when revoked', async () => {
    const u = await registerUser(d.url);
    const t = await u.api.createToken('bot', 'correct horse battery');
    expect(t.token.startsWith('chat_')).toBe(true);
    const bot = new ApiClient(d.url, staticCredentials(t.token));
    expect((await bot.whoami()).username).toBe(u.name);
    const list = await u.api.listTokens();
    expect(list).toHaveLength(1);
    expect(JSON.stringify(list)).not.toContain(t.token.split('.')[1]);
    const s = await openSocket(d.url, t.token);
    const ended = new Promise<{ code: string }>((r) => s.once('session:end', r));
    await u.api.revokeToken(t.id);
    expect((await ended).code).toBe('CHAT_ERR_SESSION_REVOKED');
    expect(await errCode(bot.whoami())).toBe('CHAT_ERR_TOKEN_INVALID');
    expect(await errCode(u.api.revokeToken(t.id))).toBe('CHAT_ERR_NOT_FOUND');
    s.close();
  });

  it('passwd revokes the other sessions but keeps the current one', async () => {
    const u = await registerUser(d.url);
    const phone = await new ApiClient(d.url).login(u.name, 'correct horse battery');
    const phoneSocket = await openSocket(d.url, phone.accessToken);
    const ended = new Promise<{ code: string }>((r) => phoneSocket.once('session:end', r));
    expect(await errCode(u.api.changePassword('not the password', 'new password 1'))).toBe('CHAT_ERR_INVALID_CREDENTIALS');
    await u.api.changePassword('correct horse battery', 'new password 1');
    expect((await ended).code).toBe('CHAT_ERR_SESSION_REVOKED');
    expect(await errCode(new ApiClient(d.url, staticCredentials(phone.accessToken)).whoami())).toBe('CHAT_ERR_SESSION_REVOKED');
    expect((await u.api.whoami()).username).toBe(u.name);
    expect(await errCode(new ApiClient(d.url).login(u.name, 'correct horse battery'))).toBe('CHAT_ERR_INVALID_CREDENTIALS');
    await new ApiClient(d.url).login(u.name, 'new password 1');
    phoneSocket.close();
  });

  it('disconnects a socket when its access token expires', async () => {
    const short = await startDaemon({ CHAT_ACCESS_TOKEN_TTL: '10' });
    try {
      const u = await registerUser(short.url);
      const s = await openSocket(short.url, u.auth.accessToken);
      const t0 = Date.now();
      const end = await new Promise<{ code: string }>((r) => s.once('session:end', r));
      expect(end.code).toBe('CHAT_ERR_TOKEN_EXPIRED');
      expect(Date.now() - t0).toBeGreaterThan(5000);
      await new Promise((r) => setTimeout(r, 100));
      expect(s.connected).toBe(false);
      s.close();
    } finally {
      await short.close();
    }
  }, 30_000);
});

describe('rate limits', () => {
  it('limits login attempts per account with 429 and Retry-After', async () => {
    const limited = await startDaemon({ CHAT_AUTH_RATE_LIMIT: '3' });
    try {
      const name = uniqueName('rl');
      await new ApiClient(limited.url).register(name, 'longenough');
      const statuses: number[] = [];
      let retryAfter: string | null = null;
      for (let i = 0; i < 5; i++) {
        const res = await fetch(new URL('/v1/auth/login', limited.url), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: name, password: 'wrong-password' }) });
        statuses.push(res.status);
        if (res.status === 429) retryAfter = res.headers.get('retry-after');
      }
      // register counted once for this name and IP; 2 more attempts fit in the window of 3.
      expect(statuses).toEqual([401, 401, 429, 429, 429]);
      expect(Number(retryAfter)).toBeGreaterThan(0);
    } finally {
      await limited.close();
    }
  });
});

describe('admin', () => {
  it('the first account is admin; admins disable, enable, promote, demote and reset passwords', async () => {
    const fresh = await startDaemon();
    try {
      const root = await registerUser(fresh.url, 'root1');
      const bob = await registerUser(fresh.url, 'bob');
      expect(root.auth.user.admin).toBe(true);
      expect(bob.auth.user.admin).toBe(false);
      expect(await errCode(bob.api.adminUsers())).toBe('CHAT_ERR_ADMIN_REQUIRED');
      expect((await root.api.adminUsers()).map((u) => u.username)).toEqual(['root1', 'bob']);
      const s = await openSocket(fresh.url, bob.auth.accessToken);
      const ended = new Promise<{ code: string }>((r) => s.once('session:end', r));
      expect((await root.api.adminUser('bob', 'disable')).disabled).toBe(true);
      expect((await ended).code).toBe('CHAT_ERR_ACCOUNT_DISABLED');
      expect(await errCode(bob.api.whoami())).toBe('CHAT_ERR_ACCOUNT_DISABLED');
      expect(await errCode(new ApiClient(fresh.url).login('bob', 'correct horse battery'))).toBe('CHAT_ERR_ACCOUNT_DISABLED');
      await root.api.adminUser('bob', 'enable');
      await root.api.adminResetPassword('bob', 'brand new pass');
      const again = await new ApiClient(fresh.url).login('bob', 'brand new pass');
      expect((await root.api.adminUser('bob', 'promote')).admin).toBe(true);
      expect((await new ApiClient(fresh.url, staticCredentials(again.accessToken)).adminUsers()).length).toBe(2);
      expect((await root.api.adminUser('bob', 'demote')).admin).toBe(false);
      expect(await errCode(root.api.adminUser('root1', 'disable'))).toBe('CHAT_ERR_FORBIDDEN');
      expect(await errCode(root.api.adminUser('nobody', 'enable'))).toBe('CHAT_ERR_USER_NOT_FOUND');
      s.close();
    } finally {
      await fresh.close();
    }
  });
});

describe('secrets', () => {
  it('generates JWT secrets on first start into the data dir with mode 0600 and reuses them', async () => {
    const fs = await import('node:fs');
    const path = await import('node:path');
    const file = path.join(d.dir, 'secrets.json');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const again = loadConfig({ env: { CHAT_DATA_DIR: d.dir } });
    expect(again.config.jwtAccessSecret).toBe(secret);
    expect(again.sources.jwtAccessSecret).toBe('data dir');
  });
  it('friends are required before messaging (sanity for auth fixtures)', async () => {
    const a = await registerUser(d.url);
    const b = await registerUser(d.url);
    await befriend(a, b);
    expect((await a.api.friends()).map((f) => f.username)).toEqual([b.name]);
  });
});
