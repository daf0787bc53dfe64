import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_BUILTIN_FROM, openSqlite, sqliteCode, sqliteDriver } from '../../../../src/daemon/deployments/embedded/sqlite-driver.js';
import { NativeModuleError, loadNative, withNative } from '../../../../src/daemon/native.js';
import { tmpDir } from '../../../support/daemon.js';

const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
const hasBuiltin = major > 22 || (major === 22 && minor >= 13);
// Node 22 has it, but it warns on stderr when loaded: the default there stays better-sqlite3.
const builtinByDefault = major >= DEFAULT_BUILTIN_FROM;

describe('SQLite driver', () => {
  it(`picks ${builtinByDefault ? 'node:sqlite' : 'better-sqlite3'} on Node ${process.versions.node}, and refuses a bad CHAT_SQLITE_DRIVER`, () => {
    expect(sqliteDriver('auto')).toBe(builtinByDefault ? 'node:sqlite' : 'better-sqlite3');
    expect(sqliteDriver('better-sqlite3')).toBe('better-sqlite3');
    expect(() => sqliteDriver('mysql')).toThrow(/CHAT_SQLITE_DRIVER must be/);
    if (hasBuiltin) expect(sqliteDriver('node')).toBe('node:sqlite');
    else expect(() => sqliteDriver('node')).toThrow(/needs 22\.13/);
  });

  it('binds positional and named parameters (extra names ignored), and answers pragmas with rows', () => {
    const db = openSqlite(path.join(tmpDir(), 'd.db'));
    expect(db.driver).toBe(sqliteDriver());
    expect(db.pragma('journal_mode = WAL')).toEqual([{ journal_mode: 'wal' }]);
    expect(db.pragma('foreign_keys = ON')).toEqual([]);
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL, n INTEGER)');
    const ins = db.prepare<{ name: string; n: number | null }>('INSERT INTO t (name, n) VALUES (@name, @n)');
    expect(ins.run({ name: 'a', n: 1, unused: 'x' } as { name: string; n: number })).toEqual({ changes: 1, lastInsertRowid: 1 });
    db.prepare<[string, null]>('INSERT INTO t (name, n) VALUES (?, ?)').run('b', null);
    const rows = db.prepare<[], { name: string; n: number | null }>('SELECT name, n FROM t ORDER BY id').all();
    expect(rows.map((r) => [r.name, r.n])).toEqual([['a', 1], ['b', null]]);
    expect(db.prepare<[string], { n: number }>('SELECT n FROM t WHERE name = ?').get('zzz')).toBeUndefined();
    expect(db.open).toBe(true);
    db.close();
    expect(db.open).toBe(false);
  });

  it('commits a transaction, rolls back one that throws, and rolls back only the inner part of a nested one', () => {
    const db = openSqlite(path.join(tmpDir(), 't.db'));
    db.exec('CREATE TABLE t (v TEXT UNIQUE)');
    const ins = db.prepare<[string]>('INSERT INTO t (v) VALUES (?)');
    const count = () => (db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM t').get()!).n;
    expect(db.transaction((a: string, b: string) => { ins.run(a); ins.run(b); return 2; })('a', 'b')).toBe(2);
    expect(count()).toBe(2);
    const dup = (() => { try { db.transaction(() => { ins.run('c'); ins.run('a'); })(); } catch (e) { return e; } })();
    expect(sqliteCode(dup)).toBe('SQLITE_CONSTRAINT_UNIQUE');
    expect(sqliteCode(new Error('not sqlite'))).toBeUndefined();
    expect(count()).toBe(2);
    const inner = db.transaction(() => { ins.run('d'); throw new Error('inner'); });
    db.transaction.call(db, () => {
      ins.run('e');
      expect(() => inner()).toThrow('inner');
    }).immediate();
    const left = db.prepare<[], { v: string }>('SELECT v FROM t ORDER BY v').all().map((r) => r.v);
    console.log(`${db.driver}: after commit, failed and nested transactions the rows are ${left.join(',')}`);
    expect(left).toEqual(['a', 'b', 'e']);
    db.close();
  });

  it('a transaction that reads, then writes, is not refused because another connection committed in between (two connections write the file: the event loop\'s and the writer thread\'s)', () => {
    const file = path.join(tmpDir(), 'two.db');
    const a = openSqlite(file);
    const b = openSqlite(file);
    for (const db of [a, b]) db.pragma('journal_mode = WAL');
    b.pragma('busy_timeout = 0');
    a.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
    a.prepare('INSERT INTO t (v) VALUES (?)').run('first');
    let other = 'not tried';
    // A deferred transaction's read pins a snapshot; the other connection's commit then makes its
    // write fail at once with SQLITE_BUSY ("database is locked"), busy timeout or not. Taking the
    // write lock first (IMMEDIATE), the other connection is the one kept waiting (refused here,
    // with no wait, in the same thread).
    a.transaction(() => {
      const n = (a.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n;
      try {
        b.prepare('INSERT INTO t (v) VALUES (?)').run('between');
        other = 'committed';
      } catch (err) {
        other = sqliteCode(err) ?? String(err);
      }
      a.prepare('INSERT INTO t (v) VALUES (?)').run(`after ${n}`);
    })();
    const rows = a.prepare('SELECT v FROM t ORDER BY id').all() as { v: string }[];
    console.log(`${a.driver}: the other connection's write during the transaction: ${other}; rows ${rows.map((r) => r.v).join(', ')}`);
    expect(other).toBe('SQLITE_BUSY');
    expect(rows.map((r) => r.v)).toEqual(['first', 'after 1']);
    a.close();
    b.close();
  });

  it('names the native module that failed to load and how to fix it', () => {
    const err = (() => { try { loadNative('chat-no-such-native-module'); } catch (e) { return e; } })();
    expect(err).toBeInstanceOf(NativeModuleError);
    expect((err as Error).message).toMatch(/^chat-no-such-native-module could not be loaded on Node .*allow-scripts=chat-no-such-native-module.*npm rebuild chat-no-such-native-module/);
  });

  it('names the native module whose binary is missing or built for another Node, and passes other errors through', () => {
    const missing = Object.assign(new Error('Could not locate the bindings file. Tried:\n → /x/build/better_sqlite3.node'), {});
    const abi = Object.assign(new Error("The module '/x/argon2.node' was compiled against a different Node.js version using NODE_MODULE_VERSION 115."), { code: 'ERR_DLOPEN_FAILED' });
    for (const [mod, cause] of [['better-sqlite3', missing], ['argon2', abi]] as const) {
      const err = (() => { try { withNative(mod, () => { throw cause; }); } catch (e) { return e as Error; } })();
      expect(err).toBeInstanceOf(NativeModuleError);
      expect(err!.message).toContain(`${mod} could not be loaded on Node ${process.versions.node}`);
      expect(err!.message).not.toContain('\n');
    }
    const other = new TypeError('bad argument');
    expect(() => withNative('better-sqlite3', () => { throw other; })).toThrow(other);
    expect(withNative('argon2', () => 42)).toBe(42);
  });
});
