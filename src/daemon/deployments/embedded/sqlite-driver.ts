/**
 * The embedded store's SQLite connection, on whichever driver this Node has.
 *
 * Node's own `node:sqlite` from Node 24 LTS; better-sqlite3 on Node 20 and 22. (Node 22.13+ has
 * node:sqlite without a flag but still prints an ExperimentalWarning on stderr when it loads, which
 * CI on Node 22 caught; `CHAT_SQLITE_DRIVER=node` still picks it there.) better-sqlite3 12 (the
 * last major that builds for Node 20) aborts the process on Node 24 when the garbage collector finalizes a statement (`Assertion failed: (env) != nullptr`
 * in Statement::~Statement), and 13, which fixes it, needs Node 22: so one native driver cannot
 * serve both lines. Both drivers run the same SQLite file format, SQL and pragmas; this module
 * is the only place that knows which one is loaded. `CHAT_SQLITE_DRIVER=better-sqlite3|node`
 * forces one (for tests and for comparing them in the bench).
 */
import { createRequire } from 'node:module';
import { loadNative, withNative } from '../../native.js';

export type SqliteDriver = 'node:sqlite' | 'better-sqlite3';
export type SqlParam = string | number | bigint | null | Uint8Array;
export interface RunResult { changes: number | bigint; lastInsertRowid: number | bigint }
type Bind<P> = P extends unknown[] ? P : [P];
/** P: the parameters (a tuple, or one object of named ones); R: a row. */
export interface SqliteStatement<P = unknown[], R = unknown> {
  run(...params: Bind<P>): RunResult;
  get(...params: Bind<P>): R | undefined;
  all(...params: Bind<P>): R[];
}
/**
 * A transaction function: BEGIN IMMEDIATE when called (and through `.immediate`). Every transaction
 * here writes, and two connections write the same file (the event loop's and the writer thread's):
 * a deferred one that reads first and then writes fails at once with SQLITE_BUSY ("database is
 * locked", no busy wait) when the other connection committed in between, since its snapshot is
 * stale. IMMEDIATE takes the write lock first, waiting its busy_timeout for it.
 */
export type Transaction<A extends unknown[], R> = ((...args: A) => R) & { immediate: (...args: A) => R };
export interface SqliteDb {
  readonly driver: SqliteDriver;
  readonly open: boolean;
  prepare<P = unknown[], R = unknown>(sql: string): SqliteStatement<P, R>;
  exec(sql: string): void;
  /** `PRAGMA <text>`; its rows (none for most settings). */
  pragma(text: string): unknown[];
  /** Wraps `fn` in BEGIN/COMMIT (a SAVEPOINT when nested), ROLLBACK if it throws. */
  transaction<A extends unknown[], R>(fn: (...args: A) => R): Transaction<A, R>;
  close(): void;
}
export interface OpenOptions { readonly?: boolean; /** The driver (chatd's CHAT_SQLITE_DRIVER setting, resolved); else chosen from the environment. */ driver?: SqliteDriver }

const require = createRequire(import.meta.url);

/** SQLite's result codes that the store tells apart, by number (node:sqlite gives `errcode`). */
const RESULT_CODES: Record<number, string> = {
  5: 'SQLITE_BUSY', 13: 'SQLITE_FULL', 19: 'SQLITE_CONSTRAINT',
  787: 'SQLITE_CONSTRAINT_FOREIGNKEY', 1555: 'SQLITE_CONSTRAINT_PRIMARYKEY', 2067: 'SQLITE_CONSTRAINT_UNIQUE',
};

/**
 * An SQLite error's code as better-sqlite3 names it (`SQLITE_CONSTRAINT_UNIQUE`, `SQLITE_FULL`),
 * whichever driver threw it; undefined for anything else.
 */
export function sqliteCode(err: unknown): string | undefined {
  const e = err as { code?: unknown; errcode?: unknown } | null | undefined;
  if (typeof e?.code === 'string' && e.code.startsWith('SQLITE_')) return e.code;
  if (typeof e?.errcode !== 'number') return undefined;
  return RESULT_CODES[e.errcode] ?? RESULT_CODES[e.errcode & 0xff] ?? `SQLITE_${e.errcode}`;
}

// node:sqlite as far as it is used here (@types/node follows the lowest supported Node, 20, which has none).
interface NodeStatement extends SqliteStatement<unknown[], unknown> { setAllowUnknownNamedParameters(on: boolean): void }
interface NodeSqlite {
  DatabaseSync: new (file: string, opts?: { readOnly?: boolean }) => { prepare(sql: string): NodeStatement; exec(sql: string): void; close(): void };
}
let nodeSqlite: NodeSqlite | null | undefined;
function builtin(): NodeSqlite | null {
  if (nodeSqlite === undefined) {
    try {
      nodeSqlite = require('node:sqlite') as NodeSqlite;
    } catch {
      nodeSqlite = null; // Node 20, or 22 before 22.13 (behind a flag)
    }
  }
  return nodeSqlite;
}

/** The driver a CHAT_SQLITE_DRIVER choice (`auto` or unset: by the Node version) means here. */
export function sqliteDriver(choice: string | undefined = process.env.CHAT_SQLITE_DRIVER): SqliteDriver {
  const forced = choice === 'auto' ? undefined : choice;
  if (forced === 'better-sqlite3') return 'better-sqlite3';
  if (forced === 'node' || forced === 'node:sqlite') {
    if (!builtin()) throw new Error(`CHAT_SQLITE_DRIVER=${forced}: node:sqlite is not available on Node ${process.versions.node} (it needs 22.13 or later)`);
    return 'node:sqlite';
  }
  if (forced) throw new Error(`CHAT_SQLITE_DRIVER must be "node" or "better-sqlite3", not ${JSON.stringify(forced)}`);
  return Number(process.versions.node.split('.')[0]) >= DEFAULT_BUILTIN_FROM && builtin() ? 'node:sqlite' : 'better-sqlite3';
}

/** The first Node major where node:sqlite is the default: it loads there without an ExperimentalWarning. */
export const DEFAULT_BUILTIN_FROM = 24;

export function openSqlite(file: string, opts: OpenOptions = {}): SqliteDb {
  return (opts.driver ?? sqliteDriver()) === 'node:sqlite' ? openBuiltin(file, opts) : openBetter(file, opts);
}

function openBetter(file: string, opts: OpenOptions): SqliteDb {
  type Better = typeof import('better-sqlite3');
  const Database = loadNative<Better>('better-sqlite3');
  const db = withNative('better-sqlite3', () => new Database(file, { readonly: opts.readonly ?? false }));
  return {
    driver: 'better-sqlite3',
    get open() { return db.open; },
    prepare: <P, R>(sql: string) => db.prepare(sql) as unknown as SqliteStatement<P, R>,
    exec: (sql) => void db.exec(sql),
    pragma: (text) => db.pragma(text) as unknown[],
    transaction: <A extends unknown[], R>(fn: (...args: A) => R) => {
      const t = db.transaction(fn);
      return Object.assign((...args: A) => t.immediate(...args), { immediate: (...args: A) => t.immediate(...args) }) as Transaction<A, R>;
    },
    close: () => void db.close(),
  };
}

function openBuiltin(file: string, opts: OpenOptions): SqliteDb {
  const { DatabaseSync } = builtin()!;
  const db = new DatabaseSync(file, { readOnly: opts.readonly ?? false });
  let open = true;
  let depth = 0;
  const prepare = <P, R>(sql: string) => {
    const st = db.prepare(sql);
    // better-sqlite3's binding: an object may carry names the statement does not use.
    st.setAllowUnknownNamedParameters(true);
    return st as unknown as SqliteStatement<P, R>;
  };
  const run = <A extends unknown[], R>(fn: (...args: A) => R, begin: string, args: A): R => {
    const level = depth++;
    const savepoint = `chat_tx_${level}`;
    db.exec(level === 0 ? begin : `SAVEPOINT ${savepoint}`);
    try {
      const result = fn(...args);
      db.exec(level === 0 ? 'COMMIT' : `RELEASE ${savepoint}`);
      return result;
    } catch (err) {
      try {
        db.exec(level === 0 ? 'ROLLBACK' : `ROLLBACK TO ${savepoint}; RELEASE ${savepoint}`);
      } catch {
        // SQLite already rolled back (e.g. SQLITE_FULL): nothing is left open.
      }
      throw err;
    } finally {
      depth--;
    }
  };
  return {
    driver: 'node:sqlite',
    get open() { return open; },
    prepare,
    exec: (sql) => db.exec(sql),
    pragma: (text) => db.prepare(`PRAGMA ${text}`).all(),
    transaction: <A extends unknown[], R>(fn: (...args: A) => R) =>
      Object.assign((...args: A) => run(fn, 'BEGIN IMMEDIATE', args), { immediate: (...args: A) => run(fn, 'BEGIN IMMEDIATE', args) }),
    close: () => {
      if (!open) return;
      open = false;
      db.close();
    },
  };
}
