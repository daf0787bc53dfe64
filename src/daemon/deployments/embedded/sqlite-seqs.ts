import type { SqliteDb } from './sqlite-driver.js';

/**
 * The embedded store's index of messages by (conversation, seq), kept in passes.
 *
 * An index maintained in each send's commit costs that commit one B-tree leaf per conversation it
 * touches, and a busy commit touches most of the active conversations: at 55 messages a commit over
 * 50 conversations it wrote 65 of the commit's 80 WAL pages (a writer microbenchmark: 17.1 µs of
 * CPU per message with it, 10.9 without). So the messages table has no index on (conversation_id,
 * seq); `message_seqs` holds (conversation_id, seq) → rowid for every row up to
 * `message_seqs_state.done`, and the writer adds the rows past it in the commit that takes the tail
 * past `SEQ_INDEX_ROWS`: one leaf per conversation per pass instead of per commit.
 *
 * Reads take both parts in one statement (so one snapshot: a pass moves rows from the tail to the
 * index atomically): the indexed rows through `message_seqs`, and the tail, at most
 * `SEQ_INDEX_ROWS` rows past `done`, by rowid. Within one statement a compound SELECT with ORDER BY
 * merges the two sides in order, so a page of history reads its rows from the index and stops.
 * Seqs stay unique by construction (the writer sequences, and `write` checks a given seq first);
 * the index's primary key refuses a duplicate should one ever be written.
 */
export const SEQ_INDEX_SCHEMA = `
CREATE TABLE IF NOT EXISTS message_seqs (
  conversation_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  rid INTEGER NOT NULL,
  PRIMARY KEY (conversation_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS message_seqs_state (id INTEGER PRIMARY KEY CHECK (id = 1), done INTEGER NOT NULL);
INSERT OR IGNORE INTO message_seqs_state (id, done) VALUES (1, 0);
`;

/** Rows the tail may hold before the writer indexes it (reads scan the tail: a fraction of a millisecond at this size). */
export const SEQ_INDEX_ROWS = 1000;

/** The tail's condition on `messages m`. */
const TAIL = 'm.rowid > (SELECT done FROM message_seqs_state)';

/** A message row's columns, (conversation_id, seq) taken from `from` (the index side's `s`, or `m`): a compound's ORDER BY seq then follows the index. */
const rowColumns = (from: 's' | 'm') => `m.id, ${from}.conversation_id, ${from}.seq, m.from_user, m.to_user, m.text, m.kind, m.created_at, m.client_msg_id, m.extra, m.state, m.changed_seq`;

/**
 * The rows of one conversation that satisfy `cond`, as the two sides of a UNION ALL. `cond` names
 * the seq `$seq` and other columns as `m.<column>`; `select` is the selected list (the full row
 * when not given). The caller binds the conversation and the condition's parameters twice
 * (`twice`), then what follows (ORDER BY, LIMIT).
 */
export function conversationRows(cond: string, select?: string): string {
  const side = (from: 's' | 'm') => {
    const where = `${from}.conversation_id = ? AND ${cond.replaceAll('$seq', `${from}.seq`)}`;
    const sel = select ?? rowColumns(from);
    return from === 's' ? `SELECT ${sel} FROM message_seqs s JOIN messages m ON m.rowid = s.rid WHERE ${where}` : `SELECT ${sel} FROM messages m WHERE ${TAIL} AND ${where}`;
  };
  return `${side('s')} UNION ALL ${side('m')}`;
}

/** The parameters of a `conversationRows` statement: the conversation and the condition's, once per side. */
export const twice = <T extends unknown[]>(conversationId: string, ...params: T) => [conversationId, ...params, conversationId, ...params] as const;

/**
 * The rowid of (conversation, seq), or null; one statement. The tail is scanned only when the index
 * does not have it (COALESCE evaluates its second argument only then), newest row first: what a
 * reply or a reaction names first is mostly a message just sent (measured on the event loop's
 * connection with 950 rows in the tail: 41 µs for the newest before, 12-13 µs after; 7-10 µs from
 * the index; a seq that does not exist reads the whole tail, 36-60 µs).
 */
export const ROWID_BY_SEQ = `SELECT COALESCE((SELECT s.rid FROM message_seqs s WHERE s.conversation_id = ? AND s.seq = ?), (SELECT m.rowid FROM messages m WHERE ${TAIL} AND m.conversation_id = ? AND m.seq = ? ORDER BY m.rowid DESC LIMIT 1)) AS rid`;

/** A conversation's highest seq (null when it has none); one statement, each side by its own order. */
export const MAX_SEQ = `SELECT MAX(s) AS s FROM (SELECT MAX(seq) AS s FROM message_seqs WHERE conversation_id = ? UNION ALL SELECT MAX(m.seq) FROM messages m WHERE ${TAIL} AND m.conversation_id = ?)`;

/**
 * The rowid of conversation `<conv>`'s newest message (a correlated subquery: `<conv>` is an outer
 * column), or null. Each side reads one entry of its order (a MAX with a bare column would scan).
 */
export const headRowid = (conv: string) => `(SELECT rid FROM (
  SELECT * FROM (SELECT s.rid AS rid, s.seq AS seq FROM message_seqs s WHERE s.conversation_id = ${conv} ORDER BY s.seq DESC LIMIT 1)
  UNION ALL SELECT * FROM (SELECT m.rowid AS rid, m.seq AS seq FROM messages m WHERE ${TAIL} AND m.conversation_id = ${conv} ORDER BY m.seq DESC LIMIT 1)
) ORDER BY seq DESC LIMIT 1)`;

/** The pass's statements: the rows past `done` up to a rowid into the index, and the new `done`. */
const passStatements = (db: SqliteDb) => ({
  take: db.prepare<[number, number]>('INSERT INTO message_seqs (conversation_id, seq, rid) SELECT conversation_id, seq, rowid FROM messages WHERE rowid > ? AND rowid <= ?'),
  setDone: db.prepare<[number]>('UPDATE message_seqs_state SET done = ?'),
  state: db.prepare<[], { done: number }>('SELECT done FROM message_seqs_state'),
  last: db.prepare<[], { m: number | null }>('SELECT MAX(rowid) AS m FROM messages'),
});

/**
 * The seq index's writes on the writer's connection: the pass, and the writer's own lookups by
 * (conversation, seq). Those go to a map of the tail's rows (every row past `done`: loaded when
 * this is made, added to as rows are inserted, emptied by each pass), then to the index: no tail
 * scan on the writer, whose lookups (a change's target, a given seq) mostly name recent messages.
 */
export function seqIndexWrites(db: SqliteDb) {
  const { take, setDone, state, last } = passStatements(db);
  const indexed = db.prepare<[string, number], { rid: number }>('SELECT rid FROM message_seqs WHERE conversation_id = ? AND seq = ?');
  const tailRows = db.prepare<[number], { c: string; seq: number; r: number }>('SELECT conversation_id AS c, seq, rowid AS r FROM messages WHERE rowid > ?');
  let done = state.get()!.done;
  /** conversation → seq → rowid, for the rows past `done`. */
  const tail = new Map<string, Map<number, number>>();
  /** What the open transaction added to `tail`, taken out again if it rolls back. */
  let added: [string, number][] = [];
  const remember = (c: string, seq: number, rowid: number) => {
    let m = tail.get(c);
    if (!m) tail.set(c, (m = new Map()));
    m.set(seq, rowid);
  };
  for (const r of tailRows.all(done)) remember(r.c, r.seq, r.r);
  return {
    /** A row inserted in the open transaction. */
    inserted(c: string, seq: number, rowid: number) {
      remember(c, seq, rowid);
      added.push([c, seq]);
    },
    /** The rowid of (conversation, seq), or undefined. */
    rowid: (c: string, seq: number): number | undefined => tail.get(c)?.get(seq) ?? indexed.get(c, seq)?.rid,
    /** Inside the caller's transaction: indexes the tail up to `newest` (a rowid) once it holds `atLeast` rows. Returns the new `done`, to keep once committed. */
    pass(newest: number, atLeast = SEQ_INDEX_ROWS): number {
      if (newest - done < atLeast) return done;
      take.run(done, newest);
      setDone.run(newest);
      return newest;
    },
    /** After a commit: where the index stands. */
    committed(d: number) {
      added = [];
      if (d === done) return;
      done = d;
      tail.clear();
    },
    /** After a rollback: the transaction's rows are gone. */
    rolledBack() {
      for (const [c, seq] of added) tail.get(c)?.delete(seq);
      added = [];
    },
    /** The newest rowid stored. */
    newest: () => last.get()!.m ?? 0,
  };
}

/** On start: indexes whatever the tail holds (up to SEQ_INDEX_ROWS rows; every row of a data dir just moved to the seq index). */
export function catchUpSeqIndex(db: SqliteDb) {
  const { take, setDone, state, last } = passStatements(db);
  db.transaction(() => {
    const done = state.get()!.done;
    const newest = last.get()!.m ?? 0;
    if (newest <= done) return;
    take.run(done, newest);
    setDone.run(newest);
  }).immediate();
}
