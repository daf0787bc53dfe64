import { ChatError } from '../../../protocol/index.js';
import type { AccountStore, ApiTokenRecord, RefreshTokenRecord, UserRecord } from '../../ports/index.js';
import { sqliteCode, type SqliteDb } from './sqlite-driver.js';

export const ACCOUNTS_SCHEMA = `
CREATE TABLE IF NOT EXISTS users (
  id TEXT PRIMARY KEY,
  username TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL,
  admin INTEGER NOT NULL DEFAULT 0,
  disabled INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS refresh_tokens (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  family_id TEXT NOT NULL,
  token_hash TEXT NOT NULL,
  created_at TEXT NOT NULL,
  expires_at TEXT NOT NULL,
  used_at TEXT,
  revoked_at TEXT,
  device TEXT
);
CREATE INDEX IF NOT EXISTS refresh_family ON refresh_tokens(family_id);
CREATE INDEX IF NOT EXISTS refresh_user ON refresh_tokens(user_id);
CREATE TABLE IF NOT EXISTS api_tokens (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  name TEXT NOT NULL,
  token_hash TEXT NOT NULL,
  created_at TEXT NOT NULL,
  last_used_at TEXT,
  revoked_at TEXT
);
CREATE INDEX IF NOT EXISTS api_tokens_user ON api_tokens(user_id);
`;

interface UserRow { id: string; username: string; password_hash: string; admin: number; disabled: number; created_at: string }
const rowToUser = (r: UserRow): UserRecord => ({ id: r.id, username: r.username, passwordHash: r.password_hash, admin: r.admin === 1, disabled: r.disabled === 1, createdAt: r.created_at });

interface RefreshRow { id: string; user_id: string; family_id: string; token_hash: string; created_at: string; expires_at: string; used_at: string | null; revoked_at: string | null; device: string | null }
const rowToRefresh = (r: RefreshRow): RefreshTokenRecord => ({ id: r.id, userId: r.user_id, familyId: r.family_id, tokenHash: r.token_hash, createdAt: r.created_at, expiresAt: r.expires_at, usedAt: r.used_at, revokedAt: r.revoked_at, device: r.device });

interface ApiRow { id: string; user_id: string; name: string; token_hash: string; created_at: string; last_used_at: string | null; revoked_at: string | null }
const rowToApi = (r: ApiRow): ApiTokenRecord => ({ id: r.id, userId: r.user_id, name: r.name, tokenHash: r.token_hash, createdAt: r.created_at, lastUsedAt: r.last_used_at, revokedAt: r.revoked_at });

/** Users, their sessions (refresh-token families) and API tokens, in the embedded database. */
export class SqliteAccounts implements AccountStore {
  private readonly stmts;

  constructor(private readonly db: SqliteDb) {
    this.stmts = {
      countUsers: db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM users'),
      insertUser: db.prepare('INSERT INTO users (id, username, password_hash, admin, disabled, created_at) VALUES (?, ?, ?, ?, 0, ?)'),
      userById: db.prepare<[string], UserRow>('SELECT * FROM users WHERE id = ?'),
      userByName: db.prepare<[string], UserRow>('SELECT * FROM users WHERE username = ?'),
      listUsers: db.prepare<[], UserRow>('SELECT * FROM users ORDER BY created_at, username'),
      insertRefresh: db.prepare('INSERT INTO refresh_tokens (id, user_id, family_id, token_hash, created_at, expires_at, used_at, revoked_at, device) VALUES (@id, @userId, @familyId, @tokenHash, @createdAt, @expiresAt, @usedAt, @revokedAt, @device)'),
      refreshById: db.prepare<[string], RefreshRow>('SELECT * FROM refresh_tokens WHERE id = ?'),
      markUsed: db.prepare('UPDATE refresh_tokens SET used_at = ? WHERE id = ? AND used_at IS NULL AND revoked_at IS NULL'),
      revokeFamily: db.prepare('UPDATE refresh_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL'),
      userFamilies: db.prepare<[string], { family_id: string }>('SELECT DISTINCT family_id FROM refresh_tokens WHERE user_id = ? AND revoked_at IS NULL'),
      familyActive: db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM refresh_tokens WHERE family_id = ? AND revoked_at IS NULL'),
      activeFamilies: db.prepare<[string], { family_id: string }>('SELECT family_id FROM refresh_tokens WHERE user_id = ? AND revoked_at IS NULL GROUP BY family_id ORDER BY MIN(created_at), family_id'),
      pruneDead: db.prepare('DELETE FROM refresh_tokens WHERE user_id = ? AND (revoked_at IS NOT NULL OR expires_at <= ?)'),
      pruneUsed: db.prepare(`DELETE FROM refresh_tokens WHERE family_id = ? AND used_at IS NOT NULL AND id NOT IN (
        SELECT id FROM refresh_tokens WHERE family_id = ? ORDER BY created_at DESC, id DESC LIMIT ?)`),
      userApiIds: db.prepare<[string], { id: string }>('SELECT id FROM api_tokens WHERE user_id = ? AND revoked_at IS NULL'),
      revokeUserApi: db.prepare('UPDATE api_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL'),
      insertApi: db.prepare('INSERT INTO api_tokens (id, user_id, name, token_hash, created_at, last_used_at, revoked_at) VALUES (@id, @userId, @name, @tokenHash, @createdAt, @lastUsedAt, @revokedAt)'),
      apiById: db.prepare<[string], ApiRow>('SELECT * FROM api_tokens WHERE id = ?'),
      apiByUser: db.prepare<[string], ApiRow>('SELECT * FROM api_tokens WHERE user_id = ? AND revoked_at IS NULL ORDER BY created_at'),
      revokeApi: db.prepare('UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL'),
      touchApi: db.prepare('UPDATE api_tokens SET last_used_at = ? WHERE id = ?'),
    };
  }

  async createUser(input: { id: string; username: string; passwordHash: string; createdAt: string }): Promise<UserRecord> {
    const tx = this.db.transaction(() => {
      const admin = this.stmts.countUsers.get()!.n === 0 ? 1 : 0;
      this.stmts.insertUser.run(input.id, input.username, input.passwordHash, admin, input.createdAt);
    });
    try {
      tx.immediate();
    } catch (err) {
      if (sqliteCode(err) === 'SQLITE_CONSTRAINT_UNIQUE') throw new ChatError('CHAT_ERR_USERNAME_TAKEN');
      throw err;
    }
    return rowToUser(this.stmts.userById.get(input.id)!);
  }

  async getUserById(id: string) {
    const r = this.stmts.userById.get(id);
    return r ? rowToUser(r) : null;
  }

  async getUserByName(username: string) {
    const r = this.stmts.userByName.get(username);
    return r ? rowToUser(r) : null;
  }

  async listUsers() {
    return this.stmts.listUsers.all().map(rowToUser);
  }

  async updateUser(id: string, patch: Partial<Pick<UserRecord, 'passwordHash' | 'admin' | 'disabled'>>) {
    const sets: string[] = [];
    const vals: unknown[] = [];
    if (patch.passwordHash !== undefined) { sets.push('password_hash = ?'); vals.push(patch.passwordHash); }
    if (patch.admin !== undefined) { sets.push('admin = ?'); vals.push(patch.admin ? 1 : 0); }
    if (patch.disabled !== undefined) { sets.push('disabled = ?'); vals.push(patch.disabled ? 1 : 0); }
    if (sets.length === 0) return;
    this.db.prepare(`UPDATE users SET ${sets.join(', ')} WHERE id = ?`).run(...vals, id);
  }

  async insertRefreshToken(rec: RefreshTokenRecord) {
    this.stmts.insertRefresh.run(rec);
  }

  async getRefreshToken(id: string) {
    const r = this.stmts.refreshById.get(id);
    return r ? rowToRefresh(r) : null;
  }

  async markRefreshTokenUsed(id: string, at: string) {
    return this.stmts.markUsed.run(at, id).changes === 1;
  }

  async revokeFamily(familyId: string, at: string) {
    this.stmts.revokeFamily.run(at, familyId);
  }

  async revokeUserSessions(userId: string, at: string, exceptFamilyId?: string) {
    const families = this.stmts.userFamilies.all(userId).map((r) => r.family_id).filter((f) => f !== exceptFamilyId);
    this.db.transaction(() => { for (const f of families) this.stmts.revokeFamily.run(at, f); })();
    return families;
  }

  async isSessionActive(familyId: string) {
    return this.stmts.familyActive.get(familyId)!.n > 0;
  }

  async activeSessions(userId: string) {
    return this.stmts.activeFamilies.all(userId).map((r) => r.family_id);
  }

  async pruneRefreshTokens(userId: string, familyId: string, keep: number, now: string) {
    this.db.transaction(() => {
      this.stmts.pruneDead.run(userId, now);
      this.stmts.pruneUsed.run(familyId, familyId, keep);
    })();
  }

  async revokeUserApiTokens(userId: string, at: string) {
    return this.db.transaction(() => {
      const ids = this.stmts.userApiIds.all(userId).map((r) => r.id);
      this.stmts.revokeUserApi.run(at, userId);
      return ids;
    })();
  }

  async insertApiToken(rec: ApiTokenRecord) {
    this.stmts.insertApi.run(rec);
  }

  async getApiToken(id: string) {
    const r = this.stmts.apiById.get(id);
    return r ? rowToApi(r) : null;
  }

  async listApiTokens(userId: string) {
    return this.stmts.apiByUser.all(userId).map(rowToApi);
  }

  async revokeApiToken(userId: string, id: string, at: string) {
    return this.stmts.revokeApi.run(at, id, userId).changes === 1;
  }

  async touchApiToken(id: string, at: string) {
    this.stmts.touchApi.run(at, id);
  }
}
