import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { v7 as uuidv7 } from 'uuid';
import type { MessageDraft, MessageLog } from '../../../src/daemon/ports/index.js';
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
