import { openSqlite, sqliteCode, type SqliteDb } from './sqlite-driver.js';
import fs from 'node:fs';
import path from 'node:path';
import { ChatError, type Message } from '../../../protocol/index.js';
import { Checkpointer, WriterThread, type CheckpointEvent } from './sqlite-threads.js';
import { configure, messageWrites, rowToMessage, type AppendResult, type MessageRow } from './sqlite-messages.js';
import type { ApiTokenRecord, ConversationRecord, HistoryRange, MessageDraft, ReceiptMark, RefreshTokenRecord, UserRecord } from '../../ports/index.js';
import type { Database } from '../archive.js';
import { withSeq } from './sqlite-messages.js';
import { isStorageFull } from '../../ports/errors.js';
import { GROUPS_SCHEMA, SqliteGroups } from './sqlite-groups.js';

/** Free space that counts as "space returned" after a full disk. */
const MIN_FREE_BYTES = 1024 * 1024;

const SCHEMA = `
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
CREATE TABLE IF NOT EXISTS friend_edges (
  from_user TEXT NOT NULL,
  to_user TEXT NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (from_user, to_user)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS friend_edges_to ON friend_edges(to_user);
CREATE TABLE IF NOT EXISTS messages (
  id TEXT PRIMARY KEY,
  conversation_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  from_user TEXT NOT NULL,
  to_user TEXT NOT NULL,
  text TEXT NOT NULL,
  kind TEXT NOT NULL,
  created_at TEXT NOT NULL,
  client_msg_id TEXT,
  UNIQUE (conversation_id, seq)
);
-- Dedupe of resends. The client's id leads the key: clients make it time-ordered (UUIDv7), so
-- each group commit appends to one or two leaf pages of this index instead of dirtying one per
-- sender. (from_user, client_msg_id), the first key order, is replaced in place on start.
CREATE UNIQUE INDEX IF NOT EXISTS messages_client_id ON messages(client_msg_id, from_user) WHERE client_msg_id IS NOT NULL;
DROP INDEX IF EXISTS messages_client;
-- last_seq and updated_at hold the first message's values; reads take the head from messages.
CREATE TABLE IF NOT EXISTS conversations (
  id TEXT PRIMARY KEY,
  member_a TEXT NOT NULL,
  member_b TEXT NOT NULL,
  last_seq INTEGER NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS conversations_a ON conversations(member_a);
CREATE INDEX IF NOT EXISTS conversations_b ON conversations(member_b);
CREATE TABLE IF NOT EXISTS receipts (
  conversation_id TEXT NOT NULL,
  username TEXT NOT NULL,
  delivered INTEGER NOT NULL DEFAULT 0,
  read INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (conversation_id, username)
) WITHOUT ROWID;
`;

interface UserRow { id: string; username: string; password_hash: string; admin: number; disabled: number; created_at: string }
const rowToUser = (r: UserRow): UserRecord => ({ id: r.id, username: r.username, passwordHash: r.password_hash, admin: r.admin === 1, disabled: r.disabled === 1, createdAt: r.created_at });

interface RefreshRow { id: string; user_id: string; family_id: string; token_hash: string; created_at: string; expires_at: string; used_at: string | null; revoked_at: string | null; device: string | null }
const rowToRefresh = (r: RefreshRow): RefreshTokenRecord => ({ id: r.id, userId: r.user_id, familyId: r.family_id, tokenHash: r.token_hash, createdAt: r.created_at, expiresAt: r.expires_at, usedAt: r.used_at, revokedAt: r.revoked_at, device: r.device });

interface ApiRow { id: string; user_id: string; name: string; token_hash: string; created_at: string; last_used_at: string | null; revoked_at: string | null }
const rowToApi = (r: ApiRow): ApiTokenRecord => ({ id: r.id, userId: r.user_id, name: r.name, tokenHash: r.token_hash, createdAt: r.created_at, lastUsedAt: r.last_used_at, revokedAt: r.revoked_at });

/**
 * The embedded store: one SQLite file in WAL mode with synchronous=FULL, so a committed
 * transaction survives kill -9 and power loss. better-sqlite3 is synchronous, so messages,
 * the hot write, are committed on a writer thread with its own connection: the fsync waits
 * there, not on the event loop, and batches grow while a commit runs (group commit). Other
 * writes are rare and stay on the event loop's connection; reads never block on the writer (WAL).
 */
export class SqliteStore implements Database {
  readonly kind = 'sqlite';
  private db!: SqliteDb;
  private stmts!: ReturnType<SqliteStore['prepare']>;
  groups!: SqliteGroups;
  /** Commits message batches: the writer thread, or in place for an in-memory database. */
  private writeMessages!: (messages: Message[]) => Promise<(MessageRow | null)[]>;
  private appendDrafts!: (drafts: MessageDraft[]) => Promise<AppendResult[]>;
  private writer: WriterThread | null = null;
  private checkpointer: Checkpointer | null = null;
  private checkpointObserver: ((c: CheckpointEvent) => void) | null = null;
  /** The last commit failed with SQLITE_FULL: /readyz fails until space returns. */
  private outOfSpace = false;

  constructor(private readonly file: string) {}

  /** Called after each checkpoint that copied pages, or that failed (file-backed stores only). */
  observeCheckpoints(fn: (c: CheckpointEvent) => void) {
    this.checkpointObserver = fn;
  }

  async start(): Promise<void> {
    if (this.file !== ':memory:') {
      fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
      // Created 0600 before SQLite opens it: the WAL and SHM files take the database's mode.
      fs.closeSync(fs.openSync(this.file, 'a', 0o600));
      fs.chmodSync(this.file, 0o600);
    }
    this.db = openSqlite(this.file);
    configure(this.db);
    this.db.exec(SCHEMA);
    this.db.exec(GROUPS_SCHEMA);
    this.stmts = this.prepare();
    this.groups = new SqliteGroups(this.db);
    if (this.file === ':memory:') {
      const writes = messageWrites(this.db);
      this.writeMessages = async (messages) => writes.write(messages);
      this.appendDrafts = async (drafts) => writes.append(drafts);
    } else {
      // Checkpoints run on their own thread; should it die, both connections checkpoint in line again.
      this.db.pragma('wal_autocheckpoint = 0');
      const writer = (this.writer = new WriterThread(this.file));
      this.checkpointer = new Checkpointer(this.file, (c) => {
        if (!('error' in c)) writer.catchUp();
        this.checkpointObserver?.(c);
      }, (err) => {
        this.checkpointer = null;
        this.checkpointObserver?.({ error: err.message });
        writer.checkpointInline();
        if (this.db.open) this.db.pragma('wal_autocheckpoint = 1000');
      });
      this.writeMessages = (messages) => this.watchSpace(writer.write(messages));
      this.appendDrafts = (drafts) => this.watchSpace(writer.append(drafts));
    }
  }

  /** Remembers that a commit failed for lack of space, until one succeeds or space returns. */
  private watchSpace<T>(p: Promise<T>): Promise<T> {
    return p.then((v) => {
      this.outOfSpace = false;
      return v;
    }, (err: unknown) => {
      if (isStorageFull(err as { code?: string })) this.outOfSpace = true;
      throw err;
    });
  }

  async close(): Promise<void> {
    await this.writer?.close();
    this.writer = null;
    await this.checkpointer?.close();
    this.checkpointer = null;
    if (this.db?.open) this.db.close();
  }

  async health() {
    try {
      this.db.prepare('SELECT 1').get();
      if (this.outOfSpace) {
        // Ready again once the file system has room for a few commits (no write to find out).
        const { bavail, bsize } = fs.statfsSync(path.dirname(this.file));
        if (bavail * bsize < MIN_FREE_BYTES) return { ok: false, kind: this.kind, detail: `out of storage: ${bavail * bsize} bytes free in ${path.dirname(this.file)}` };
        this.outOfSpace = false;
      }
      return { ok: true, kind: this.kind, detail: this.file };
    } catch (err) {
      return { ok: false, kind: this.kind, detail: (err as Error).message };
    }
  }

  private prepare() {
    const db = this.db;
    return {
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
      addEdge: db.prepare('INSERT OR IGNORE INTO friend_edges (from_user, to_user, created_at) VALUES (?, ?, ?)'),
      hasEdge: db.prepare<[string, string], { n: number }>('SELECT COUNT(*) AS n FROM friend_edges WHERE from_user = ? AND to_user = ?'),
      delEdges: db.prepare('DELETE FROM friend_edges WHERE (from_user = ? AND to_user = ?) OR (from_user = ? AND to_user = ?)'),
      edgesOut: db.prepare<[string], { u: string }>('SELECT to_user AS u FROM friend_edges WHERE from_user = ? ORDER BY to_user'),
      edgesIn: db.prepare<[string], { u: string }>('SELECT from_user AS u FROM friend_edges WHERE to_user = ? ORDER BY from_user'),
      msgByClient: db.prepare<[string, string], MessageRow>('SELECT * FROM messages WHERE from_user = ? AND client_msg_id = ?'),
      latest: db.prepare<[string, number], MessageRow>('SELECT * FROM messages WHERE conversation_id = ? ORDER BY seq DESC LIMIT ?'),
      before: db.prepare<[string, number, number, number], MessageRow>('SELECT * FROM messages WHERE conversation_id = ? AND seq < ? AND seq > ? ORDER BY seq DESC LIMIT ?'),
      after: db.prepare<[string, number, number, number], MessageRow>('SELECT * FROM messages WHERE conversation_id = ? AND seq > ? AND seq < ? ORDER BY seq ASC LIMIT ?'),
      maxSeq: db.prepare<[string], { s: number | null }>('SELECT MAX(seq) AS s FROM messages WHERE conversation_id = ?'),
      upsertReceipt: db.prepare('INSERT INTO receipts (conversation_id, username, delivered, read) VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET delivered = MAX(delivered, excluded.delivered), read = MAX(read, excluded.read)'),
      receipts: db.prepare<[string], { username: string; delivered: number; read: number }>('SELECT username, delivered, read FROM receipts WHERE conversation_id = ?'),
      // A conversation's head is its newest message (found through the (conversation_id, seq) index).
      convs: db.prepare<[string, string], { id: string; member_a: string; member_b: string; last_seq: number; updated_at: string }>(`
        SELECT c.id, c.member_a, c.member_b, COALESCE(h.seq, c.last_seq) AS last_seq, COALESCE(h.created_at, c.updated_at) AS updated_at
        FROM conversations c
        LEFT JOIN messages h ON h.conversation_id = c.id AND h.seq = (SELECT MAX(seq) FROM messages WHERE conversation_id = c.id)
        WHERE c.member_a = ? OR c.member_b = ?
        ORDER BY updated_at DESC`),
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

  async addFriendEdge(from: string, to: string, at: string) {
    this.stmts.addEdge.run(from, to, at);
  }

  async hasFriendEdge(from: string, to: string) {
    return this.stmts.hasEdge.get(from, to)!.n > 0;
  }

  async removeFriendEdges(a: string, b: string) {
    return this.stmts.delEdges.run(a, b, b, a).changes > 0;
  }

  async listFriendEdges(username: string) {
    return { out: this.stmts.edgesOut.all(username).map((r) => r.u), in: this.stmts.edgesIn.all(username).map((r) => r.u) };
  }

  /**
   * Sequences, dedupes and commits drafts in one transaction (on the writer thread): each gets
   * the next seq of its conversation, unless its (from, clientMsgId) is stored, in which case
   * it resolves to the stored message and takes no seq.
   */
  async appendMessages(drafts: MessageDraft[]): Promise<Message[]> {
    if (drafts.length === 0) return [];
    const results = await this.appendDrafts(drafts);
    return drafts.map((d, i) => {
      const r = results[i]!;
      return 'seq' in r ? withSeq(d, r.seq) : rowToMessage(r.row);
    });
  }

  /** Commits the batch (on the writer thread); a message already stored resolves to the stored one. */
  async insertMessages(messages: Message[]) {
    if (messages.length === 0) return [];
    const rows = await this.writeMessages(messages);
    return messages.map((m, i) => (rows[i] ? rowToMessage(rows[i]) : m));
  }

  async getMessageByClientId(from: string, clientMsgId: string) {
    const r = this.stmts.msgByClient.get(from, clientMsgId);
    return r ? rowToMessage(r) : null;
  }

  async history(conversationId: string, range: HistoryRange) {
    const s = this.stmts;
    const lo = range.afterSeq ?? 0;
    const hi = range.beforeSeq ?? Number.MAX_SAFE_INTEGER;
    if (range.afterSeq !== undefined) return s.after.all(conversationId, lo, hi, range.limit).map(rowToMessage);
    return s.before.all(conversationId, hi, lo, range.limit).map(rowToMessage).reverse();
  }

  async maxSeq(conversationId: string) {
    return this.stmts.maxSeq.get(conversationId)!.s ?? 0;
  }

  async getReceipts(conversationId: string) {
    const out: Record<string, { delivered: number; read: number }> = {};
    for (const r of this.stmts.receipts.all(conversationId)) out[r.username] = { delivered: r.delivered, read: r.read };
    return out;
  }

  async setReceipts(marks: ReceiptMark[]) {
    if (marks.length === 0) return;
    this.db.transaction(() => {
      // Reading implies having received.
      for (const m of marks) this.stmts.upsertReceipt.run(m.conversationId, m.username, Math.max(m.delivered, m.read), m.read);
    })();
  }

  async listConversations(username: string): Promise<ConversationRecord[]> {
    return this.stmts.convs.all(username, username).map((r) => ({ conversationId: r.id, members: [r.member_a, r.member_b], lastSeq: r.last_seq, updatedAt: r.updated_at }));
  }
}

