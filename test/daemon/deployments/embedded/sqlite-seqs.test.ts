import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { v7 as uuidv7 } from 'uuid';
import { openSqlite } from '../../../../src/daemon/deployments/embedded/sqlite-driver.js';
import { SqliteStore } from '../../../../src/daemon/deployments/embedded/sqlite-store.js';
import { SEQ_INDEX_ROWS } from '../../../../src/daemon/deployments/embedded/sqlite-seqs.js';
import { SeqConflictError } from '../../../../src/daemon/ports/errors.js';
import type { MessageDraft } from '../../../../src/daemon/ports/index.js';
import { tmpDir } from '../../../support/daemon.js';
import { seeded } from '../../../support/seeded.js';

const CONVS = [
  { id: 'dm:alice:bob', from: 'alice', to: 'bob' },
  { id: 'dm:alice:carol', from: 'carol', to: 'alice' },
  { id: 'dm:bob:dave', from: 'dave', to: 'bob' },
];

const indexState = (file: string) => {
  const db = openSqlite(file, { readonly: true });
  const indexed = db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM message_seqs').get()!.n;
  const { done } = db.prepare<[], { done: number }>('SELECT done FROM message_seqs_state').get()!;
  const rows = db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM messages').get()!.n;
  const maxRowid = db.prepare<[], { m: number }>('SELECT MAX(rowid) AS m FROM messages').get()!.m;
  db.close();
  return { indexed, done, rows, tail: maxRowid - done };
};

describe('the seq index, kept in passes (sqlite-seqs.ts)', () => {
  it('reads every range, head and count the same whether its rows are in the index or in the tail not indexed yet', async () => {
    const file = path.join(tmpDir(), 'chat.db');
    const s = new SqliteStore(file);
    await s.start();
    const random = seeded(27);
    // The model: each conversation's seqs in order, which ones are people's messages, and who is mentioned.
    const model = new Map<string, { seq: number; kind: string; mentions: string[]; text: string; reacted: boolean }[]>(CONVS.map((c) => [c.id, []]));
    let sent = 0;
    let changes = 0;
    const total = 2 * SEQ_INDEX_ROWS + 537;
    while (sent < total) {
      const batch: MessageDraft[] = [];
      for (let n = 1 + Math.floor(random() * 60); n > 0 && sent < total; n--, sent++) {
        const c = CONVS[Math.floor(random() * CONVS.length)]!;
        const earlier = model.get(c.id)!.filter((r) => r.kind === 'user');
        // Mostly messages; some reactions to and edits of an earlier one, in the index or in the tail
        // (change records, applied by the writer to their target: not counted as messages).
        const r = random();
        const target = earlier.length > 0 && r < 0.15 ? earlier[Math.floor(random() * earlier.length)]! : undefined;
        const mentions = !target && random() < 0.2 ? [c.to] : undefined;
        const base = { id: uuidv7(), conversationId: c.id, from: c.from, to: c.to, createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, 0, sent)).toISOString(), clientMsgId: uuidv7() };
        const d: MessageDraft = !target
          ? { ...base, text: `m${sent}`, kind: 'user', ...(mentions ? { mentions } : {}) }
          : r < 0.1
            ? { ...base, text: '', kind: 'react', target: target.seq, emoji: '👍' }
            : { ...base, text: `edited ${sent}`, kind: 'edit', target: target.seq };
        batch.push(d);
      }
      const stored = await s.archive.appendMessages(batch);
      stored.forEach((m, i) => {
        const d = batch[i]!;
        const rows = model.get(m.conversationId)!;
        rows.push({ seq: m.seq, kind: m.kind, mentions: m.mentions ?? [], text: m.text, reacted: false });
        if (d.target === undefined) return;
        const t = rows.find((x) => x.seq === d.target)!;
        if (d.kind === 'react') t.reacted = true;
        else {
          // An edit without mentions leaves its target mentioning nobody.
          t.text = d.text;
          t.mentions = [];
        }
        changes++;
      });
    }
    const state = indexState(file);
    console.log(`seq index: ${state.rows} rows, ${state.indexed} indexed (done = rowid ${state.done}), ${state.tail} in the tail`);
    expect(state.indexed).toBe(state.done);
    expect(state.indexed).toBeGreaterThanOrEqual(2 * SEQ_INDEX_ROWS);
    expect(state.tail).toBeGreaterThan(0);
    expect(state.tail).toBeLessThan(SEQ_INDEX_ROWS);

    let checked = 0;
    for (const c of CONVS) {
      const all = model.get(c.id)!;
      const seqs = all.map((r) => r.seq);
      const people = all.filter((r) => r.kind === 'user').map((r) => r.seq);
      expect(seqs).toEqual(seqs.map((_, i) => i + 1));
      expect(await s.archive.maxSeq(c.id)).toBe(seqs.length);
      for (let i = 0; i < 40; i++) {
        const a = Math.floor(random() * (seqs.length + 2));
        const limit = 1 + Math.floor(random() * 120);
        const messagesOnly = random() < 0.5;
        const from = messagesOnly ? people : seqs;
        const after = (await s.archive.history(c.id, { afterSeq: a, limit, messagesOnly })).map((m) => m.seq);
        expect(after).toEqual(from.filter((q) => q > a).slice(0, limit));
        const before = (await s.archive.history(c.id, { beforeSeq: a, limit, messagesOnly })).map((m) => m.seq);
        expect(before).toEqual(from.filter((q) => q < a).slice(-limit));
        const latest = (await s.archive.history(c.id, { limit, messagesOnly })).map((m) => m.seq);
        expect(latest).toEqual(from.slice(-limit));
        expect(await s.archive.countMessages(c.id, a, 10_000)).toBe(people.filter((q) => q > a).length);
        expect(await s.archive.countMentions(c.id, a, c.to, 10_000)).toBe(all.filter((r) => r.seq > a && r.mentions.includes(c.to)).length);
        const pick = [a, Math.floor(random() * seqs.length) + 1, seqs.length];
        expect((await s.archive.get(c.id, pick)).map((m) => m.seq)).toEqual(pick.filter((q) => q >= 1 && q <= seqs.length));
        checked += 6;
      }
    }
    // Every change reached its target, wherever the target was when it was applied.
    for (const c of CONVS) {
      const users = model.get(c.id)!.filter((r) => r.kind === 'user');
      const now = await s.archive.get(c.id, users.map((r) => r.seq));
      expect(now.map((m) => [m.seq, m.text, m.reactions?.[0]?.users ?? []])).toEqual(users.map((r) => [r.seq, r.text, r.reacted ? [c.from] : []]));
    }
    console.log(`${changes} edits and reactions applied to their targets`);
    // Each conversation's head is its newest record, wherever it is.
    const heads = await s.archive.listConversations('alice');
    expect(Object.fromEntries(heads.map((h) => [h.conversationId, h.lastSeq]))).toEqual({ 'dm:alice:bob': model.get('dm:alice:bob')!.length, 'dm:alice:carol': model.get('dm:alice:carol')!.length });
    console.log(`${checked} reads compared with the model across the index and its tail`);

    // A seq given to insertMessages is refused when it is taken, in the index part as in the tail.
    for (const seq of [1, model.get('dm:alice:bob')!.length]) {
      const taken = { id: uuidv7(), conversationId: 'dm:alice:bob', seq, from: 'alice', to: 'bob', text: 'again', kind: 'user' as const, createdAt: new Date().toISOString() };
      await expect(s.archive.insertMessages([taken])).rejects.toBeInstanceOf(SeqConflictError);
    }
    // A batch that fails rolls back whole: its new seq is free again afterwards (the writer's map of the tail forgets it too).
    const next = model.get('dm:alice:bob')!.length + 1;
    const row = (seq: number) => ({ id: uuidv7(), conversationId: 'dm:alice:bob', seq, from: 'alice', to: 'bob', text: `at ${seq}`, kind: 'user' as const, createdAt: new Date().toISOString() });
    await expect(s.archive.insertMessages([row(next), row(1)])).rejects.toBeInstanceOf(SeqConflictError);
    expect(await s.archive.maxSeq('dm:alice:bob')).toBe(next - 1);
    const [stored] = await s.archive.insertMessages([row(next)]);
    expect(stored!.text).toBe(`at ${next}`);
    await s.close();

    // A restart reads the same; the tail is indexed on start.
    const again = new SqliteStore(file);
    await again.start();
    expect(indexState(file).tail).toBe(0);
    expect((await again.archive.history('dm:alice:bob', { limit: 5 })).map((m) => m.seq)).toEqual([...model.get('dm:alice:bob')!.slice(-4).map((r) => r.seq), model.get('dm:alice:bob')!.length + 1]);
    await again.close();
  });

  it('moves a data dir from before it: the table without its UNIQUE (conversation_id, seq), rowids kept for the search index, every row indexed', async () => {
    const file = path.join(tmpDir(), 'chat.db');
    const old = openSqlite(file);
    // The messages table as versions before the seq index made it, and a row deleted once (so rowids have a gap).
    old.exec(`CREATE TABLE messages (id TEXT PRIMARY KEY, conversation_id TEXT NOT NULL, seq INTEGER NOT NULL, from_user TEXT NOT NULL, to_user TEXT NOT NULL, text TEXT NOT NULL, kind TEXT NOT NULL, created_at TEXT NOT NULL, client_msg_id TEXT, extra TEXT, state TEXT, changed_seq INTEGER, UNIQUE (conversation_id, seq));`);
    const insert = old.prepare('INSERT INTO messages (rowid, id, conversation_id, seq, from_user, to_user, text, kind, created_at, client_msg_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
    const n = SEQ_INDEX_ROWS + 250;
    for (let i = 1; i <= n; i++) insert.run(i * 2, uuidv7(), 'dm:alice:bob', i, 'alice', 'bob', i === 7 ? 'the seventh kettle' : `old ${i}`, 'user', '2026-01-01T00:00:00.000Z', `old-${i}`);
    old.close();

    const s = new SqliteStore(file);
    await s.start();
    await s.searchWork.backfill(5000);
    const db = openSqlite(file, { readonly: true });
    const { sql } = db.prepare<[], { sql: string }>("SELECT sql FROM sqlite_master WHERE name = 'messages'").get()!;
    const rowid7 = db.prepare<[], { r: number }>("SELECT rowid AS r FROM messages WHERE seq = 7").get()!.r;
    const found = db.prepare<[], { seq: number }>("SELECT m.seq FROM messages_fts f JOIN messages m ON m.rowid = f.rowid WHERE messages_fts MATCH 'kettle'").all();
    db.close();
    expect(sql).not.toMatch(/UNIQUE/i);
    expect(rowid7).toBe(14);
    expect(found).toEqual([{ seq: 7 }]);
    expect(indexState(file)).toEqual({ indexed: n, done: 2 * n, rows: n, tail: 0 });
    const [next] = await s.archive.appendMessages([{ id: uuidv7(), conversationId: 'dm:alice:bob', from: 'bob', to: 'alice', text: 'new', kind: 'user', createdAt: new Date().toISOString(), clientMsgId: 'new-1' }]);
    expect(next!.seq).toBe(n + 1);
    expect((await s.archive.history('dm:alice:bob', { beforeSeq: 9, limit: 3 })).map((m) => m.text)).toEqual(['old 6', 'the seventh kettle', 'old 8']);
    await s.close();
  });
});
