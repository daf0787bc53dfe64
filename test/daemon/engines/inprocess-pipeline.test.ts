import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { v7 as uuidv7 } from 'uuid';
import { InProcessPipeline } from '../../../src/daemon/engines/inprocess-pipeline.js';
import { SqliteStore } from '../../../src/daemon/engines/sqlite-store.js';
import type { MessageDraft } from '../../../src/daemon/engines/types.js';
import { tmpDir } from '../../support/daemon.js';
import { pipelineContract } from './pipeline.contract.js';

pipelineContract('inprocess over sqlite', async () => {
  const store = new SqliteStore(path.join(tmpDir(), 'chat.db'));
  await store.start();
  const pipelines: InProcessPipeline[] = [new InProcessPipeline(store, 64)];
  return {
    pipeline: pipelines[0]!,
    store,
    reopen: async () => { const p = new InProcessPipeline(store, 64); pipelines.push(p); return p; },
    cleanup: async () => { for (const p of pipelines) await p.close(); await store.close(); },
  };
});

const draft = (text: string): MessageDraft => ({ id: uuidv7(), conversationId: 'dm:alice:bob', from: 'alice', to: 'bob', text, kind: 'user', createdAt: new Date().toISOString() });

describe('InProcessPipeline specifics', () => {
  it('a resend of a stored (from, clientMsgId) resolves to the stored message and takes no seq, across a restart', async () => {
    const file = path.join(tmpDir(), 'chat.db');
    let store = new SqliteStore(file);
    await store.start();
    let p = new InProcessPipeline(store, 64);
    const first = await p.submit({ ...draft('once'), clientMsgId: 'c-1' });
    await p.close();
    await store.close();
    store = new SqliteStore(file);
    await store.start();
    p = new InProcessPipeline(store, 64);
    expect(p.dedupesOnCommit).toBe(true);
    // The resend shares a group commit with a new message: the new one still gets seq 2.
    const [again, next] = await Promise.all([p.submit({ ...draft('once'), clientMsgId: 'c-1' }), p.submit({ ...draft('new'), clientMsgId: 'c-2' })]);
    expect(again).toEqual(first);
    expect(next.seq).toBe(2);
    expect((await store.history('dm:alice:bob', { limit: 10 })).map((m) => m.seq)).toEqual([1, 2]);
    await p.close();
    await store.close();
  });

  it('resolves only after the commit: the row is readable when submit resolves', async () => {
    const store = new SqliteStore(path.join(tmpDir(), 'chat.db'));
    await store.start();
    const p = new InProcessPipeline(store, 16);
    await Promise.all(Array.from({ length: 100 }, async (_, i) => {
      const m = await p.submit(draft(`m${i}`));
      expect((await store.history(m.conversationId, { limit: 1, afterSeq: m.seq - 1 }))[0]?.id).toBe(m.id);
    }));
    await p.close();
    await store.close();
  });

  it('rejects every submitter of a failed batch and stays gap-free afterwards', async () => {
    const store = new SqliteStore(path.join(tmpDir(), 'chat.db'));
    await store.start();
    const p = new InProcessPipeline(store, 64);
    await p.submit(draft('first'));
    // A row the database refuses (NOT NULL) fails its whole group commit, the good message with it.
    const failed = await Promise.allSettled([p.submit({ ...draft('x'), text: null as never }), p.submit(draft('y'))]);
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect((await store.history('dm:alice:bob', { limit: 10 })).map((m) => m.text)).toEqual(['first']);
    expect((await p.submit(draft('second'))).seq).toBe(2);
    await p.close();
    await store.close();
  });
});
