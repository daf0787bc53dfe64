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
    const original = store.insertMessages.bind(store);
    store.insertMessages = async () => { throw new Error('disk full'); };
    const failed = await Promise.allSettled([p.submit(draft('x')), p.submit(draft('y'))]);
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    store.insertMessages = original;
    expect((await p.submit(draft('second'))).seq).toBe(2);
    await p.close();
    await store.close();
  });
});
