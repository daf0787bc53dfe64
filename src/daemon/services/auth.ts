import jwt from 'jsonwebtoken';
import crypto from 'node:crypto';
import { uuidv7 } from '../../shared/uuid7.js';
import { API_TOKEN_PREFIX, ChatError, RESERVED_USERNAMES, type ApiTokenCreated, type ApiTokenView, type AuthResult, type PasswordChanged, type PublicUser } from '../../protocol/index.js';
import type { Config } from '../config.js';
import type { AccountStore, CredentialNotice, Limits, UserRecord } from '../ports/index.js';
import { CREDENTIAL_CACHE_MS, ExpiringMap } from './credential-cache.js';
import { Passwords } from './passwords.js';

export { CREDENTIAL_CACHE_MS };

const ALG = 'HS256' as const;
/** Refresh rows kept per session: the newest and a few used ones, so a recent reuse is still detected. */
const REFRESH_ROWS_PER_SESSION = 10;
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

export type { CredentialNotice };
export type RevocationListener = (e: CredentialNotice) => void;

export class AuthService {
  private readonly passwords: Passwords;
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

  constructor(private readonly store: AccountStore, limits: Limits, private readonly config: Config, private readonly now: () => number = Date.now) {
    this.passwords = new Passwords(limits, config);
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

  /** Rate limits any auth attempt (right or wrong) per client address; throws CHAT_ERR_RATE_LIMITED. */
  limitAttempt(ip: string) {
    return this.passwords.limitAttempt(ip);
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

  async register(username: string, password: string, device?: string): Promise<AuthResult> {
    if (RESERVED_USERNAMES.includes(username)) throw new ChatError('CHAT_ERR_USERNAME_RESERVED');
    if (await this.store.getUserByName(username)) throw new ChatError('CHAT_ERR_USERNAME_TAKEN');
    const passwordHash = await this.passwords.hash(password);
    const user = await this.store.createUser({ id: uuidv7(), username, passwordHash, createdAt: new Date(this.now()).toISOString() });
    return this.issueSession(user, uuidv7(), device);
  }

  async login(ip: string, username: string, password: string, device?: string): Promise<AuthResult> {
    const user = await this.store.getUserByName(username);
    await this.passwords.check(ip, username, user?.passwordHash, password, new ChatError('CHAT_ERR_INVALID_CREDENTIALS'));
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
    await this.passwords.check(ip, principal.user.username, principal.user.passwordHash, current, wrong);
    await this.store.updateUser(principal.user.id, { passwordHash: await this.passwords.hash(next) });
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
    await this.store.updateUser(user.id, { passwordHash: await this.passwords.hash(password) });
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
    await this.passwords.check(ip, principal.user.username, principal.user.passwordHash, password, new ChatError('CHAT_ERR_INVALID_CREDENTIALS', 'The password is wrong'));
    if ((await this.store.listApiTokens(principal.user.id)).length >= this.config.maxApiTokens) {
      throw new ChatError('CHAT_ERR_LIMIT_REACHED', `You have ${this.config.maxApiTokens} API tokens, the most allowed; revoke one first`);
    }
    // Hex, not base64url: an id that began with "-" would read as an option in `chat token revoke <id>`.
    const id = crypto.randomBytes(9).toString('hex');
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
