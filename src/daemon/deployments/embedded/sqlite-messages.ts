import type { SqliteDb } from './sqlite-driver.js';
import { SeqConflictError } from '../../ports/errors.js';
import type { Message } from '../../../protocol/index.js';
import { conversationMembers } from '../../../protocol/types.js';
import type { MessageDraft } from '../../ports/index.js';
import { applyChange, isChange } from '../../../protocol/changes.js';
import { applyStored, extraOf, keptOf, stateOf, withParts, type Kept, type RecordExtra, type RecordState } from '../records.js';
import { MAX_SEQ, seqIndexWrites } from './sqlite-seqs.js';

/** A messages row as SQLite returns it. */
export interface MessageRow {
  id: string;
  conversation_id: string;
  seq: number;
  from_user: string;
  to_user: string;
  text: string;
  kind: Message['kind'];
  created_at: string;
  client_msg_id: string | null;
  /** JSON of RecordExtra (records.ts), or null. */
  extra: string | null;
  /** JSON of RecordState, or null while the message never changed. */
  state: string | null;
  changed_seq: number | null;
}

export function rowToMessage(r: MessageRow): Message {
  return rowWithPast(r).message;
}

/** A row's message as it now is, and what it keeps of its past (its state parsed once for both). */
export function rowWithPast(r: MessageRow): { message: Message; kept: Kept } {
  const m: Message = { id: r.id, seq: r.seq, conversationId: r.conversation_id, from: r.from_user, to: r.to_user, text: r.text, kind: r.kind, createdAt: r.created_at };
  if (r.client_msg_id !== null) m.clientMsgId = r.client_msg_id;
  if (r.extra === null && r.state === null) return { message: m, kept: keptOf(null) };
  const state = r.state === null ? null : (JSON.parse(r.state) as RecordState);
  return { message: withParts(m, r.extra === null ? null : (JSON.parse(r.extra) as RecordExtra), state, r.changed_seq), kept: keptOf(state) };
}

const json = (v: object | null) => (v === null ? null : JSON.stringify(v));

/** How often the checkpointer thread copies committed WAL frames into the database file. */
export const CHECKPOINT_EVERY_MS = 250;
/**
 * The writer checkpoints itself only past this many WAL pages (SQLite's default is 1000), that is
 * when the checkpointer has fallen far behind: checkpointing is the checkpointer thread's job, so
 * commits do not wait for it, and the writer's catch-up after each pass keeps the WAL short.
 */
export const WRITER_FALLBACK_CHECKPOINT_PAGES = 100_000;

/** Opens a connection the way every chatd connection is opened: WAL, synchronous=FULL. */
export function configure(db: SqliteDb) {
  db.pragma('journal_mode = WAL');
  // A commit returns once it is on disk: a committed message survives kill -9 and power loss.
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  // Freed space is zeroed: a deleted message's text (or an edit's old one) leaves no bytes in the
  // file. Sends only insert, so they pay nothing for it.
  db.pragma('secure_delete = ON');
}

/** For each draft: the seq it was stored under, or the row already stored for its (from, clientMsgId). */
export type AppendResult = { seq: number } | { row: MessageRow };

export interface MessageWrites {
  /**
   * Inserts already-sequenced messages in one transaction. For each it returns null when it
   * was inserted, or the stored row when its id or (from, clientMsgId) was already there.
   */
  write(messages: Message[]): (MessageRow | null)[];
  /**
   * The embedded send path: sequencing, dedupe and insert in one transaction. A draft whose
   * (from, clientMsgId) is stored resolves to that row and takes no seq, so seqs stay gap-free
   * without a lookup on the event loop first. Counters are loaded from the table on first use
   * and kept only for committed transactions.
   */
  append(drafts: MessageDraft[]): AppendResult[];
}

/** The message writes on one connection (the writer thread's, or an in-memory store's); a new direct conversation gets its row in the same transaction. */
export function messageWrites(db: SqliteDb): MessageWrites {
  const insert = db.prepare('INSERT INTO messages (id, conversation_id, seq, from_user, to_user, text, kind, created_at, client_msg_id, extra) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING');
  const byId = db.prepare<[string], MessageRow>('SELECT * FROM messages WHERE id = ?');
  const byClient = db.prepare<[string, string], MessageRow>('SELECT * FROM messages WHERE from_user = ? AND client_msg_id = ?');
  const maxSeq = db.prepare<[string, string], { s: number | null }>(MAX_SEQ);
  const addConv = db.prepare('INSERT INTO conversations (id, member_a, member_b, last_seq, updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING');
  const byRowid = db.prepare<[number], MessageRow>('SELECT * FROM messages WHERE rowid = ?');
  const setState = db.prepare<[string, string | null, string | null, number | null, number]>('UPDATE messages SET text = ?, extra = ?, state = ?, changed_seq = ? WHERE rowid = ?');
  // A deleted message's edit records lose their text.
  const scrubEdit = db.prepare<[number]>("UPDATE messages SET text = '', extra = json_remove(extra, '$.mentions') WHERE rowid = ? AND kind = 'edit'");
  const seqs = seqIndexWrites(db);
  /** The newest rowid this connection inserted (the seq index's pass takes the tail up to it). */
  let newest = seqs.newest();
  /** Conversations known to have their row (committed); bounded, a miss costs one INSERT that does nothing. */
  const known = new Set<string>();

  /** Inserts one row; false when a unique index refused it. A change is applied to its target in the same transaction. */
  const inserted = (m: Message) => {
    const extra = extraOf(m);
    const r = insert.run(m.id, m.conversationId, m.seq, m.from, m.to, m.text, m.kind, m.createdAt, m.clientMsgId ?? null, json(extra));
    if (r.changes !== 1) return false;
    newest = Number(r.lastInsertRowid);
    seqs.inserted(m.conversationId, m.seq, newest);
    if (isChange(m)) apply(m);
    return true;
  };
  // A reaction touches only the target's state: read and write that column alone, by rowid.
  const reactionState = db.prepare<[number], { state: string | null; changed_seq: number | null }>('SELECT state, changed_seq FROM messages WHERE rowid = ?');
  const setReactions = db.prepare<[string, number, number]>('UPDATE messages SET state = ?, changed_seq = ? WHERE rowid = ?');
  const react = (c: Message) => {
    const rowid = seqs.rowid(c.conversationId, c.target!);
    const row = rowid === undefined ? undefined : reactionState.get(rowid);
    if (!row) return;
    const state = row.state === null ? {} : (JSON.parse(row.state) as RecordState);
    const next = applyChange(reactionView(c, state, row.changed_seq), c);
    if (next.changedSeq === (row.changed_seq ?? undefined)) return;
    if (next.reactions) state.reactions = next.reactions;
    else delete state.reactions;
    setReactions.run(JSON.stringify(state), next.changedSeq!, rowid!);
  };
  /** A change record applied to the row it targets (nothing when it changes nothing: changes.ts). */
  const apply = (c: Message) => {
    if (c.kind === 'react') return react(c);
    const rowid = seqs.rowid(c.conversationId, c.target!);
    const row = rowid === undefined ? undefined : byRowid.get(rowid);
    if (!row) return;
    const { message: target, kept: past } = rowWithPast(row);
    const r = applyStored(target, past, c);
    if (!r) return;
    const { next, kept, scrub } = r;
    if (next) setState.run(next.text, json(next.deleted ? null : extraOf(next)), json(stateOf(next, kept)), next.changedSeq ?? null, rowid!);
    for (const seq of scrub) {
      const edit = seqs.rowid(c.conversationId, seq);
      if (edit !== undefined) scrubEdit.run(edit);
    }
  };
  const conflict = (m: Message) => new SeqConflictError(m.id, m.conversationId, m.seq);
  /**
   * Gives each conversation not known yet its row, from its first message in the batch: a
   * conversation's head (last seq, last activity) is read from its newest message, so a send
   * does not rewrite the row. Returns the conversations it created.
   */
  const addConversations = (messages: Message[]) => {
    const created: string[] = [];
    for (const m of messages) {
      const c = m.conversationId;
      if (known.has(c) || created.includes(c)) continue;
      // A group has no fixed pair (its members are in group_members): no row, its head is read from its messages.
      const [a, b] = conversationMembers(c, [m.from, m.to]);
      if (a === undefined || b === undefined) continue;
      addConv.run(c, a, b, m.seq, m.createdAt);
      created.push(c);
    }
    return created;
  };
  /** After a commit only: a rolled-back row must be inserted again next time. */
  const remember = (created: string[]) => {
    if (known.size + created.length > 100_000) known.clear();
    for (const c of created) known.add(c);
  };
  /** The row already stored for m's id or (from, clientMsgId), or a seq conflict. */
  const stored = (m: Message) => {
    const existing = byId.get(m.id) ?? (m.clientMsgId !== undefined ? byClient.get(m.from, m.clientMsgId) : undefined);
    if (!existing) throw conflict(m);
    return existing;
  };
  const writeTx = db.transaction((messages: Message[]) => {
    const fresh: Message[] = [];
    const out = messages.map((m) => {
      // No unique index holds (conversation_id, seq) (sqlite-seqs.ts): a given seq is looked up.
      if (seqs.rowid(m.conversationId, m.seq) !== undefined) return stored(m);
      if (!inserted(m)) return stored(m);
      fresh.push(m);
      return null;
    });
    return { out, created: addConversations(fresh), done: seqs.pass(newest) };
  });

  const counters = new Map<string, number>();
  const appendTx = db.transaction((drafts: MessageDraft[]) => {
    const touched = new Map<string, number>();
    const fresh: Message[] = [];
    const out = drafts.map((d): AppendResult => {
      const c = d.conversationId;
      const m = withSeq(d, (touched.get(c) ?? counters.get(c) ?? maxSeq.get(c, c)!.s ?? 0) + 1);
      // Insert first: a resend is rare, so it is looked up only when the unique
      // (from, clientMsgId) index refuses the row, and then its seq is not taken.
      if (!inserted(m)) {
        const existing = d.clientMsgId !== undefined ? byClient.get(d.from, d.clientMsgId) : undefined;
        if (existing) return { row: existing };
        throw conflict(m);
      }
      touched.set(c, m.seq);
      fresh.push(m);
      return { seq: m.seq };
    });
    return { out, touched, created: addConversations(fresh), done: seqs.pass(newest) };
  });

  /** Runs a transaction; after a rollback the newest rowid is read again (the rows it counted are gone). */
  const run = <A, R>(tx: { immediate: (a: A) => R }, a: A): R => {
    try {
      return tx.immediate(a);
    } catch (err) {
      newest = seqs.newest();
      seqs.rolledBack();
      throw err;
    }
  };
  return {
    write(messages) {
      const { out, created, done } = run(writeTx, messages);
      remember(created);
      seqs.committed(done);
      return out;
    },
    append(drafts) {
      // A failed transaction rolls back, and the counters keep their committed values.
      const { out, touched, created, done } = run(appendTx, drafts);
      for (const [c, seq] of touched) counters.set(c, seq);
      remember(created);
      seqs.committed(done);
      return out;
    },
  };
}

/**
 * What applyChange needs of a target to apply a reaction: its seq, conversation, changedSeq,
 * tombstone and reactions (a reaction reads nothing else), without reading or parsing the rest of the row.
 */
function reactionView(c: Message, state: RecordState, changedSeq: number | null): Message {
  const m = { seq: c.target!, conversationId: c.conversationId } as Message;
  if (changedSeq !== null) m.changedSeq = changedSeq;
  if (state.deleted) m.deleted = state.deleted;
  if (state.reactions) m.reactions = state.reactions;
  return m;
}

/** A draft with its seq, fields in the wire order. */
export function withSeq(d: MessageDraft, seq: number): Message {
  const m: Message = { id: d.id, seq, conversationId: d.conversationId, from: d.from, to: d.to, text: d.text, kind: d.kind, createdAt: d.createdAt };
  if (d.clientMsgId !== undefined) m.clientMsgId = d.clientMsgId;
  const extra = extraOf(d);
  return extra ? Object.assign(m, extra) : m;
}
