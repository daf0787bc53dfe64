import fs from 'node:fs';
import path from 'node:path';
import { isStorageFull } from '../../ports/errors.js';
import type { Database } from '../archive.js';
import { ACCOUNTS_SCHEMA, SqliteAccounts } from './sqlite-accounts.js';
import { messagesSchema, SqliteArchive, type MessageWriter } from './sqlite-archive.js';
import { openSqlite, type SqliteDb, type SqliteDriver } from './sqlite-driver.js';
import { FILES_SCHEMA, SqliteFiles } from './sqlite-files.js';
import { FRIENDS_SCHEMA, SqliteFriends } from './sqlite-friends.js';
import { GROUPS_SCHEMA, SqliteGroups } from './sqlite-groups.js';
import { configure, messageWrites } from './sqlite-messages.js';
import { RECEIPTS_SCHEMA, SqliteReceipts } from './sqlite-receipts.js';
import { backfillSearch, caughtUp, dropSearch, purgeSearch, searchSchema, SqliteSearch, type BackfillState } from './sqlite-search.js';
import { Checkpointer, WriterThread, type CheckpointEvent } from './sqlite-threads.js';

/** Rows a search's flush indexes per writer request. */
const FLUSH_CHUNK = 5000;

/** Free space that counts as "space returned" after a full disk. */
const MIN_FREE_BYTES = 1024 * 1024;

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
  accounts!: SqliteAccounts;
  friends!: SqliteFriends;
  groups!: SqliteGroups;
  receipts!: SqliteReceipts;
  files!: SqliteFiles;
  archive!: SqliteArchive;
  /** Null with CHAT_SEARCH_INDEX=off. */
  search: SqliteSearch | null = null;
  private writer: WriterThread | null = null;
  /** The search index's upkeep, where messages are written (the writer thread, or in place in memory). */
  searchWork!: { backfill(chunk: number): Promise<BackfillState>; purge(): Promise<number> };
  private checkpointer: Checkpointer | null = null;
  private checkpointObserver: ((c: CheckpointEvent) => void) | null = null;
  /** The last commit failed with SQLITE_FULL: /readyz fails until space returns. */
  private outOfSpace = false;

  constructor(private readonly file: string, private readonly opts: { search: boolean; driver?: SqliteDriver } = { search: true }) {}

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
    this.db = openSqlite(this.file, { driver: this.opts.driver });
    configure(this.db);
    for (const schema of [ACCOUNTS_SCHEMA, FRIENDS_SCHEMA, RECEIPTS_SCHEMA, GROUPS_SCHEMA, FILES_SCHEMA]) this.db.exec(schema);
    messagesSchema(this.db);
    if (this.opts.search) {
      searchSchema(this.db);
      this.search = new SqliteSearch(this.db, () => this.flushSearch());
    } else dropSearch(this.db);
    this.accounts = new SqliteAccounts(this.db);
    this.friends = new SqliteFriends(this.db);
    this.groups = new SqliteGroups(this.db);
    this.receipts = new SqliteReceipts(this.db);
    this.files = new SqliteFiles(this.db);
    // Message batches are committed on the writer thread, or in place for an in-memory database.
    let writer: MessageWriter;
    if (this.file === ':memory:') {
      const writes = messageWrites(this.db);
      writer = { write: async (messages) => writes.write(messages), append: async (drafts) => writes.append(drafts) };
      this.searchWork = { backfill: async (chunk) => backfillSearch(this.db, chunk), purge: async () => purgeSearch(this.db) };
    } else {
      // Checkpoints run on their own thread; should it die, both connections checkpoint in line again.
      this.db.pragma('wal_autocheckpoint = 0');
      const thread = (this.writer = new WriterThread(this.file, this.opts.driver));
      this.checkpointer = new Checkpointer(this.file, (c) => {
        if (!('error' in c)) thread.catchUp();
        this.checkpointObserver?.(c);
      }, (err) => {
        this.checkpointer = null;
        this.checkpointObserver?.({ error: err.message });
        thread.checkpointInline();
        if (this.db.open) this.db.pragma('wal_autocheckpoint = 1000');
      }, this.opts.driver);
      writer = { write: (messages) => this.watchSpace(thread.write(messages)), append: (drafts) => this.watchSpace(thread.append(drafts)) };
      this.searchWork = { backfill: (chunk) => thread.backfillSearch(chunk), purge: () => thread.purgeSearch() };
    }
    this.archive = new SqliteArchive(this.db, writer);
  }

  /** Has the writer index every message stored so far, and every edited one again (a search finds what was acknowledged before it). */
  private async flushSearch() {
    for (;;) {
      if (caughtUp(await this.searchWork.backfill(FLUSH_CHUNK))) return;
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
}
