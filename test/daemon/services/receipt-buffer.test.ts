import { describe, expect, it } from 'vitest';
import { ReceiptBuffer } from '../../../src/daemon/services/receipt-buffer.js';
import type { Message } from '../../../src/protocol/index.js';
import type { ReceiptMark, ReceiptStore } from '../../../src/daemon/ports/index.js';

/** A receipt store in memory that can be made to fail its next write. */
function store() {
  const writes: ReceiptMark[][] = [];
  let failNext = false;
  const s: ReceiptStore & { writes: ReceiptMark[][]; failOnce(): void } = {
    writes,
    failOnce: () => { failNext = true; },
    async setReceipts(marks) {
      if (failNext) { failNext = false; throw new Error('disk full'); }
      writes.push(marks.map((m) => ({ ...m })));
    },
    async getReceipts() { return {}; },
  };
  return s;
}

const sent = (conversationId: string, from: string, seq: number) => ({ conversationId, from, seq }) as Message;

describe('ReceiptBuffer', () => {
  it('writes each (conversation, user) once per flush, at the highest marker sent or raised meanwhile', async () => {
    const st = store();
    const b = new ReceiptBuffer(st, () => {});
    for (let seq = 1; seq <= 50; seq++) b.own(sent('dm:a:b', 'a', seq));
    b.own(sent('dm:a:b', 'b', 7));
    expect(b.raise({ conversationId: 'dm:a:b', username: 'a', delivered: 60, read: 3 })).toEqual({ delivered: 60, read: 50 });
    b.own(sent('dm:a:b', 'a', 55));
    await b.flush();
    expect(st.writes).toHaveLength(1);
    expect(st.writes[0]!.sort((x, y) => x.username.localeCompare(y.username))).toEqual([
      { conversationId: 'dm:a:b', username: 'a', delivered: 60, read: 55 },
      { conversationId: 'dm:a:b', username: 'b', delivered: 7, read: 7 },
    ]);
    await b.flush();
    expect(st.writes).toHaveLength(1); // nothing pending, nothing written
  });

  it('keeps a failed flush for the next one, merged with what rose meanwhile, never lowering a marker', async () => {
    const st = store();
    const errors: unknown[] = [];
    const b = new ReceiptBuffer(st, (err) => errors.push(err));
    b.own(sent('dm:a:b', 'a', 9));
    st.failOnce();
    const failing = b.flush();
    // Raised while the failing write is under way: lower read, higher delivered.
    b.raise({ conversationId: 'dm:a:b', username: 'a', delivered: 12, read: 4 });
    await failing;
    expect(errors).toHaveLength(1);
    await b.flush();
    expect(st.writes).toEqual([[{ conversationId: 'dm:a:b', username: 'a', delivered: 12, read: 9 }]]);
  });

  it('merges pending markers into what the store had, for the members asked about', () => {
    const b = new ReceiptBuffer(store(), () => {});
    b.own(sent('dm:a:b', 'a', 4));
    expect(b.merged('dm:a:b', { a: { delivered: 2, read: 1 }, b: { delivered: 3, read: 3 } })).toEqual({ a: { delivered: 4, read: 4 }, b: { delivered: 3, read: 3 } });
  });
});
