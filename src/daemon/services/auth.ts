import { loadNative } from '../native.js';
import jwt from 'jsonwebtoken';
import crypto from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import { API_TOKEN_PREFIX, ChatError, RESERVED_USERNAMES, type ApiTokenCreated, type ApiTokenView, type AuthResult, type PasswordChanged, type PublicUser } from '../../protocol/index.js';
import type { Config } from '../config.js';
import type { AccountStore, Limits, UserRecord } from '../ports/index.js';
import { rateLimited } from '../errors.js';

// Native: a build that does not load says which module and how to fix it.
const argon2 = loadNative<typeof import('argon2')>('argon2');

/** OWASP's minimum for argon2id: 19 MiB, 2 iterations, 1 lane. */
export const ARGON2_OPTIONS = { type: argon2.argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;
const ALG = 'HS256' as const;
/** Refresh rows kept per session: the newest and a few used ones, so a recent reuse is still detected. */
const REFRESH_ROWS_PER_SESSION = 10;
/** The longest a (account, address) pair waits after failures. */
const MAX_FAILURE_DELAY_MS = 15 * 60_000;

/** Failure-counter keys; the account name is lowercased so case changes count as one account. */
function failureKeys(ip: string, username: string) {
  const u = username.toLowerCase();
  return { pair: `authf:pair:${u}|${ip}`, address: `authf:ip:${ip}`, account: `authf:user:${u}` };
}
const ISSUER = 'chatd';

export interface Principal {
  user: UserRecord;
  /** Session family of a JWT, or the id of an API token. */
  sessionId: string;
  via: 'jwt' | 'api-token';
  /** Epoch ms after which this principal must not be served (JWT expiry), or null. */
  expiresAt: number | null;
}

export function publicUser(u: UserRecord): PublicUser {
  return { id: u.id, username: u.username, admin: u.admin };
}

/**
 * A change to a user's credentials. 'revoked' and 'disabled' must cut live sockets; 'changed'
 * (a promotion or demotion) only makes every node read the user again. `username` names the
 * user's sockets (usernames never change); `sessionIds` narrows to those sessions.
 */
export interface CredentialNotice { userId: string; username: string; sessionIds?: string[]; all?: boolean; reason: 'revoked' | 'disabled' | 'changed' }
export type RevocationListener = (e: CredentialNotice) => void;

/**
 * How long a handshake reuses what it read of a user and a session. Every node forgets an entry
 * as soon as a revocation or change is announced (over Redis between nodes), so this is only the
 * bound when that announcement is lost.
 */
export const CREDENTIAL_CACHE_MS = 30_000;
/** Entries kept per cache, so a flood of distinct tokens cannot grow it without bound. */
const CREDENTIAL_CACHE_MAX = 100_000;

/** A map whose entries expire; when full it starts over (the store is always the fallback). */
class ExpiringMap<V> {
  private readonly m = new Map<string, { v: V; until: number }>();
  constructor(private readonly ttlMs: number, private readonly now: () => number) {}
  get(k: string): V | undefined {
    const e = this.m.get(k);
    if (!e) return undefined;
    if (e.until > this.now()) return e.v;
    this.m.delete(k);
    return undefined;
  }
  set(k: string, v: V) {
    if (this.m.size >= CREDENTIAL_CACHE_MAX) this.m.clear();
    this.m.set(k, { v, until: this.now() + this.ttlMs });
  }
  delete(k: string) {
    this.m.delete(k);
  }
  deleteWhere(f: (v: V) => boolean) {
    for (const [k, e] of this.m) if (f(e.v)) this.m.delete(k);
  }
}

export class AuthService {
  private dummyHash?: Promise<string>;
  private readonly listeners: RevocationListener[] = [];
  private readonly touched = new Map<string, number>();
  /**
   * The access secret as a KeyObject, made once: given a string, jsonwebtoken first tries
   * (and fails) to parse it as a PEM public key on every verify, which costs each handshake.
   */
  private key?: { secret: string; key: crypto.KeyObject };
  /** Users by id, as the handshake last read them. */
  private readonly users: ExpiringMap<UserRecord>;
  /** Sessions (JWT families) and API tokens found active, with their user's id. */
  private readonly active: ExpiringMap<string>;

  constructor(private readonly store: AccountStore, private readonly limits: Limits, private readonly config: Config, private readonly now: () => number = Date.now) {
    this.users = new ExpiringMap(CREDENTIAL_CACHE_MS, now);
    this.active = new ExpiringMap(CREDENTIAL_CACHE_MS, now);
  }

  private get accessKey(): crypto.KeyObject {
    const secret = this.config.jwtAccessSecret;
    if (this.key?.secret !== secret) this.key = { secret, key: crypto.createSecretKey(Buffer.from(secret, 'utf8')) };
    return this.key.key;
  }

  onRevocation(l: RevocationListener) {
    this.listeners.push(l);
  }

  private emitRevocation(e: CredentialNotice) {
    this.forget(e);
    for (const l of this.listeners) l(e);
  }

  /** Drops what the handshake cache holds for a notice (this node's own, or another node's). */
  forget(e: CredentialNotice) {
    this.users.delete(e.userId);
    if (e.all) this.active.deleteWhere((userId) => userId === e.userId);
    for (const id of e.sessionIds ?? []) this.active.delete(id);
  }

  /** A promotion or demotion: every node reads the user again on its next request. */
  async setAdmin(user: UserRecord, admin: boolean) {
    await this.store.updateUser(user.id, { admin });
    this.emitRevocation({ userId: user.id, username: user.username, reason: 'changed' });
  }

  private async userById(id: string): Promise<UserRecord | null> {
    const cached = this.users.get(id);
    if (cached) return cached;
    const u = await this.store.getUserById(id);
    if (u) this.users.set(id, u);
    return u;
  }

  private async sessionActive(sessionId: string, userId: string): Promise<boolean> {
    if (this.active.get(sessionId) === userId) return true;
    const yes = await this.store.isSessionActive(sessionId);
    if (yes) this.active.set(sessionId, userId);
    return yes;
  }

  private hmac(secret: string) {
    return crypto.createHmac('sha256', this.config.jwtRefreshSecret).update(secret).digest('base64url');
  }

  hashPassword(password: string) {
    return argon2.hash(password, ARGON2_OPTIONS);
  }

  /** Rate limits any auth attempt (right or wrong) per client address; throws CHAT_ERR_RATE_LIMITED. */
  async limitAttempt(ip: string) {
    const r = await this.limits.rateLimit(`auth:ip:${ip}`, this.config.authRateLimit, this.config.authRateWindowSec * 1000);
    if (!r.allowed) throw rateLimited(r);
  }

  /**
   * Refuses a password attempt that comes too soon after failures. Failures are counted per
   * (account, address), per address and per account. A pair past its free failures waits 1 s,
   * then 2, 4… (up to 15 min); an address past its ceiling waits; and past the account's much
   * higher ceiling, only addresses with a failure of their own for it are refused, so guesses
   * from elsewhere never lock the owner out of a clean address.
   */
  private async guardPassword(ip: string, username: string) {
    await this.limitAttempt(ip);
    const k = failureKeys(ip, username);
    const [held, pair, address, account] = await Promise.all([this.limits.holdGet(k.pair), this.limits.countGet(k.pair), this.limits.countGet(k.address), this.limits.countGet(k.account)]);
    const window = this.config.authFailureWindowSec * 1000;
    if (held > 0) throw new ChatError('CHAT_ERR_RATE_LIMITED', 'Too many wrong passwords from this address; wait before trying again', { retryAfterMs: held });
    if (address >= this.config.authAddressFailures) throw new ChatError('CHAT_ERR_RATE_LIMITED', 'Too many wrong passwords from this address', { retryAfterMs: window });
    if (account >= this.config.authAccountFailures && pair > 0) throw new ChatError('CHAT_ERR_RATE_LIMITED', 'Too many wrong passwords for this account', { retryAfterMs: window });
  }

  private async passwordFailed(ip: string, username: string) {
    const k = failureKeys(ip, username);
    const window = this.config.authFailureWindowSec * 1000;
    const [pair] = await Promise.all([this.limits.countHit(k.pair, window), this.limits.countHit(k.address, window), this.limits.countHit(k.account, window)]);
    const over = pair - this.config.authFreeFailures;
    if (over > 0) await this.limits.holdSet(k.pair, Math.min(MAX_FAILURE_DELAY_MS, 1000 * 2 ** Math.min(20, over - 1)));
  }

  /** Verifies a password behind the failure guard; a wrong one is counted and refused. */
  private async checkPassword(ip: string, username: string, hash: string | undefined, password: string, wrong: ChatError) {
    await this.guardPassword(ip, username);
    // Verify against a dummy hash for unknown users so timing does not reveal which names exist.
    this.dummyHash ??= this.hashPassword(crypto.randomBytes(16).toString('hex'));
    const ok = await argon2.verify(hash ?? (await this.dummyHash), password).catch(() => false);
    if (!ok || hash === undefined) {
      await this.passwordFailed(ip, username);
      throw wrong;
    }
    await this.limits.countClear(failureKeys(ip, username).pair);
  }

  async register(username: string, password: string, device?: string): Promise<AuthResult> {
    if (RESERVED_USERNAMES.includes(username)) throw new ChatError('CHAT_ERR_USERNAME_RESERVED');
    if (await this.store.getUserByName(username)) throw new ChatError('CHAT_ERR_USERNAME_TAKEN');
    const passwordHash = await this.hashPassword(password);
    const user = await this.store.createUser({ id: uuidv7(), username, passwordHash, createdAt: new Date(this.now()).toISOString() });
    return this.issueSession(user, uuidv7(), device);
  }

  async login(ip: string, username: string, password: string, device?: string): Promise<AuthResult> {
    const user = await this.store.getUserByName(username);
    await this.checkPassword(ip, username, user?.passwordHash, password, new ChatError('CHAT_ERR_INVALID_CREDENTIALS'));
    if (user!.disabled) throw new ChatError('CHAT_ERR_ACCOUNT_DISABLED');
    return this.issueSession(user!, uuidv7(), device);
  }

  private async issueSession(user: UserRecord, familyId: string, device?: string): Promise<AuthResult> {
    const id = uuidv7();
    const secret = crypto.randomBytes(32).toString('base64url');
    const now = this.now();
    await this.store.insertRefreshToken({
      id, userId: user.id, familyId, tokenHash: this.hmac(secret),
      createdAt: new Date(now).toISOString(), expiresAt: new Date(now + this.config.refreshTokenTtlSec * 1000).toISOString(),
      usedAt: null, revokedAt: null, device: device ?? null,
    });
    await this.store.pruneRefreshTokens(user.id, familyId, REFRESH_ROWS_PER_SESSION, new Date(now).toISOString());
    const sessions = await this.store.activeSessions(user.id);
    if (sessions.length > this.config.maxSessions) {
      // The oldest sessions are signed out (their sockets too), so a user's sessions stay bounded.
      const oldest = sessions.filter((f) => f !== familyId).slice(0, sessions.length - this.config.maxSessions);
      for (const f of oldest) await this.store.revokeFamily(f, new Date(now).toISOString());
      this.emitRevocation({ userId: user.id, username: user.username, sessionIds: oldest, reason: 'revoked' });
    }
    const accessToken = jwt.sign({ sid: familyId, typ: 'access' }, this.accessKey, {
      algorithm: ALG, expiresIn: this.config.accessTokenTtlSec, subject: user.id, issuer: ISSUER, jwtid: uuidv7(),
    });
    return { user: publicUser(user), accessToken, expiresIn: this.config.accessTokenTtlSec, refreshToken: `${id}.${secret}` };
  }

  /** Rotates a refresh token. Presenting a token that was already used revokes its whole family. */
  async refresh(refreshToken: string): Promise<AuthResult> {
    const [id, secret] = refreshToken.split('.');
    if (!id || !secret) throw new ChatError('CHAT_ERR_REFRESH_INVALID');
    const rec = await this.store.getRefreshToken(id);
    if (!rec || !safeEqual(rec.tokenHash, this.hmac(secret))) {
      throw new ChatError('CHAT_ERR_REFRESH_INVALID');
    }
    const nowIso = new Date(this.now()).toISOString();
    if (rec.revokedAt) throw new ChatError('CHAT_ERR_REFRESH_INVALID');
    if (rec.usedAt || !(await this.store.markRefreshTokenUsed(rec.id, nowIso))) {
      await this.store.revokeFamily(rec.familyId, nowIso);
      const owner = await this.store.getUserById(rec.userId);
      if (owner) this.emitRevocation({ userId: owner.id, username: owner.username, sessionIds: [rec.familyId], reason: 'revoked' });
      throw new ChatError('CHAT_ERR_REFRESH_REUSED');
    }
    if (Date.parse(rec.expiresAt) <= this.now()) throw new ChatError('CHAT_ERR_REFRESH_INVALID');
    const user = await this.store.getUserById(rec.userId);
    if (!user) throw new ChatError('CHAT_ERR_REFRESH_INVALID');
    if (user.disabled) throw new ChatError('CHAT_ERR_ACCOUNT_DISABLED');
    return this.issueSession(user, rec.familyId, rec.device ?? undefined);
  }

  async logout(principal: Principal, refreshToken: string) {
    const [id] = refreshToken.split('.');
    const rec = id ? await this.store.getRefreshToken(id) : null;
    if (!rec || rec.userId !== principal.user.id) throw new ChatError('CHAT_ERR_REFRESH_INVALID');
    await this.store.revokeFamily(rec.familyId, new Date(this.now()).toISOString());
    this.emitRevocation({ userId: rec.userId, username: principal.user.username, sessionIds: [rec.familyId], reason: 'revoked' });
  }

  /** Resolves a bearer credential (access JWT or API token) into a principal. Throws coded 401/403 errors. */
  async authenticate(token: string | undefined): Promise<Principal> {
    if (!token) throw new ChatError('CHAT_ERR_UNAUTHENTICATED');
    if (token.startsWith(API_TOKEN_PREFIX)) return this.authenticateApiToken(token);
    let claims: jwt.JwtPayload;
    try {
      claims = jwt.verify(token, this.accessKey, { algorithms: [ALG], issuer: ISSUER, clockTimestamp: Math.floor(this.now() / 1000) }) as jwt.JwtPayload;
    } catch (err) {
      if (err instanceof jwt.TokenExpiredError) throw new ChatError('CHAT_ERR_TOKEN_EXPIRED');
      throw new ChatError('CHAT_ERR_TOKEN_INVALID');
    }
    if (claims.typ !== 'access' || typeof claims.sub !== 'string' || typeof claims.sid !== 'string' || typeof claims.exp !== 'number') throw new ChatError('CHAT_ERR_TOKEN_INVALID');
    // Both reads at once: on a networked store a handshake then waits one round trip, not two, and
    // none while both are cached.
    const [user, active] = await Promise.all([this.userById(claims.sub), this.sessionActive(claims.sid, claims.sub)]);
    if (!user) throw new ChatError('CHAT_ERR_TOKEN_INVALID');
    if (user.disabled) throw new ChatError('CHAT_ERR_ACCOUNT_DISABLED');
    if (!active) throw new ChatError('CHAT_ERR_SESSION_REVOKED');
    return { user, sessionId: claims.sid, via: 'jwt', expiresAt: claims.exp * 1000 };
  }

  private async authenticateApiToken(token: string): Promise<Principal> {
    const rest = token.slice(API_TOKEN_PREFIX.length);
    const dot = rest.indexOf('.');
    const id = dot > 0 ? rest.slice(0, dot) : '';
    const secret = dot > 0 ? rest.slice(dot + 1) : '';
    const rec = id ? await this.store.getApiToken(id) : null;
    if (!rec || rec.revokedAt || !safeEqual(rec.tokenHash, this.hmac(secret))) throw new ChatError('CHAT_ERR_TOKEN_INVALID');
    const user = await this.userById(rec.userId);
    if (!user) throw new ChatError('CHAT_ERR_TOKEN_INVALID');
    if (user.disabled) throw new ChatError('CHAT_ERR_ACCOUNT_DISABLED');
    // Record last use at most once a minute per token, to keep writes off the hot path.
    const t = this.now();
    if ((this.touched.get(id) ?? 0) + 60_000 < t) {
      this.touched.set(id, t);
      await this.store.touchApiToken(id, new Date(t).toISOString());
    }
    return { user, sessionId: id, via: 'api-token', expiresAt: null };
  }

  /**
   * Needs the current password. Ends every other session, and every API token unless `keepTokens`
   * (including the one making the call, if it is one). Returns how many were ended.
   */
  async changePassword(principal: Principal, ip: string, current: string, next: string, keepTokens = false): Promise<PasswordChanged> {
    const wrong = new ChatError('CHAT_ERR_INVALID_CREDENTIALS', 'The current password is wrong');
    await this.checkPassword(ip, principal.user.username, principal.user.passwordHash, current, wrong);
    await this.store.updateUser(principal.user.id, { passwordHash: await this.hashPassword(next) });
    const at = new Date(this.now()).toISOString();
    const keep = principal.via === 'jwt' ? principal.sessionId : undefined;
    const sessions = await this.store.revokeUserSessions(principal.user.id, at, keep);
    const tokens = keepTokens ? [] : await this.store.revokeUserApiTokens(principal.user.id, at);
    this.emitRevocation({ userId: principal.user.id, username: principal.user.username, sessionIds: [...sessions, ...tokens], reason: 'revoked' });
    return { revokedSessions: sessions.length, revokedTokens: tokens.length };
  }

  /** Ends every session and every API token of a user, and cuts all their sockets. */
  private async endEverything(user: UserRecord, reason: 'revoked' | 'disabled') {
    const at = new Date(this.now()).toISOString();
    await this.store.revokeUserSessions(user.id, at);
    await this.store.revokeUserApiTokens(user.id, at);
    this.emitRevocation({ userId: user.id, username: user.username, all: true, reason });
  }

  /** Admin reset: new password, every session and API token revoked. */
  async resetPassword(user: UserRecord, password: string) {
    await this.store.updateUser(user.id, { passwordHash: await this.hashPassword(password) });
    await this.endEverything(user, 'revoked');
  }

  /**
   * Disabling ends every credential; enabling again brings none back, but is announced like a
   * disable so that no node keeps refusing the user from the disabled record it cached.
   */
  async setDisabled(user: UserRecord, disabled: boolean) {
    await this.store.updateUser(user.id, { disabled });
    if (disabled) await this.endEverything(user, 'disabled');
    else this.emitRevocation({ userId: user.id, username: user.username, reason: 'changed' });
  }

  /** Needs the current password, so a leaked API token cannot mint more. At most CHAT_MAX_API_TOKENS live tokens. */
  async createApiToken(principal: Principal, ip: string, name: string, password: string): Promise<ApiTokenCreated> {
    await this.checkPassword(ip, principal.user.username, principal.user.passwordHash, password, new ChatError('CHAT_ERR_INVALID_CREDENTIALS', 'The password is wrong'));
    if ((await this.store.listApiTokens(principal.user.id)).length >= this.config.maxApiTokens) {
      throw new ChatError('CHAT_ERR_LIMIT_REACHED', `You have ${this.config.maxApiTokens} API tokens, the most allowed; revoke one first`);
    }
    const id = crypto.randomBytes(9).toString('base64url');
    const secret = crypto.randomBytes(32).toString('base64url');
    await this.store.insertApiToken({ id, userId: principal.user.id, name, tokenHash: this.hmac(secret), createdAt: new Date(this.now()).toISOString(), lastUsedAt: null, revokedAt: null });
    return { id, name, token: `${API_TOKEN_PREFIX}${id}.${secret}` };
  }

  async listApiTokens(principal: Principal): Promise<ApiTokenView[]> {
    return (await this.store.listApiTokens(principal.user.id)).map((t) => ({ id: t.id, name: t.name, createdAt: t.createdAt, lastUsedAt: t.lastUsedAt }));
  }

  async revokeApiToken(principal: Principal, id: string) {
    if (!(await this.store.revokeApiToken(principal.user.id, id, new Date(this.now()).toISOString()))) throw new ChatError('CHAT_ERR_NOT_FOUND', 'No such token');
    this.emitRevocation({ userId: principal.user.id, username: principal.user.username, sessionIds: [id], reason: 'revoked' });
  }
}

function safeEqual(a: string, b: string) {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}
