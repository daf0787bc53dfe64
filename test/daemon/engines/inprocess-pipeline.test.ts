import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { v7 as uuidv7 } from 'uuid';
import { InProcessPipeline } from '../../../src/daemon/engines/inprocess-pipeline.js';
import { SqliteStore } from '../../../src/daemon/engines/sqlite-store.js';
import type { MessageDraft } from '../../../src/daemon/engines/types.js';
import { tmpDir } from '../../support/daemon.js';

const draft = (conv: string, text: string): MessageDraft => ({ id: uuidv7(), conversationId: conv, from: 'alice', to: 'bob', text, kind: 'user', createdAt: new Date().toISOString() });

describe('InProcessPipeline (group commit)', () => {
  it('assigns gap-free seqs per conversation and resolves only after the commit', async () => {
    const file = path.join(tmpDir(), 'chat.db');
    const store = new SqliteStore(file);
    await store.start();
    const p = new InProcessPipeline(store, 64);
    const n = 500;
    const results = await Promise.all(Array.from({ length: n }, (_, i) => p.submit(draft(i % 2 ? 'dm:alice:bob' : 'dm:alice:carol', `m${i}`))).map(async (pr) => {
      const m = await pr;
      // Resolved means committed: the row is already readable.
      expect(await store.getMessageByClientId('alice', 'none')).toBeNull();
      expect((await store.history(m.conversationId, { limit: 1, afterSeq: m.seq - 1 }))[0]?.id).toBe(m.id);
      return m;
    }));
    for (const conv of ['dm:alice:bob', 'dm:alice:carol']) {
      const seqs = results.filter((m) => m.conversationId === conv).map((m) => m.seq).sort((a, b) => a - b);
      expect(seqs).toEqual(Array.from({ length: n / 2 }, (_, i) => i + 1));
    }
    await p.close();
    // A new pipeline over the same file continues where the old one stopped.
    const p2 = new InProcessPipeline(store, 64);
    expect((await p2.submit(draft('dm:alice:bob', 'after restart'))).seq).toBe(n / 2 + 1);
    await p2.close();
    await store.close();
  });

  it('rejects every submitter of a failed batch and stays gap-free afterwards', async () => {
    const store = new SqliteStore(path.join(tmpDir(), 'chat.db'));
    await store.start();
    const p = new InProcessPipeline(store, 64);
    await p.submit(draft('dm:alice:bob', 'first'));
    const original = store.insertMessages.bind(store);
    store.insertMessages = async () => { throw new Error('disk full'); };
    const failed = await Promise.allSettled([p.submit(draft('dm:alice:bob', 'x')), p.submit(draft('dm:alice:bob', 'y'))]);
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    store.insertMessages = original;
    expect((await p.submit(draft('dm:alice:bob', 'second'))).seq).toBe(2);
    await p.close();
    await expect(p.submit(draft('dm:alice:bob', 'late'))).rejects.toMatchObject({ code: 'CHAT_ERR_SHUTTING_DOWN' });
    await store.close();
  });
});
