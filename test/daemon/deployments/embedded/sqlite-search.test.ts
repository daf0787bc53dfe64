/**
 * The embedded FTS5 index under edits, deletes and indexer passes in any order: an edit's words
 * are replaced by the indexer's next pass (search_stale keeps what the index holds until then), a
 * delete's leave in its own transaction. Whatever the interleaving, once the indexer has caught up
 * the index answers exactly what the messages now say, and FTS5's own integrity check passes.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { v7 as uuidv7 } from 'uuid';
import { openSqlite, type SqliteDb } from '../../../../src/daemon/deployments/embedded/sqlite-driver.js';
import { configure, messageWrites } from '../../../../src/daemon/deployments/embedded/sqlite-messages.js';
import { messagesSchema } from '../../../../src/daemon/deployments/embedded/sqlite-archive.js';
import { FTS_AUTOMERGE, backfillSearch, caughtUp, indexPass, searchSchema } from '../../../../src/daemon/deployments/embedded/sqlite-search.js';
import type { MessageDraft } from '../../../../src/daemon/ports/index.js';
import { tmpDir } from '../../../support/daemon.js';
import { seeded } from '../../../support/seeded.js';

const WORDS = ['amber', 'basil', 'cedar', 'delta', 'ember', 'fjord', 'gamma', 'heron', 'iris', 'juniper', 'kelp', 'lumen'];

function open(): SqliteDb {
  const db = openSqlite(path.join(tmpDir('chat-fts-'), 'chat.db'));
  configure(db);
  messagesSchema(db);
  searchSchema(db);
  return db;
}

const CONV = 'dm:ann:bob';
const draft = (kind: MessageDraft['kind'], text: string, target?: number): MessageDraft => {
  const d: MessageDraft = { id: uuidv7(), conversationId: CONV, from: 'ann', to: 'bob', text, kind, createdAt: new Date().toISOString() };
  if (target !== undefined) d.target = target;
  return d;
};

/** The seqs the index matches for a word, and the seqs whose current text has it. */
function compare(db: SqliteDb) {
  const found = db.prepare<[string], { seq: number }>('SELECT m.seq FROM messages_fts f JOIN messages m ON m.rowid = f.rowid WHERE messages_fts MATCH ? ORDER BY m.seq');
  const rows = db.prepare<[], { seq: number; text: string }>("SELECT seq, text FROM messages WHERE kind = 'user' ORDER BY seq").all();
  let wrong = 0;
  for (const w of WORDS) {
    const got = found.all(`text : "${w}"`).map((r) => r.seq);
    const want = rows.filter((r) => r.text.split(' ').includes(w)).map((r) => r.seq);
    if (JSON.stringify(got) !== JSON.stringify(want)) wrong++;
  }
  return wrong;
}

describe('the embedded search index under edits and deletes', () => {
  it('answers what the messages now say once the indexer caught up, whatever the order of edits, deletes and passes (seeded)', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const db = open();
      const writes = messageWrites(db);
      const rand = seeded(seed);
      const pick = <T,>(xs: T[]) => xs[Math.floor(rand() * xs.length)]!;
      const text = () => Array.from({ length: 1 + Math.floor(rand() * 4) }, () => pick(WORDS)).join(' ');
      const live: number[] = [];
      const counts = { sends: 0, edits: 0, deletes: 0, passes: 0, checks: 0, wrong: 0, staleSeen: 0 };
      for (let i = 0; i < 600; i++) {
        const r = rand();
        if (r < 0.35 || live.length === 0) {
          const [res] = writes.append([draft('user', text())]);
          live.push((res as { seq: number }).seq);
          counts.sends++;
        } else if (r < 0.7) {
          writes.append([draft('edit', text(), pick(live))]);
          counts.edits++;
        } else if (r < 0.8) {
          const target = live.splice(Math.floor(rand() * live.length), 1)[0]!;
          writes.append([draft('delete', '', target)]);
          counts.deletes++;
        } else {
          counts.staleSeen += db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM search_stale').get()!.n;
          backfillSearch(db, 1 + Math.floor(rand() * 40));
          counts.passes++;
        }
        if (i % 100 === 99) {
          while (!caughtUp(backfillSearch(db, 50)));
          counts.checks++;
          counts.wrong += compare(db);
          // FTS5's own check of the index's structure.
          db.exec("INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 0)");
        }
      }
      while (!caughtUp(backfillSearch(db, 50)));
      counts.wrong += compare(db);
      db.exec("INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 0)");
      const stale = db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM search_stale').get()!.n;
      console.log(`seed ${seed}: ${counts.sends} sends, ${counts.edits} edits, ${counts.deletes} deletes, ${counts.passes} indexer passes (stale rows waiting at them: ${counts.staleSeen}); ${counts.checks + 1} checks of ${WORDS.length} words: ${counts.wrong} wrong; stale left ${stale}`);
      expect(counts.staleSeen).toBeGreaterThan(0);
      expect(counts.wrong).toBe(0);
      expect(stale).toBe(0);
      db.close();
    }
  });

  it('keeps an edit for the indexer and takes a delete out at once, with the words the index holds', () => {
    const db = open();
    const writes = messageWrites(db);
    const [sent] = writes.append([draft('user', 'amber basil')]);
    const seq = (sent as { seq: number }).seq;
    backfillSearch(db, 100);
    const match = (w: string) => db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM messages_fts WHERE messages_fts MATCH ?').get(`text : "${w}"`)!.n;
    writes.append([draft('edit', 'cedar delta', seq)]);
    writes.append([draft('edit', 'ember fjord', seq)]);
    // Until the pass, the index holds the first text; the stale row keeps it (once, from before the first edit).
    expect(db.prepare('SELECT text FROM search_stale').all()).toEqual([{ text: 'amber basil' }]);
    expect([match('amber'), match('cedar'), match('ember')]).toEqual([1, 0, 0]);
    expect(caughtUp(backfillSearch(db, 100))).toBe(true);
    expect([match('amber'), match('cedar'), match('ember')]).toEqual([0, 0, 1]);
    // Edited, then deleted before the pass: the delete takes out what the index holds (the text before the edit), and the stale copy.
    writes.append([draft('edit', 'gamma heron', seq)]);
    writes.append([draft('delete', '', seq)]);
    expect(db.prepare('SELECT COUNT(*) AS n FROM search_stale').get()).toEqual({ n: 0 });
    expect([match('ember'), match('gamma')]).toEqual([0, 0]);
    db.exec("INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 0)");
    db.close();
  });

  it('merges segments at the configured width, in a new index and in one from before the setting', () => {
    const db = open();
    const automerge = () => db.prepare<[], { v: number }>("SELECT v FROM messages_fts_config WHERE k = 'automerge'").get()?.v;
    expect(automerge()).toBe(FTS_AUTOMERGE);
    // An index made before the setting had FTS5's default: the next start sets it.
    db.exec("INSERT INTO messages_fts (messages_fts, rank) VALUES ('automerge', 4)");
    expect(automerge()).toBe(4);
    searchSchema(db);
    expect(automerge()).toBe(FTS_AUTOMERGE);
  });

  it("commits the writer's index pass without an fsync, and puts the connection back at FULL after it, even when it fails", () => {
    const db = open();
    const writes = messageWrites(db);
    const sync = () => (db.pragma('synchronous') as { synchronous: number }[])[0]!.synchronous;
    expect(sync()).toBe(2); // FULL: how every connection is opened
    // During the pass the connection is at NORMAL (1): its commit does not wait for the disk.
    const during: unknown[] = [];
    indexPass(db, 100, (d, chunk) => { during.push(sync()); return backfillSearch(d, chunk); });
    expect(during).toEqual([1]);
    expect(sync()).toBe(2);
    // A real pass indexes as before, and leaves the connection at FULL for the next send.
    writes.append([draft('user', 'iris juniper')]);
    expect(caughtUp(indexPass(db, 100))).toBe(true);
    expect(db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM messages_fts WHERE messages_fts MATCH ?').get('text : "juniper"')!.n).toBe(1);
    expect(sync()).toBe(2);
    // A pass that fails leaves the connection at FULL too: the next send must not lose its fsync.
    writes.append([draft('user', 'kelp lumen')]);
    db.exec('DROP TABLE messages_fts');
    expect(() => indexPass(db, 100)).toThrow(/messages_fts/);
    expect(sync()).toBe(2);
    db.close();
  });
});
