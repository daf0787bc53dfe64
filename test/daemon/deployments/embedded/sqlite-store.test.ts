import path from 'node:path';
import fs from 'node:fs';
import os from 'node:os';
import { openSqlite } from '../../../../src/daemon/deployments/embedded/sqlite-driver.js';
import { describe, expect, it } from 'vitest';
import { v7 as uuidv7 } from 'uuid';
import { SqliteStore } from '../../../../src/daemon/deployments/embedded/sqlite-store.js';
import type { CheckpointEvent } from '../../../../src/daemon/deployments/embedded/sqlite-threads.js';
import { CHECKPOINTER_NICE } from '../../../../src/daemon/deployments/embedded/thread-priority.js';
import { tmpDir } from '../../../support/daemon.js';
import { storeContract } from '../../ports/store.contract.js';

storeContract('sqlite', async () => {
  const s = new SqliteStore(path.join(tmpDir(), 'chat.db'));
  await s.start();
  return s;
});

describe('SqliteStore specifics', () => {
  it('creates the database file with mode 0600 in WAL mode and keeps data across reopen', async () => {
    const file = path.join(tmpDir(), 'sub', 'chat.db');
    const s = new SqliteStore(file);
    await s.start();
    await s.accounts.createUser({ id: uuidv7(), username: 'alice', passwordHash: 'h', createdAt: new Date().toISOString() });
    await s.close();
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const again = new SqliteStore(file);
    await again.start();
    expect((await again.accounts.getUserByName('alice'))?.admin).toBe(true);
    await again.close();
  });
  it('moves an existing database to the time-ordered dedupe index, and a resend stored before the move is still recognised', async () => {
    const file = path.join(tmpDir(), 'chat.db');
    const draft = (clientMsgId: string) => ({ id: uuidv7(), conversationId: 'dm:alice:bob', from: 'alice', to: 'bob', text: 'hi', kind: 'user' as const, createdAt: new Date().toISOString(), clientMsgId });
    const s = new SqliteStore(file);
    await s.start();
    await s.close();
    // The first schema's index: (from_user, client_msg_id).
    const old = openSqlite(file);
    old.exec('DROP INDEX messages_client_id; CREATE UNIQUE INDEX messages_client ON messages(from_user, client_msg_id) WHERE client_msg_id IS NOT NULL;');
    old.close();
    const before = new SqliteStore(file);
    await before.start();
    const [first] = await before.archive.appendMessages([draft('c-1')]);
    await before.close();

    const after = new SqliteStore(file);
    await after.start();
    const [again, next] = await after.archive.appendMessages([draft('c-1'), draft('c-2')]);
    await after.close();
    expect(again).toEqual(first);
    expect(next!.seq).toBe(first!.seq + 1);

    const db = openSqlite(file, { readonly: true });
    const indexes = db.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'messages' AND sql IS NOT NULL").all().map((r) => r.name);
    const columns = db.prepare<[], { name: string }>("SELECT name FROM pragma_index_info('messages_client_id') ORDER BY seqno").all().map((r) => r.name);
    const plan = db.prepare<[], { detail: string }>("EXPLAIN QUERY PLAN SELECT * FROM messages WHERE from_user = 'alice' AND client_msg_id = 'c-1'").all().map((r) => r.detail).join('; ');
    db.close();
    expect(indexes.sort()).toEqual(['messages_changed', 'messages_client_id']);
    expect(columns).toEqual(['client_msg_id', 'from_user']);
    expect(plan).toMatch(/USING INDEX messages_client_id/);
  });

  it('gives a data dir from before changes existed its new columns on start, and its messages can then change', async () => {
    const file = path.join(tmpDir(), 'chat.db');
    const old = openSqlite(file);
    // The messages table as versions before edits, deletes and reactions made it.
    old.exec(`CREATE TABLE messages (id TEXT PRIMARY KEY, conversation_id TEXT NOT NULL, seq INTEGER NOT NULL, from_user TEXT NOT NULL, to_user TEXT NOT NULL, text TEXT NOT NULL, kind TEXT NOT NULL, created_at TEXT NOT NULL, client_msg_id TEXT, UNIQUE (conversation_id, seq));
      INSERT INTO messages VALUES ('${uuidv7()}', 'dm:alice:bob', 1, 'alice', 'bob', 'from before', 'user', '2026-01-01T00:00:00.000Z', 'old-1');`);
    old.close();
    const s = new SqliteStore(file);
    await s.start();
    const [edit] = await s.archive.appendMessages([{ id: uuidv7(), conversationId: 'dm:alice:bob', from: 'alice', to: 'bob', text: 'from after', kind: 'edit', target: 1, createdAt: new Date().toISOString() }]);
    expect(edit!.seq).toBe(2);
    expect(await s.archive.get('dm:alice:bob', [1])).toEqual([expect.objectContaining({ text: 'from after', edits: 1, changedSeq: 2, clientMsgId: 'old-1' })]);
    expect((await s.archive.withPast('dm:alice:bob', 1))?.kept).toEqual({ original: 'from before', editSeqs: [2] });
    await s.close();
  });
});

describe('the SQLite threads', () => {
  /** Each thread of this process with its nice value (field 19 of /proc/<pid>/task/<tid>/stat). */
  const niceByThread = () => new Map(fs.readdirSync('/proc/self/task').map((tid) => {
    const stat = fs.readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    return [tid, Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16])] as const;
  }));

  it.runIf(process.platform === 'linux')('checkpoint on a thread below the event loop’s priority, and commit on one at it', async () => {
    const base = os.getPriority(0);
    const before = niceByThread();
    const s = new SqliteStore(path.join(tmpDir(), 'chat.db'));
    await s.start();
    const [m] = await s.archive.appendMessages([{ id: uuidv7(), conversationId: 'dm:a:b', from: 'a', to: 'b', text: 'hi', kind: 'user', createdAt: new Date().toISOString(), clientMsgId: 'c1' }]);
    expect(m?.seq).toBe(1);
    const freshNice = () => [...niceByThread()].filter(([tid]) => !before.has(tid)).map(([, nice]) => nice);
    // The checkpointer lowers its priority once its module has loaded.
    for (let i = 0; i < 100 && !freshNice().includes(Math.min(19, base + CHECKPOINTER_NICE)); i++) await new Promise((r) => setTimeout(r, 50));
    const fresh = freshNice();
    expect(fresh).toContain(Math.min(19, base + CHECKPOINTER_NICE));
    // The writer, and the threads node starts with each worker, stay at the process's priority.
    expect(fresh.filter((nice) => nice === base).length).toBeGreaterThan(0);
    expect(fresh.filter((nice) => nice !== base)).toEqual([Math.min(19, base + CHECKPOINTER_NICE)]);
    expect(niceByThread().get(String(process.pid)) ?? base).toBe(base);
    await s.close();
  });
});

describe('WAL checkpoints', () => {
  const PAGE = 4096;
  const walBytes = (file: string) => { try { return fs.statSync(`${file}-wal`).size; } catch { return 0; } };
  const until = async (cond: () => boolean, ms: number) => {
    const end = Date.now() + ms;
    while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    return cond();
  };

  /** Writes `batches` × 200 messages over 50 conversations, 200 per commit, as fast as the writer takes them; returns the WAL file's largest size. */
  const writeMany = async (s: SqliteStore, file: string, batches = 60) => {
    const text = 'x'.repeat(64);
    let biggest = 0;
    let n = 0;
    for (let b = 0; b < batches; b++) {
      await s.archive.appendMessages(Array.from({ length: 200 }, () => {
        const c = n++ % 50;
        return { id: uuidv7(), conversationId: `dm:u${c}a:u${c}b`, from: `u${c}a`, to: `u${c}b`, text, kind: 'user' as const, createdAt: new Date().toISOString(), clientMsgId: `m${n}` };
      }));
      biggest = Math.max(biggest, walBytes(file));
    }
    return biggest;
  };

  /** A started store on a fresh file, with every checkpoint event it reports. */
  const observedStore = async () => {
    const file = path.join(tmpDir(), 'chat.db');
    const s = new SqliteStore(file);
    const seen: CheckpointEvent[] = [];
    s.observeCheckpoints((c) => seen.push(c));
    await s.start();
    return { file, s, seen };
  };

  it('run on their own thread: commits do not stop to copy the WAL, which is copied meanwhile and truncated once writes stop', async () => {
    const { file, s, seen } = await observedStore();
    // 30,000 messages: since the seq index is kept in passes a commit writes about a quarter of the
    // pages it did, and 12,000 left the WAL near 1100 pages at most.
    const biggest = await writeMany(s, file, 150);
    // An in-line checkpoint (SQLite's default, every 1000 pages) restarts the WAL before it gets
    // this long (it peaked at 1011 pages that way).
    expect(biggest).toBeGreaterThan(1200 * PAGE);
    // The checkpointer copied pages meanwhile, and truncates the WAL once it sees no new writes.
    expect(await until(() => seen.some((c) => 'pages' in c && c.pages > 0), 5000)).toBe(true);
    expect(await until(() => walBytes(file) === 0, 5000)).toBe(true);
    expect(seen.filter((c) => 'error' in c)).toEqual([]);
    // Everything committed is read back from the database file.
    expect((await s.archive.history('dm:u7a:u7b', { limit: 1000 })).length).toBe(600);
    expect(await s.archive.maxSeq('dm:u49a:u49b')).toBe(600);
    await s.close();
    console.log(`WAL checkpoints: ${seen.length} passes, largest WAL ${Math.round(biggest / PAGE)} pages, ${seen.map((c) => ('pages' in c ? c.pages : c.error)).join('/')} pages copied`);
  });

  it('fall back to in-line checkpoints when the checkpointer thread dies', async () => {
    const { file, s, seen } = await observedStore();
    // The thread is private; the test ends it the way a crash would.
    await (s as unknown as { checkpointer: { worker: { terminate(): Promise<number> } } }).checkpointer.worker.terminate();
    expect(await until(() => seen.some((c) => 'error' in c && /checkpointer thread exited/.test(c.error)), 5000)).toBe(true);
    const biggest = await writeMany(s, file);
    // The writer checkpoints every 1000 pages again (with the checkpointer alive it goes past 1200).
    expect(biggest).toBeLessThan(1200 * PAGE);
    expect(await s.archive.maxSeq('dm:u49a:u49b')).toBe(240);
    await s.close();
    console.log(`without the checkpointer: largest WAL ${Math.round(biggest / PAGE)} pages`);
  });
});
