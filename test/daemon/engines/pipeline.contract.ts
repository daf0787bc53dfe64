import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { v7 as uuidv7 } from 'uuid';
import type { Message } from '../../../src/protocol/index.js';
import type { MessageDraft, Pipeline, Store } from '../../../src/daemon/engines/types.js';
import { storedAll, waitFor } from '../../support/daemon.js';

export interface PipelineFixture {
  pipeline: Pipeline;
  /** Where the pipeline's messages end up (immediately or eventually). */
  store: Store;
  /** A second pipeline over the same durable state, as after a restart. */
  reopen(): Promise<Pipeline>;
  cleanup(): Promise<void>;
}

const draft = (conv: string, text: string, clientMsgId?: string): MessageDraft => ({
  id: uuidv7(), conversationId: conv, from: conv.split(':')[1]!, to: conv.split(':')[2]!, text, kind: 'user', createdAt: new Date().toISOString(), ...(clientMsgId ? { clientMsgId } : {}),
});

/**
 * The contract of every Pipeline: `submit` resolves once the message is durable, with a
 * gap-free per-conversation seq; everything resolved reaches the store exactly once;
 * seq continues across a restart; a closed pipeline refuses new work.
 */
export function pipelineContract(name: string, make: () => Promise<PipelineFixture>) {
  describe(`Pipeline contract: ${name}`, () => {
    let f: PipelineFixture;
    beforeEach(async () => { f = await make(); });
    afterEach(async () => { await f.cleanup(); });

    it('assigns gap-free seqs per conversation under concurrency, and stores each message once', async () => {
      const n = 400;
      const convs = ['dm:alice:bob', 'dm:alice:carol'];
      const results = await Promise.all(Array.from({ length: n }, (_, i) => f.pipeline.submit(draft(convs[i % 2]!, `m${i}`))));
      await f.pipeline.flush();
      for (const conv of convs) {
        const mine = results.filter((m) => m.conversationId === conv);
        expect(mine.map((m) => m.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: n / 2 }, (_, i) => i + 1));
        const stored = await waitFor(async () => { const s = await storedAll(f.store, conv); return s.length >= n / 2 && s; }, 30_000);
        expect(stored.map((m) => m.id).sort()).toEqual(mine.map((m) => m.id).sort());
        for (const m of stored) expect(m).toEqual(mine.find((x) => x.id === m.id));
      }
    });

    it('continues seq after a restart', async () => {
      await f.pipeline.submit(draft('dm:alice:bob', 'one'));
      await f.pipeline.submit(draft('dm:alice:bob', 'two'));
      await f.pipeline.close();
      const again = await f.reopen();
      expect((await again.submit(draft('dm:alice:bob', 'three'))).seq).toBe(3);
      await again.close();
    });

    it('refuses new work once closed', async () => {
      await f.pipeline.close();
      await expect(f.pipeline.submit(draft('dm:alice:bob', 'late'))).rejects.toMatchObject({ code: 'CHAT_ERR_SHUTTING_DOWN' });
    });

    it('reports health', async () => {
      expect((await f.pipeline.health()).ok).toBe(true);
    });
  });
}
