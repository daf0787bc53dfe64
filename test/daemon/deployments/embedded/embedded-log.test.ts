import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { v7 as uuidv7 } from 'uuid';
import { EmbeddedLog } from '../../../../src/daemon/deployments/embedded/embedded-log.js';
import { SqliteStore } from '../../../../src/daemon/deployments/embedded/sqlite-store.js';
import type { MessageDraft } from '../../../../src/daemon/ports/index.js';
import { tmpDir } from '../../../support/daemon.js';
import { logContract } from '../../ports/log.contract.js';

logContract('embedded (sqlite)', async () => {
  const store = new SqliteStore(path.join(tmpDir(), 'chat.db'));
  await store.start();
  const logs: EmbeddedLog[] = [new EmbeddedLog(store, 64)];
  return {
    log: logs[0]!,
    store: store.archive,
    reopen: async () => { const l = new EmbeddedLog(store, 64); logs.push(l); return l; },
    cleanup: async () => { for (const l of logs) await l.close(); await store.close(); },
  };
});

const draft = (text: string): MessageDraft => ({ id: uuidv7(), conversationId: 'dm:alice:bob', from: 'alice', to: 'bob', text, kind: 'user', createdAt: new Date().toISOString() });

describe('EmbeddedLog specifics', () => {
  it('resolves only after the commit: the row is readable when submit resolves', async () => {
    const store = new SqliteStore(path.join(tmpDir(), 'chat.db'));
    await store.start();
    const p = new EmbeddedLog(store, 16);
    await Promise.all(Array.from({ length: 100 }, async (_, i) => {
      const { message: m } = await p.append(draft(`m${i}`));
      expect((await store.archive.history(m.conversationId, { limit: 1, afterSeq: m.seq - 1 }))[0]?.id).toBe(m.id);
    }));
    await p.close();
    await store.close();
  });

  it('rejects every submitter of a failed batch and stays gap-free afterwards', async () => {
    const store = new SqliteStore(path.join(tmpDir(), 'chat.db'));
    await store.start();
    const p = new EmbeddedLog(store, 64);
    await p.append(draft('first'));
    // A row the database refuses (NOT NULL) fails its whole group commit, the good message with it.
    const failed = await Promise.allSettled([p.append({ ...draft('x'), text: null as never }), p.append(draft('y'))]);
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect((await store.archive.history('dm:alice:bob', { limit: 10 })).map((m) => m.text)).toEqual(['first']);
    expect((await p.append(draft('second'))).message.seq).toBe(2);
    await p.close();
    await store.close();
  });
});
