import type { Message } from '../../../protocol/index.js';
import type { ConversationRecord, HistoryRange, MessageDraft } from '../../ports/index.js';
import type { MessageArchive } from '../archive.js';
import type { SqliteDb } from './sqlite-driver.js';
import { rowToMessage, rowWithPast, withSeq, type AppendResult, type MessageRow } from './sqlite-messages.js';
import { catchUpSeqIndex, conversationRows, headRowid, MAX_SEQ, ROWID_BY_SEQ, SEQ_INDEX_SCHEMA, twice } from './sqlite-seqs.js';

/** The messages table. By (conversation, seq) its rows are found through `message_seqs` (sqlite-seqs.ts). */
const messagesTable = (name: string) => `
CREATE TABLE IF NOT EXISTS ${name} (
  id TEXT PRIMARY KEY,
  conversation_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  from_user TEXT NOT NULL,
  to_user TEXT NOT NULL,
  text TEXT NOT NULL,
  kind TEXT NOT NULL,
  created_at TEXT NOT NULL,
  client_msg_id TEXT,
  extra TEXT,
  state TEXT,
  changed_seq INTEGER
);`;
const COLUMNS = 'id, conversation_id, seq, from_user, to_user, text, kind, created_at, client_msg_id, extra, state, changed_seq';
/** Columns later versions added, with their types: a data dir from before gets them on start. */
const ADDED_COLUMNS = { extra: 'TEXT', state: 'TEXT', changed_seq: 'INTEGER' } as const;
const MESSAGES_INDEXES = `
-- Dedupe of resends. The client's id leads the key: clients make it time-ordered (UUIDv7), so
-- each group commit appends to one or two leaf pages of this index instead of dirtying one per
-- sender. (from_user, client_msg_id), the first key order, is replaced in place on start.
CREATE UNIQUE INDEX IF NOT EXISTS messages_client_id ON messages(client_msg_id, from_user) WHERE client_msg_id IS NOT NULL;
DROP INDEX IF EXISTS messages_client;
-- Which messages changed since a seq (catch-up). Partial: a plain send has no changed_seq, so it costs a send nothing.
CREATE INDEX IF NOT EXISTS messages_changed ON messages(conversation_id, changed_seq) WHERE changed_seq IS NOT NULL;
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
`;

/**
 * Creates the messages tables, or brings an older data dir's up to date: columns are added in
 * place, instantly; a table from before the seq index (its UNIQUE (conversation_id, seq) kept in
 * every commit) is copied into one without it, rowids kept (the search index refers to them),
 * once, in one transaction, and the seq index is then built from every row.
 */
export function messagesSchema(db: SqliteDb) {
  db.exec(messagesTable('messages'));
  const have = new Set((db.pragma('table_info(messages)') as { name: string }[]).map((c) => c.name));
  for (const [name, type] of Object.entries(ADDED_COLUMNS)) if (!have.has(name)) db.exec(`ALTER TABLE messages ADD COLUMN ${name} ${type}`);
  const { sql } = db.prepare<[], { sql: string }>("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'messages'").get()!;
  if (/UNIQUE\s*\(\s*conversation_id\s*,\s*seq\s*\)/i.test(sql)) {
    db.transaction(() => {
      // The search view and triggers refer to the table: searchSchema makes them again (after this).
      db.exec('DROP VIEW IF EXISTS messages_search; DROP TRIGGER IF EXISTS messages_search_update; DROP TRIGGER IF EXISTS messages_search_delete; DROP TABLE IF EXISTS message_seqs; DROP TABLE IF EXISTS message_seqs_state;');
      db.exec(messagesTable('messages_moved'));
      db.exec(`INSERT INTO messages_moved (rowid, ${COLUMNS}) SELECT rowid, ${COLUMNS} FROM messages ORDER BY rowid`);
      db.exec('DROP TABLE messages; ALTER TABLE messages_moved RENAME TO messages;');
    }).immediate();
  }
  db.exec(MESSAGES_INDEXES);
  db.exec(SEQ_INDEX_SCHEMA);
  catchUpSeqIndex(db);
}

/** How message batches are committed: on the writer thread, or in place for an in-memory database. */
export interface MessageWriter {
  write(messages: Message[]): Promise<(MessageRow | null)[]>;
  append(drafts: MessageDraft[]): Promise<AppendResult[]>;
}

/** What people page through: messages, not change records. */
const PEOPLE = "m.kind IN ('user', 'ai', 'system')";

/** Messages and direct conversations in the embedded database: the embedded log's archive. */
export class SqliteArchive implements MessageArchive {
  private readonly stmts;

  constructor(db: SqliteDb, private readonly writer: MessageWriter) {
    this.stmts = {
      msgByClient: db.prepare<[string, string], MessageRow>('SELECT * FROM messages WHERE from_user = ? AND client_msg_id = ?'),
      before: db.prepare<unknown[], MessageRow>(`${conversationRows('$seq < ? AND $seq > ?')} ORDER BY seq DESC LIMIT ?`),
      after: db.prepare<unknown[], MessageRow>(`${conversationRows('$seq > ? AND $seq < ?')} ORDER BY seq ASC LIMIT ?`),
      beforeMessages: db.prepare<unknown[], MessageRow>(`${conversationRows(`$seq < ? AND $seq > ? AND ${PEOPLE}`)} ORDER BY seq DESC LIMIT ?`),
      afterMessages: db.prepare<unknown[], MessageRow>(`${conversationRows(`$seq > ? AND $seq < ? AND ${PEOPLE}`)} ORDER BY seq ASC LIMIT ?`),
      bySeq: db.prepare<unknown[], MessageRow>(`SELECT * FROM messages WHERE rowid = (${ROWID_BY_SEQ})`),
      changed: db.prepare<[string, number, number], MessageRow>('SELECT * FROM messages WHERE conversation_id = ? AND changed_seq > ? ORDER BY changed_seq ASC LIMIT ?'),
      maxSeq: db.prepare<[string, string], { s: number | null }>(MAX_SEQ),
      // Only rows with extra (replies, mentions) are looked into; json_each reads the mentions array.
      mentions: db.prepare<unknown[], { n: number }>(`SELECT COUNT(*) AS n FROM (${conversationRows(`$seq > ? AND m.extra IS NOT NULL AND ${PEOPLE} AND EXISTS (SELECT 1 FROM json_each(m.extra, '$.mentions') j WHERE j.value = ?)`, '1')} LIMIT ?)`),
      count: db.prepare<unknown[], { n: number }>(`SELECT COUNT(*) AS n FROM (${conversationRows(`$seq > ? AND ${PEOPLE}`, '1')} LIMIT ?)`),
      // A conversation's head is its newest message.
      convs: db.prepare<[string, string], { id: string; member_a: string; member_b: string; last_seq: number; updated_at: string }>(`
        SELECT c.id, c.member_a, c.member_b, COALESCE(h.seq, c.last_seq) AS last_seq, COALESCE(h.created_at, c.updated_at) AS updated_at
        FROM conversations c
        LEFT JOIN messages h ON h.rowid = ${headRowid('c.id')}
        WHERE c.member_a = ? OR c.member_b = ?
        ORDER BY updated_at DESC`),
    };
  }

  /**
   * Sequences, dedupes and commits drafts in one transaction (on the writer thread): each gets
   * the next seq of its conversation, unless its (from, clientMsgId) is stored, in which case
   * it resolves to the stored message and takes no seq.
   */
  async appendMessages(drafts: MessageDraft[]): Promise<Message[]> {
    if (drafts.length === 0) return [];
    const results = await this.writer.append(drafts);
    return drafts.map((d, i) => {
      const r = results[i]!;
      return 'seq' in r ? withSeq(d, r.seq) : rowToMessage(r.row);
    });
  }

  /** Commits the batch (on the writer thread); a message already stored resolves to the stored one. */
  async insertMessages(messages: Message[]) {
    if (messages.length === 0) return [];
    const rows = await this.writer.write(messages);
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
    if (range.afterSeq !== undefined) return (range.messagesOnly ? s.afterMessages : s.after).all(...twice(conversationId, lo, hi), range.limit).map(rowToMessage);
    return (range.messagesOnly ? s.beforeMessages : s.before).all(...twice(conversationId, hi, lo), range.limit).map(rowToMessage).reverse();
  }

  async get(conversationId: string, seqs: number[]) {
    const out: Message[] = [];
    for (const seq of seqs) {
      const r = this.stmts.bySeq.get(...twice(conversationId, seq));
      if (r) out.push(rowToMessage(r));
    }
    return out;
  }

  async changed(conversationId: string, sinceSeq: number, limit: number) {
    return this.stmts.changed.all(conversationId, sinceSeq, limit).map(rowToMessage);
  }

  async countMessages(conversationId: string, afterSeq: number, cap: number) {
    return this.stmts.count.get(...twice(conversationId, afterSeq), cap)!.n;
  }

  async countMentions(conversationId: string, afterSeq: number, username: string, cap: number) {
    return this.stmts.mentions.get(...twice(conversationId, afterSeq, username), cap)!.n;
  }

  async withPast(conversationId: string, seq: number) {
    const r = this.stmts.bySeq.get(...twice(conversationId, seq));
    return r ? rowWithPast(r) : null;
  }

  async maxSeq(conversationId: string) {
    return this.stmts.maxSeq.get(conversationId, conversationId)!.s ?? 0;
  }

  async listConversations(username: string): Promise<ConversationRecord[]> {
    return this.stmts.convs.all(username, username).map((r) => ({ conversationId: r.id, members: [r.member_a, r.member_b], lastSeq: r.last_seq, updatedAt: r.updated_at }));
  }
}
