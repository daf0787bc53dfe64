import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MAX_MENTIONS, applyChange, applyRecord, isOneEmoji, mentionsIn, snippet, stateSeq, type Message } from '../../src/protocol/index.js';

const msg = (seq: number, extra: Partial<Message> = {}): Message => ({ id: `m${seq}`, seq, conversationId: 'g:x', from: 'ann', to: 'g:x', text: `text ${seq}`, kind: 'user', createdAt: `2026-12-05T00:00:${String(seq % 60).padStart(2, '0')}.000Z`, ...extra });
const change = (seq: number, target: number, kind: 'edit' | 'delete' | 'react', extra: Partial<Message> = {}): Message => msg(seq, { kind, target, text: '', ...extra });

describe('applyChange', () => {
  it('edits, reacts and deletes; a change at or below changedSeq, to another message, by a non-author (edit) or after a delete does nothing', () => {
    let m = msg(1);
    m = applyChange(m, change(2, 1, 'edit', { text: 'new' }));
    expect(m).toMatchObject({ text: 'new', edits: 1, changedSeq: 2 });
    expect(applyChange(m, change(2, 1, 'edit', { text: 'again' }))).toBe(m);
    expect(applyChange(m, change(3, 9, 'edit', { text: 'other' }))).toBe(m);
    expect(applyChange(m, change(3, 1, 'edit', { text: 'not yours', from: 'eve' }))).toBe(m);
    m = applyChange(m, change(4, 1, 'react', { emoji: '👍', op: 'add', from: 'ben' }));
    m = applyChange(m, change(5, 1, 'react', { emoji: '👍', op: 'add', from: 'ben' }));
    m = applyChange(m, change(6, 1, 'react', { emoji: '🎉', op: 'add', from: 'cat' }));
    expect(m.reactions).toEqual([{ emoji: '👍', count: 1, users: ['ben'] }, { emoji: '🎉', count: 1, users: ['cat'] }]);
    m = applyChange(m, change(7, 1, 'react', { emoji: '👍', op: 'remove', from: 'ben' }));
    expect(m.reactions).toEqual([{ emoji: '🎉', count: 1, users: ['cat'] }]);
    m = applyChange(m, change(8, 1, 'delete', { from: 'mod' }));
    expect(m).toEqual({ id: 'm1', seq: 1, conversationId: 'g:x', from: 'ann', to: 'g:x', text: '', kind: 'user', createdAt: msg(1).createdAt, deleted: { by: 'mod', at: msg(8).createdAt }, changedSeq: 8 });
    expect(applyChange(m, change(9, 1, 'edit', { text: 'back' }))).toBe(m);
  });

  it('a view reaches the same state from any starting snapshot, applying the records after it in seq order (property)', () => {
    const op = fc.record({ kind: fc.constantFrom('edit', 'delete', 'react' as const), target: fc.integer({ min: 1, max: 3 }), from: fc.constantFrom('ann', 'ben'), emoji: fc.constantFrom('👍', '🎉'), add: fc.boolean() });
    fc.assert(fc.property(fc.array(op, { maxLength: 40 }), fc.nat(), (ops, cut) => {
      const records: Message[] = [msg(1), msg(2), msg(3)];
      ops.forEach((o, i) => records.push(change(4 + i, o.target, o.kind, o.kind === 'edit' ? { text: `e${i}`, from: o.from } : o.kind === 'react' ? { emoji: o.emoji, op: o.add ? 'add' : 'remove', from: o.from } : { from: o.from })));
      // The server's state: everything applied in order.
      const server = new Map<number, Message>();
      for (const r of records) applyRecord(server, r);
      // A client that took a snapshot of the server's state at some seq, then got the records after it.
      const k = 3 + (cut % (ops.length + 1));
      const snapshot = new Map<number, Message>();
      for (const r of records.slice(0, k)) applyRecord(snapshot, r);
      const client = new Map(snapshot);
      for (const r of records.slice(k)) applyRecord(client, r);
      // And one that got the same records twice, out of order first (a live event before its sync page).
      const twice = new Map(snapshot);
      for (const r of [...records.slice(k)].reverse()) applyRecord(twice, r);
      for (const r of records.slice(k)) applyRecord(twice, r);
      for (const seq of [1, 2, 3]) {
        expect(client.get(seq)).toEqual(server.get(seq));
        expect(stateSeq(client.get(seq)!)).toBe(stateSeq(server.get(seq)!));
      }
    }));
  });
});

describe('mentionsIn', () => {
  it('finds @names of members other than the author, once, in order, any case; not inside words or addresses', () => {
    const members = ['ann', 'ben', 'cat.z', 'dan'];
    expect(mentionsIn('@BEN hi @ben, @cat.z. and @dan! not @eve, @ann (me), mail@dan, x@ben, @benny', members, 'ann')).toEqual(['ben', 'cat.z', 'dan']);
    expect(mentionsIn('no mentions here', members, 'ann')).toEqual([]);
    const many = Array.from({ length: 80 }, (_, i) => `u${String(i).padStart(3, '0')}`);
    expect(mentionsIn(many.map((u) => `@${u}`).join(' '), many, 'ann')).toHaveLength(MAX_MENTIONS);
  });
});

describe('snippet and isOneEmoji', () => {
  it('quotes one line of at most 80 code points', () => {
    expect(snippet('a\n\nb\tc  ')).toBe('a b c');
    expect([...snippet('é'.repeat(200))]).toHaveLength(80);
  });
  it('accepts emoji people use, refuses anything else', () => {
    for (const e of ['👍', '👍🏽', '❤️', '🇫🇷', '👩‍👩‍👧‍👦', '1️⃣', '🏴󠁧󠁢󠁳󠁣󠁴󠁿']) expect(isOneEmoji(e), e).toBe(true);
    for (const e of ['', 'a', '1', '👍👍', ' 👍', '\u0007👍', '\u200d', `${'👩\u200d'.repeat(10)}👩`]) expect(isOneEmoji(e), JSON.stringify(e)).toBe(false);
  });
});
