import { MESSAGE_KINDS, unmark, type ParsedSearch } from '../../../protocol/index.js';
import type { SearchIndex, SearchMatch, SearchRequest } from '../../ports/index.js';
import { decodeSearchCursor, nextSearchCursor } from '../search-cursor.js';
import type { SqliteDb, SqliteStatement } from './sqlite-driver.js';
import { rowToMessage, type MessageRow } from './sqlite-messages.js';

/**
 * Search on the embedded deployment: an FTS5 index over the messages table, in the same database,
 * written only on the writer thread.
 *
 * - New messages are indexed in batches, not in each send's commit: the indexer (search-upkeep.ts)
 *   indexes every row past `search_state.done` in one transaction, between two send batches, as
 *   often as rows arrive (every 50 ms at most), and a search first has the writer index what is
 *   pending, so a message is found as soon as its send is acknowledged. One FTS5 segment per
 *   indexing pass instead of one per group commit: in the writer microbenchmark, 1000 sends cost
 *   23 us of writer CPU each indexed this way, 38 us indexed by a trigger in each commit, 21 us
 *   not indexed.
 * - An edit of a row already indexed is indexed again by the indexer too, in its next pass: a
 *   trigger keeps, in `search_stale`, the values the index holds for the row (at its first change
 *   since it was indexed; FTS5's external content needs them to take the old words out), and the
 *   pass takes those out and indexes the row's current text. In the writer microbenchmark the
 *   triggers that replaced an edit's words in its own commit (one FTS5 segment per commit) made
 *   an edit cost 61-64 us of writer CPU against 31-36 with no index. A search has the writer run
 *   that pass first (as for new rows), so no answer finds an edit's old words once the edit is
 *   acknowledged, and none misses its new ones. A row not indexed yet is indexed later from its
 *   current text.
 * - A delete takes the row's words out of the index in the writer's own transaction (the values
 *   the index holds: `search_stale`'s when the row was edited since), and forgets its stale
 *   values there: a deleted message is out of the index when its delete is acknowledged.
 *
 * - Tokenizer: `unicode61 remove_diacritics 2` (SQLite's Unicode 6.1 word splitter): case- and
 *   accent-insensitive for every script that separates words (Latin, Cyrillic, Greek, Arabic,
 *   Hebrew, Devanagari…). Scripts written without spaces (Chinese, Japanese, Thai) are indexed as
 *   runs between punctuation: a word inside a run is not found on its own (README, search).
 *   `trigram` would find those, at about three times the index size and with no stemming of any
 *   kind; ICU is not in any bundled SQLite.
 * - External content: the index holds tokens only; the text stays in `messages` (read through the
 *   `messages_search` view, which also gives each row its scope token).
 * - Scope: each row is indexed with one token naming its conversation (`c` + the id in hex), so a
 *   query is restricted to the user's conversations inside FTS5 itself, not by filtering matches.
 * - FTS5's `secure-delete` (which removes a deleted row's tokens at once) is turned on only where
 *   SQLite is 3.54.0 or later: CVE-2026-119374 (a heap overflow in that code on a corrupted index)
 *   is fixed there, and every SQLite our drivers bundle today is older (better-sqlite3 12.11.1:
 *   3.53.2; Node 24's node:sqlite: 3.53.4; Node 22's: 3.51.3). Until then a deleted message is out
 *   of every answer at once, and its tokens leave the file at the next purge (`optimize`, which
 *   rewrites the index without them; CHAT_SEARCH_PURGE_SECONDS, README).
 */

const KINDS = MESSAGE_KINDS.map((k) => `'${k}'`).join(', ');
const SCOPE = (col: string) => `'c' || hex(${col})`;
/** The names of a row's files, space-separated ('' without files): indexed in their own column. */
const NAMES = (extra: string) => `COALESCE((SELECT group_concat(j.value ->> 'name', ' ') FROM json_each(${extra}, '$.files') j), '')`;
/** Whether a row has anything to index: text, or files. */
const INDEXABLE = (text: string, extra: string) => `(${text} <> '' OR json_type(${extra}, '$.files') IS NOT NULL)`;
/** Whether a row is in the index: the indexer has passed it. */
const INDEXED = (rowid: string) => `${rowid} <= (SELECT done FROM search_state)`;

/** In a trigger: takes `old`'s row out of the index, with the values the index holds for it, and forgets its stale values. */
const REMOVE_OLD = `INSERT INTO messages_fts (messages_fts, rowid, text, names, scope)
    SELECT 'delete', old.rowid, s.text, s.names, s.scope FROM search_stale s WHERE s.rid = old.rowid AND s.text IS NOT NULL
    UNION ALL SELECT 'delete', old.rowid, old.text, ${NAMES('old.extra')}, ${SCOPE('old.conversation_id')} WHERE ${INDEXABLE('old.text', 'old.extra')} AND NOT EXISTS (SELECT 1 FROM search_stale s WHERE s.rid = old.rowid);
  DELETE FROM search_stale WHERE rid = old.rowid;
  UPDATE search_state SET replaced = replaced + 1;`;

const SCHEMA = `
CREATE VIEW IF NOT EXISTS messages_search AS
  SELECT rowid AS rid, text, ${NAMES('extra')} AS names, ${SCOPE('conversation_id')} AS scope FROM messages WHERE kind IN (${KINDS}) AND ${INDEXABLE('text', 'extra')};
-- New rows are indexed by the indexer, in order of rowid (chatd never deletes a message row, so rowids only grow).
DROP TRIGGER IF EXISTS messages_search_insert;
-- What the index holds for a row whose text or files changed since it was indexed (text NULL: it
-- held nothing for it), until the indexer's next pass indexes it again.
CREATE TABLE IF NOT EXISTS search_stale (rid INTEGER PRIMARY KEY, text TEXT, names TEXT NOT NULL, scope TEXT NOT NULL);
-- An edit: the row is indexed again by the indexer (the values the index holds are kept once).
DROP TRIGGER IF EXISTS messages_search_update;
CREATE TRIGGER messages_search_update AFTER UPDATE OF text, extra ON messages
  WHEN (old.text IS NOT new.text OR old.extra IS NOT new.extra) AND old.kind IN (${KINDS}) AND ${INDEXED('old.rowid')} AND ${INDEXABLE('new.text', 'new.extra')}
    AND NOT EXISTS (SELECT 1 FROM search_stale s WHERE s.rid = old.rowid) BEGIN
  INSERT INTO search_stale (rid, text, names, scope) SELECT old.rowid, CASE WHEN ${INDEXABLE('old.text', 'old.extra')} THEN old.text END, ${NAMES('old.extra')}, ${SCOPE('old.conversation_id')};
END;
-- A delete (nothing left to index: no text, no files) or a removed row: out of the index at once.
DROP TRIGGER IF EXISTS messages_search_remove;
CREATE TRIGGER messages_search_remove AFTER UPDATE OF text, extra ON messages
  WHEN (old.text IS NOT new.text OR old.extra IS NOT new.extra) AND old.kind IN (${KINDS}) AND ${INDEXED('old.rowid')} AND NOT ${INDEXABLE('new.text', 'new.extra')} BEGIN
  ${REMOVE_OLD}
END;
DROP TRIGGER IF EXISTS messages_search_delete;
CREATE TRIGGER messages_search_delete AFTER DELETE ON messages
  WHEN old.kind IN (${KINDS}) AND ${INDEXED('old.rowid')} BEGIN
  ${REMOVE_OLD}
END;
`;

/** Whether this SQLite's FTS5 secure-delete is safe to use (see above). */
export function secureDeleteSafe(version: string): boolean {
  const [a = 0, b = 0] = version.split('.').map(Number);
  return a > 3 || (a === 3 && b >= 54);
}

/**
 * Creates the index (on the connection that owns the schema, before the writer starts). In a data
 * dir from before search every stored message is past `done` (0): the indexer indexes them all,
 * in chunks between send batches, with progress in the log.
 */
export function searchSchema(db: SqliteDb) {
  let existed = db.prepare<[], { n: number }>("SELECT COUNT(*) AS n FROM sqlite_master WHERE name = 'messages_fts'").get()!.n > 0;
  // An index from before files had no names column: it is rebuilt (indexed again between send batches).
  if (existed && !db.prepare<[], { name: string }>("SELECT name FROM pragma_table_info('messages_fts')").all().some((c) => c.name === 'names')) {
    dropSearch(db);
    existed = false;
  }
  if (!existed) {
    db.exec('DROP TABLE IF EXISTS search_state');
    db.exec('DROP VIEW IF EXISTS messages_search');
    db.exec("CREATE VIRTUAL TABLE messages_fts USING fts5(text, names, scope, content='messages_search', content_rowid='rid', tokenize='unicode61 remove_diacritics 2')");
    // Ranked by the text and the file names (the scope token is in every row of a conversation).
    db.exec("INSERT INTO messages_fts (messages_fts, rank) VALUES ('rank', 'bm25(1.0, 1.0, 0.0)')");
  }
  db.exec('CREATE TABLE IF NOT EXISTS search_state (id INTEGER PRIMARY KEY CHECK (id = 1), done INTEGER NOT NULL, replaced INTEGER NOT NULL); INSERT OR IGNORE INTO search_state (id, done, replaced) VALUES (1, 0, 0);');
  db.exec(SCHEMA);
  const version = db.prepare<[], { v: string }>('SELECT sqlite_version() AS v').get()!.v;
  db.exec(`INSERT INTO messages_fts (messages_fts, rank) VALUES ('secure-delete', ${secureDeleteSafe(version) ? 1 : 0})`);
  // Merges start at 8 segments of a level, not FTS5's 4: each pass (a few thousand rows) makes a
  // segment, and merging them half as often cut the indexer's time a row by 16% (3.1 to 2.6 us,
  // bench-like rows in passes of 1,200), for about 10% more time a query (more segments to read).
  db.exec(`INSERT INTO messages_fts (messages_fts, rank) VALUES ('automerge', ${FTS_AUTOMERGE})`);
}

/** Segments of one level that FTS5 merges into one (its default is 4). */
export const FTS_AUTOMERGE = 8;

/** Removes the index and its triggers (CHAT_SEARCH_INDEX=off): sends no longer pay for it. Turned on again, it is rebuilt. */
export function dropSearch(db: SqliteDb) {
  db.exec('DROP TRIGGER IF EXISTS messages_search_insert; DROP TRIGGER IF EXISTS messages_search_update; DROP TRIGGER IF EXISTS messages_search_remove; DROP TRIGGER IF EXISTS messages_search_delete; DROP TABLE IF EXISTS messages_fts; DROP VIEW IF EXISTS messages_search; DROP TABLE IF EXISTS search_state; DROP TABLE IF EXISTS search_stale;');
}

/** Where the indexer stands: rows up to `done` are indexed, of those up to `target` (the newest row); `stale`: edited rows still to index again. */
export interface BackfillState { done: number; target: number; stale: number }

/** Whether the index is current: every row indexed, and every edited one indexed again. */
export const caughtUp = (s: BackfillState) => s.done >= s.target && s.stale === 0;

/**
 * One indexer pass in one transaction (on the writer's connection): the edited rows' words
 * replaced (up to `chunk` rows), then the next `chunk` rows past `done` indexed.
 */
export function backfillSearch(db: SqliteDb, chunk: number): BackfillState {
  return db.transaction(() => {
    const { done } = db.prepare<[], { done: number }>('SELECT done FROM search_state').get()!;
    const stale = db.prepare<[number], { rid: number; had: number }>('SELECT rid, text IS NOT NULL AS had FROM search_stale ORDER BY rid LIMIT ?').all(chunk);
    if (stale.length) {
      const last = stale[stale.length - 1]!.rid;
      db.prepare("INSERT INTO messages_fts (messages_fts, rowid, text, names, scope) SELECT 'delete', rid, text, names, scope FROM search_stale WHERE rid <= ? AND text IS NOT NULL").run(last);
      db.prepare('INSERT INTO messages_fts (rowid, text, names, scope) SELECT v.rid, v.text, v.names, v.scope FROM search_stale s JOIN messages_search v ON v.rid = s.rid WHERE s.rid <= ?').run(last);
      db.prepare('DELETE FROM search_stale WHERE rid <= ?').run(last);
      db.prepare('UPDATE search_state SET replaced = replaced + ?').run(stale.filter((r) => r.had).length);
    }
    const left = stale.length < chunk ? 0 : db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM search_stale').get()!.n;
    const target = db.prepare<[], { m: number | null }>('SELECT MAX(rowid) AS m FROM messages').get()!.m ?? 0;
    if (done >= target) return { done, target, stale: left };
    const upTo = Math.min(target, done + chunk);
    db.prepare('INSERT INTO messages_fts (rowid, text, names, scope) SELECT rid, text, names, scope FROM messages_search WHERE rid > ? AND rid <= ?').run(done, upTo);
    db.prepare('UPDATE search_state SET done = ?').run(upTo);
    return { done: upTo, target, stale: left };
  }).immediate();
}

/**
 * One indexer pass as the writer thread runs it: its commit is not fsynced (synchronous=NORMAL for
 * this transaction alone), so sends queued behind a pass no longer wait for its fsync too. Nothing
 * acknowledged depends on it: the next send's commit (FULL) syncs the WAL, the pass's frames with
 * it, and a power loss before that rolls the pass back whole (WAL with NORMAL stays consistent),
 * `done` included, so the indexer redoes it. A deletion's words leave the index in the deletion's
 * own commit (the triggers above), never in a pass. The connection is back at its own setting
 * (FULL, from `configure`) when this returns or throws: every send commits at it. `pass` is the
 * pass itself (a test observes the setting during it).
 */
export function indexPass(db: SqliteDb, chunk: number, pass: (db: SqliteDb, chunk: number) => BackfillState = backfillSearch): BackfillState {
  const own = (db.pragma('synchronous') as { synchronous: number }[])[0]!.synchronous;
  db.pragma('synchronous = NORMAL');
  try {
    return pass(db, chunk);
  } finally {
    db.pragma(`synchronous = ${own}`);
  }
}

/**
 * Rewrites the index without the tokens of deleted and replaced texts (FTS5 `optimize`), when any
 * were replaced since the last purge; nothing otherwise. Returns how many had been replaced.
 */
export function purgeSearch(db: SqliteDb): number {
  const { replaced } = db.prepare<[], { replaced: number }>('SELECT replaced FROM search_state').get()!;
  if (replaced === 0) return 0;
  db.transaction(() => {
    db.exec("INSERT INTO messages_fts (messages_fts) VALUES ('optimize')");
    db.prepare('UPDATE search_state SET replaced = replaced - ?').run(replaced);
  }).immediate();
  return replaced;
}

const OPEN = '\uE000';
const CLOSE = '\uE001';
/** A phrase as an FTS5 string: its words only (letters, marks, digits), quoted. Never the user's syntax. */
const phrase = (words: string[]) => `"${words.join(' ').replaceAll('"', '""')}"`;

/** The FTS5 MATCH expression of a query: the scopes' tokens, the terms that must match, those that must not. */
export function matchExpression(q: ParsedSearch, scopes: string[]): string {
  const scope = `{scope} : (${scopes.map((c) => `c${Buffer.from(c, 'utf8').toString('hex').toUpperCase()}`).join(' OR ')})`;
  const must = q.terms.filter((t) => !t.excluded).map((t) => phrase(t.words));
  const mustNot = q.terms.filter((t) => t.excluded).map((t) => phrase(t.words));
  // Words are looked for in the text and in the names of the message's files.
  let expr = must.length ? `(${scope} AND {text names} : (${must.join(' AND ')}))` : `(${scope})`;
  for (const n of mustNot) expr = `(${expr} NOT {text names} : ${n})`;
  return expr;
}

/** The day after an ISO date, as an ISO date. */
const nextDay = (d: string) => new Date(Date.parse(`${d}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);

/** A snippet on one line, with the matches' offsets (whitespace becomes spaces: the offsets stay). */
function snippetOf(marked: string, text: string): { snippet: string; matches: [number, number][] } {
  // Text that carries the markers itself cannot be told apart from them: no highlights.
  if (text.includes(OPEN) || text.includes(CLOSE)) return { snippet: text.slice(0, 120).replace(/\s/gu, ' '), matches: [] };
  const u = unmark(marked, OPEN, CLOSE);
  return { snippet: u.text.replace(/\s/gu, ' '), matches: u.matches };
}

/** Search over the embedded index, on the event loop's connection (WAL: reads never wait for the writer). */
export class SqliteSearch implements SearchIndex {
  private readonly statements = new Map<string, SqliteStatement<Record<string, unknown>, MessageRow & { snip: string; snipNames: string; rid: number }>>();

  /** `flush` has the writer index every row stored so far (what a search must find). */
  constructor(private readonly db: SqliteDb, private readonly flush: () => Promise<void>) {}

  async search(r: SearchRequest): Promise<{ hits: SearchMatch[]; next: string | null }> {
    const q = r.query;
    // Newest first, a page starts below the last hit's rowid.
    const start = decodeSearchCursor(r.cursor, r.sort, (v) => typeof v === 'number' && Number.isSafeInteger(v) && v > 0);
    if (r.scopes.length === 0) return { hits: [], next: null };
    await this.flush();
    const where = ['messages_fts MATCH :match'];
    const params: Record<string, unknown> = { match: matchExpression(q, r.scopes.map((s) => s.conversationId)), limit: r.limit + 1 };
    const limited = r.scopes.filter((s) => s.upTo < Number.MAX_SAFE_INTEGER).map((s) => ({ c: s.conversationId, u: s.upTo }));
    if (limited.length) {
      where.push("NOT EXISTS (SELECT 1 FROM json_each(:limited) s WHERE s.value ->> 'c' = m.conversation_id AND m.seq > s.value ->> 'u')");
      params.limited = JSON.stringify(limited);
    }
    if (q.from.length) {
      where.push('m.from_user IN (SELECT value FROM json_each(:from))');
      params.from = JSON.stringify(q.from);
    }
    if (q.before !== undefined) {
      where.push('m.created_at < :before');
      params.before = q.before;
    }
    if (q.after !== undefined) {
      where.push('m.created_at >= :after');
      params.after = nextDay(q.after);
    }
    if (q.isMention) {
      where.push("m.extra IS NOT NULL AND EXISTS (SELECT 1 FROM json_each(m.extra, '$.mentions') j WHERE j.value = :me)");
      params.me = r.me;
    }
    if (q.hasFile) where.push("m.extra IS NOT NULL AND json_type(m.extra, '$.files') = 'array'");
    const order = r.sort === 'recent' ? 'f.rowid DESC' : 'rank, f.rowid DESC';
    if (start.after !== undefined) {
      where.push('f.rowid < :below');
      params.below = start.after;
    }
    params.offset = start.offset;
    // The snippet of the text, or of the file names when the words matched only there.
    const sql = `SELECT m.*, snippet(messages_fts, 0, '${OPEN}', '${CLOSE}', '…', 16) AS snip, snippet(messages_fts, 1, '${OPEN}', '${CLOSE}', '…', 16) AS snipNames, f.rowid AS rid
      FROM messages_fts f JOIN messages m ON m.rowid = f.rowid
      WHERE ${where.join(' AND ')} ORDER BY ${order} LIMIT :limit OFFSET :offset`;
    let stmt = this.statements.get(sql);
    if (!stmt) this.statements.set(sql, (stmt = this.db.prepare(sql)));
    const rows = stmt.all(params);
    const more = rows.length > r.limit;
    const page = rows.slice(0, r.limit);
    const hits = page.map((row) => {
      const message = rowToMessage(row);
      const inNames = !row.snip.includes(OPEN) && row.snipNames.includes(OPEN);
      return { message, ...(inNames ? snippetOf(row.snipNames, (message.files ?? []).map((f) => f.name).join(' ')) : snippetOf(row.snip, row.text)) };
    });
    return { hits, next: nextSearchCursor(more, r.sort, start.offset, r.limit, page[page.length - 1]?.rid) };
  }
}
