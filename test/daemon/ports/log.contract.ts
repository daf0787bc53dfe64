import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { v7 as uuidv7 } from 'uuid';
import type { MessageDraft, MessageLog } from '../../../src/daemon/ports/index.js';
import type { Message } from '../../../src/protocol/index.js';
import type { MessageArchive } from '../../../src/daemon/deployments/archive.js';
import { storedAll, waitFor } from '../../support/daemon.js';

export interface LogFixture {
  log: MessageLog;
  /** Where the log's messages end up as rows (at once, or when the persister has them). */
  store: MessageArchive;
  /** A second log over the same durable state, as after a restart or on another node. */
  reopen(): Promise<MessageLog>;
  cleanup(): Promise<void>;
}

export const draft = (conv: string, text: string, clientMsgId?: string): MessageDraft => ({
  id: uuidv7(), conversationId: conv, from: conv.split(':')[1]!, to: conv.split(':')[2]!, text, kind: 'user', createdAt: new Date().toISOString(), ...(clientMsgId ? { clientMsgId } : {}),
});

/**
 * The contract of every MessageLog: `append` resolves once the message is durable and readable,
 * with a dense per-conversation seq; a (from, clientMsgId) is accepted once, across restarts and
 * nodes; everything acknowledged reaches the store exactly once; a closed log refuses new work.
 */
export function logContract(name: string, make: () => Promise<LogFixture>) {
  describe(`MessageLog contract: ${name}`, () => {
    let f: LogFixture;
    beforeEach(async () => { f = await make(); });
    afterEach(async () => { await f.cleanup(); });

    it('assigns dense seqs per conversation under concurrency, and stores each message once', async () => {
      const n = 400;
      const convs = ['dm:alice:bob', 'dm:alice:carol'];
      const results = await Promise.all(Array.from({ length: n }, (_, i) => f.log.append(draft(convs[i % 2]!, `m${i}`))));
      expect(results.every((r) => r.fresh)).toBe(true);
      await f.log.flush();
      for (const conv of convs) {
        const mine = results.map((r) => r.message).filter((m) => m.conversationId === conv);
        expect(mine.map((m) => m.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: n / 2 }, (_, i) => i + 1));
        const stored = await waitFor(async () => { const s = await storedAll(f.store, conv); return s.length >= n / 2 && s; }, 30_000);
        expect(stored.map((m) => m.id).sort()).toEqual(mine.map((m) => m.id).sort());
        for (const m of stored) expect(m).toEqual(mine.find((x) => x.id === m.id));
      }
    });

    it('reads its own writes: an appended message is in read() and conversations() when append resolves', async () => {
      const got = await Promise.all(Array.from({ length: 50 }, (_, i) => f.log.append(draft('dm:rw:yw', `m${i}`))));
      for (const { message } of got) {
        const page = await f.log.read(message.conversationId, { limit: 1, afterSeq: message.seq - 1 });
        expect(page[0]?.id).toBe(message.id);
      }
      expect((await f.log.read('dm:rw:yw', { limit: 10 })).map((m) => m.seq)).toEqual([41, 42, 43, 44, 45, 46, 47, 48, 49, 50]);
      expect((await f.log.read('dm:rw:yw', { limit: 3, beforeSeq: 10 })).map((m) => m.seq)).toEqual([7, 8, 9]);
      for (const u of ['rw', 'yw']) expect((await f.log.conversations(u)).map((c) => [c.conversationId, c.lastSeq])).toEqual([['dm:rw:yw', 50]]);
    });

    it('sequences a group conversation like any other, and lists it among nobody\'s direct conversations', async () => {
      const conv = `g:${uuidv7()}`;
      const got = await Promise.all(['gw', 'gx', 'gw'].map((from, i) => f.log.append({ ...draft('dm:gw:gx', `g${i}`), conversationId: conv, from, to: conv })));
      expect(got.map((g) => g.message.seq).sort()).toEqual([1, 2, 3]);
      expect((await f.log.read(conv, { limit: 10 })).map((m) => [m.seq, m.to])).toEqual([[1, conv], [2, conv], [3, conv]]);
      for (const u of ['gw', 'gx']) expect(await f.log.conversations(u)).toEqual([]);
    });

    it('accepts a (from, clientMsgId) once: a resend in the same group, later, and after a restart gets the original and takes no seq', async () => {
      const [a, b] = await Promise.all([f.log.append(draft('dm:dd:ee', 'once', 'c-1')), f.log.append(draft('dm:dd:ee', 'once', 'c-1'))]);
      expect([a.fresh, b.fresh].sort()).toEqual([false, true]);
      expect(b.message).toEqual(a.message);
      const later = await f.log.append(draft('dm:dd:ee', 'once', 'c-1'));
      expect(later).toEqual({ message: a.message, fresh: false });
      expect(await f.log.lookup('dd', 'c-1')).toEqual(a.message);
      expect(await f.log.lookup('dd', 'c-unknown')).toBeNull();
      await f.log.close();
      const again = await f.reopen();
      const [resend, next] = await Promise.all([again.append(draft('dm:dd:ee', 'once', 'c-1')), again.append(draft('dm:dd:ee', 'new', 'c-2'))]);
      expect(resend).toEqual({ message: a.message, fresh: false });
      expect(next.message.seq).toBe(2);
      await again.close();
    });

    it('applies changes in seq order: reads give each message as it now is, with the changes after their seqs', async () => {
      const conv = 'dm:cha:chb';
      const { message: m } = await f.log.append(draft(conv, 'first'));
      const change = (from: string, kind: 'edit' | 'delete' | 'react', extra: Partial<MessageDraft>) => f.log.append({ ...draft(conv, ''), from, kind, target: m.seq, ...extra }).then((a) => a.message);
      const e1 = await change('cha', 'edit', { text: 'second' });
      await change('chb', 'react', { emoji: '👍', op: 'add' });
      await change('cha', 'react', { emoji: '👍', op: 'add' });
      await change('cha', 'react', { emoji: '🎉', op: 'add' });
      const last = await change('chb', 'react', { emoji: '👍', op: 'remove' });
      const { message: reply } = await f.log.append({ ...draft(conv, 'answer'), from: 'chb', to: 'cha', replyTo: m.seq });
      const expected = { ...m, text: 'second', editedAt: e1.createdAt, edits: 1, reactions: [{ emoji: '👍', count: 1, users: ['cha'] }, { emoji: '🎉', count: 1, users: ['cha'] }], changedSeq: last.seq };
      expect(await f.log.get(conv, [m.seq])).toEqual([expected]);
      // Paging back: messages only; reading forward: every record, the message in its current state.
      expect(await f.log.read(conv, { limit: 10, messagesOnly: true })).toEqual([expected, reply]);
      const all = await f.log.read(conv, { limit: 10, afterSeq: 0 });
      expect(all.map((r) => r.kind)).toEqual(['user', 'edit', 'react', 'react', 'react', 'react', 'user']);
      expect(all[0]).toEqual(expected);
      expect(all[6]!.replyTo).toBe(m.seq);
      expect(await f.log.changed(conv, 0, 10)).toEqual([expected]);
      expect(await f.log.changed(conv, last.seq, 10)).toEqual([]);
      expect((await f.log.edits(conv, m.seq))?.map((v) => v.text)).toEqual(['first', 'second']);
      expect(await f.log.edits(conv, reply.seq)).toEqual([{ text: 'answer', at: reply.createdAt }]);
      // Where the log keeps messages for good has the same state (at once, or once the persister has applied it).
      await f.log.flush();
      const stored = await waitFor(async () => { const [s] = await f.store.get(conv, [m.seq]); return s?.changedSeq === last.seq && s; }, 30_000);
      expect(stored).toEqual(expected);
    });

    it('a delete leaves a tombstone and removes the text, its earlier versions and its edits\' texts everywhere the log keeps them', async () => {
      const conv = 'dm:dla:dlb';
      const secret = 'the password is hunter2';
      const { message: m } = await f.log.append(draft(conv, secret, 'dl-1'));
      const e = await f.log.append({ ...draft(conv, `${secret}!`, 'dl-2'), kind: 'edit', target: m.seq, mentions: ['dlb'] });
      await f.log.append({ ...draft(conv, ''), kind: 'react', target: m.seq, emoji: '👍', op: 'add' });
      const d = (await f.log.append({ ...draft(conv, ''), from: 'dlb', to: 'dla', kind: 'delete', target: m.seq })).message;
      const tomb = { id: m.id, seq: m.seq, conversationId: conv, from: 'dla', to: 'dlb', text: '', kind: 'user', createdAt: m.createdAt, clientMsgId: 'dl-1', deleted: { by: 'dlb', at: d.createdAt }, changedSeq: d.seq };
      expect(await f.log.get(conv, [m.seq])).toEqual([tomb]);
      expect(await f.log.edits(conv, m.seq)).toBeNull();
      const leaks = (ms: Message[]) => JSON.stringify(ms).includes('hunter2');
      // Later changes to a deleted message change nothing.
      await f.log.append({ ...draft(conv, 'back again hunter2'), kind: 'edit', target: m.seq });
      expect(await f.log.get(conv, [m.seq])).toEqual([tomb]);
      const records = await f.log.read(conv, { limit: 50, afterSeq: 0 });
      const e1 = records.find((r) => r.seq === e.message.seq)!;
      expect(e1.text).toBe('');
      expect(e1.mentions).toBeUndefined();
      // An edit that raced the delete may sit in a log's recent records until stored; the store keeps no text of it.
      expect(leaks(records.filter((r) => r.seq !== records.at(-1)!.seq))).toBe(false);
      expect(JSON.stringify(await f.log.lookup('dla', 'dl-1'))).not.toContain('hunter2');
      expect(JSON.stringify(await f.log.lookup('dla', 'dl-2'))).not.toContain('hunter2');
      await f.log.flush();
      const stored = await waitFor(async () => { const s = await storedAll(f.store, conv); return s.length === records.length && s.find((r) => r.seq === m.seq)?.deleted && s; }, 30_000);
      expect(stored.find((r) => r.seq === m.seq)).toEqual(tomb);
      await waitFor(async () => (await storedAll(f.store, conv)).at(-1)!.text === '', 30_000);
      expect(leaks(await storedAll(f.store, conv))).toBe(false);
    });

    it('continues seq after a restart', async () => {
      await f.log.append(draft('dm:alice:bob', 'one'));
      await f.log.append(draft('dm:alice:bob', 'two'));
      await f.log.close();
      const again = await f.reopen();
      expect((await again.append(draft('dm:alice:bob', 'three'))).message.seq).toBe(3);
      await again.close();
    });

    it('refuses new work once closed', async () => {
      await f.log.close();
      await expect(f.log.append(draft('dm:alice:bob', 'late'))).rejects.toMatchObject({ code: 'CHAT_ERR_SHUTTING_DOWN' });
    });

    it('reports health', async () => {
      expect((await f.log.health()).ok).toBe(true);
    });
  });
}
