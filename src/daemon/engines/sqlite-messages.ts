import type Database from 'better-sqlite3';
import type { Message } from '../../protocol/index.js';
import type { MessageDraft } from './types.js';

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
}

export function rowToMessage(r: MessageRow): Message {
  const m: Message = { id: r.id, seq: r.seq, conversationId: r.conversation_id, from: r.from_user, to: r.to_user, text: r.text, kind: r.kind, createdAt: r.created_at };
  if (r.client_msg_id !== null) m.clientMsgId = r.client_msg_id;
  return m;
}

/** Opens a connection the way every chatd connection is opened: WAL, synchronous=FULL. */
export function configure(db: Database.Database) {
  db.pragma('journal_mode = WAL');
  // A commit returns once it is on disk: a committed message survives kill -9 and power loss.
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
}

/**
 * The message write, shared by the writer thread and in-memory stores: one transaction,
 * each conversation's head updated once per batch. For each message it returns null when
 * it was inserted, or the stored row when its id or (from, clientMsgId) was already there.
 */
export function messageWriter(db: Database.Database): (messages: Message[]) => (MessageRow | null)[] {
  const insert = db.prepare('INSERT INTO messages (id, conversation_id, seq, from_user, to_user, text, kind, created_at, client_msg_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING');
  const byId = db.prepare<[string], MessageRow>('SELECT * FROM messages WHERE id = ?');
  const byClient = db.prepare<[string, string], MessageRow>('SELECT * FROM messages WHERE from_user = ? AND client_msg_id = ?');
  const upsertConv = db.prepare('INSERT INTO conversations (id, member_a, member_b, last_seq, updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET last_seq = MAX(last_seq, excluded.last_seq), updated_at = CASE WHEN excluded.last_seq > last_seq THEN excluded.updated_at ELSE updated_at END');
  const tx = db.transaction((messages: Message[]) => {
    const heads = new Map<string, Message>();
    const out = messages.map((m) => {
      if (insert.run(m.id, m.conversationId, m.seq, m.from, m.to, m.text, m.kind, m.createdAt, m.clientMsgId ?? null).changes === 0) {
        const existing = byId.get(m.id) ?? (m.clientMsgId !== undefined ? byClient.get(m.from, m.clientMsgId) : undefined);
        if (!existing) throw new Error(`message ${m.id} conflicts on (conversationId, seq) = (${m.conversationId}, ${m.seq})`);
        return existing;
      }
      const head = heads.get(m.conversationId);
      if (!head || head.seq < m.seq) heads.set(m.conversationId, m);
      return null;
    });
    for (const [c, m] of heads) {
      const [a, b] = c.startsWith('dm:') ? c.slice(3).split(':') : [m.from, m.to];
      upsertConv.run(c, a, b, m.seq, m.createdAt);
    }
    return out;
  });
  return (messages) => tx.immediate(messages);
}

/** For each draft: the seq it was stored under, or the row already stored for its (from, clientMsgId). */
export type AppendResult = { seq: number } | { row: MessageRow };

/**
 * The embedded send path's write: sequencing, dedupe and insert in one transaction on the
 * writer's connection. A draft whose (from, clientMsgId) is stored resolves to that row and
 * takes no seq, so seqs stay gap-free without a lookup on the event loop first. Counters are
 * loaded from the table on first use and kept only for committed transactions.
 */
export function messageAppender(db: Database.Database): (drafts: MessageDraft[]) => AppendResult[] {
  const insert = db.prepare('INSERT INTO messages (id, conversation_id, seq, from_user, to_user, text, kind, created_at, client_msg_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING');
  const byClient = db.prepare<[string, string], MessageRow>('SELECT * FROM messages WHERE from_user = ? AND client_msg_id = ?');
  const maxSeq = db.prepare<[string], { s: number | null }>('SELECT MAX(seq) AS s FROM messages WHERE conversation_id = ?');
  const upsertConv = db.prepare('INSERT INTO conversations (id, member_a, member_b, last_seq, updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET last_seq = MAX(last_seq, excluded.last_seq), updated_at = CASE WHEN excluded.last_seq > last_seq THEN excluded.updated_at ELSE updated_at END');
  const counters = new Map<string, number>();
  const tx = db.transaction((drafts: MessageDraft[]) => {
    const touched = new Map<string, number>();
    const heads = new Map<string, MessageDraft & { seq: number }>();
    const out = drafts.map((d): AppendResult => {
      const c = d.conversationId;
      const seq = (touched.get(c) ?? counters.get(c) ?? maxSeq.get(c)!.s ?? 0) + 1;
      // Insert first: a resend is rare, so it is looked up only when the unique
      // (from, clientMsgId) index refuses the row, and then its seq is not taken.
      if (insert.run(d.id, c, seq, d.from, d.to, d.text, d.kind, d.createdAt, d.clientMsgId ?? null).changes === 0) {
        const existing = d.clientMsgId !== undefined ? byClient.get(d.from, d.clientMsgId) : undefined;
        if (existing) return { row: existing };
        throw new Error(`message ${d.id} conflicts on (conversationId, seq) = (${c}, ${seq})`);
      }
      touched.set(c, seq);
      heads.set(c, { ...d, seq });
      return { seq };
    });
    for (const [c, m] of heads) {
      const [a, b] = c.startsWith('dm:') ? c.slice(3).split(':') : [m.from, m.to];
      upsertConv.run(c, a, b, m.seq, m.createdAt);
    }
    return { out, touched };
  });
  return (drafts) => {
    // A failed transaction rolls back, and the counters keep their committed values.
    const { out, touched } = tx.immediate(drafts);
    for (const [c, s] of touched) counters.set(c, s);
    return out;
  };
}
