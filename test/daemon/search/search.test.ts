/**
 * Server search against a real chatd (embedded, FTS5): the search contract every deployment
 * passes (test/support/search-contract.ts), then what only the embedded index does: indexing an
 * existing data dir on first start, and CHAT_SEARCH_INDEX=off.
 */
import { describe, expect, it } from 'vitest';
import type { ChatError } from '../../../src/protocol/index.js';
import { befriend, registerUser, startDaemon } from '../../support/daemon.js';
import { embeddedSearch, searchBehaviour } from '../../support/search-contract.js';

searchBehaviour(embeddedSearch);

const code = (p: Promise<unknown>) => p.then(() => 'ok', (e: ChatError) => e.code);

describe('a data dir from before search', () => {
  it('is indexed on first start, in chunks on the writer thread, with progress in the log, while sends go on', async () => {
    const fs = await import('node:fs');
    const path = await import('node:path');
    const Database = (await import('better-sqlite3')).default;
    const { tmpDir } = await import('../../support/daemon.js');
    const dir = tmpDir('chat-backfill-');
    const first = await startDaemon({}, dir);
    const [a, b] = await Promise.all([registerUser(first.url), registerUser(first.url)]);
    await befriend(a, b);
    const m = await a.api.sendRest({ to: b.name, text: 'the first message' });
    await first.close();
    // As an older chatd left it: no index, and many more messages (written straight into the table).
    const rows = 60_000;
    const db = new Database(path.join(dir, 'chat.db'));
    db.exec('DROP TRIGGER messages_search_update; DROP TRIGGER messages_search_remove; DROP TRIGGER messages_search_delete; DROP TABLE messages_fts; DROP VIEW messages_search; DROP TABLE search_state; DROP TABLE search_stale;');
    const insert = db.prepare("INSERT INTO messages (id, conversation_id, seq, from_user, to_user, text, kind, created_at) VALUES (?, ?, ?, ?, ?, ?, 'user', ?)");
    db.transaction(() => {
      for (let i = 1; i <= rows; i++) insert.run(`old-${i}`, m.conversationId, m.seq + i, a.name, b.name, `archived note ${i} ${i % 2000 === 0 ? 'milestone' : 'routine'}`, new Date().toISOString());
    })();
    db.close();
    const lines: string[] = [];
    const second = await startDaemon({ LOG_LEVEL: 'info' }, dir, { write: (l: string) => { lines.push(l); } });
    const { ApiClient, staticCredentials } = await import('../../../src/client/api.js');
    const [a2, b2] = [a, b].map((u) => new ApiClient(second.url, staticCredentials(u.auth.accessToken)));
    try {
      // A send during the backfill is acknowledged before the backfill ends.
      const sent = await a2!.sendRest({ to: b.name, text: 'sent while indexing' });
      const uploadedAt = Date.now();
      const { waitFor } = await import('../../support/daemon.js');
      await waitFor(() => lines.some((l) => l.includes('every stored message is indexed')), 60_000);
      const done = JSON.parse(lines.find((l) => l.includes('every stored message is indexed'))!) as { rows: number; ms: number; time: number };
      const started = lines.find((l) => l.includes('indexing the messages stored before search'));
      console.log(`backfill: ${done.rows} rows in ${done.ms} ms (${Math.round(done.rows / (done.ms / 1000))} rows/s); a send during it was acknowledged ${done.time - uploadedAt} ms before the end`);
      expect(started).toBeDefined();
      expect(done.rows).toBeGreaterThanOrEqual(rows);
      expect(uploadedAt).toBeLessThan(done.time);
      expect(sent.seq).toBe(m.seq + rows + 1);
      expect((await b2!.search('milestone', { limit: 50 })).hits).toHaveLength(rows / 2000);
      expect((await b2!.search('"first message"')).hits.map((h) => h.message.seq)).toEqual([m.seq]);
      expect((await b2!.search('sent while indexing')).hits.map((h) => h.message.seq)).toEqual([sent.seq]);
    } finally {
      await second.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('CHAT_SEARCH_INDEX', () => {
  it('off drops the index (search answers CHAT_ERR_NOT_CONFIGURED); on again rebuilds it from the stored messages', async () => {
    const { tmpDir, waitFor } = await import('../../support/daemon.js');
    const { ApiClient, staticCredentials } = await import('../../../src/client/api.js');
    const dir = tmpDir('chat-search-off-');
    const off = await startDaemon({ CHAT_SEARCH_INDEX: 'off' }, dir);
    const [a, b] = await Promise.all([registerUser(off.url), registerUser(off.url)]);
    await befriend(a, b);
    await a.api.sendRest({ to: b.name, text: 'written while search was off' });
    expect(await code(b.api.search('written'))).toBe('CHAT_ERR_NOT_CONFIGURED');
    await off.close();
    const on = await startDaemon({}, dir);
    try {
      const b2 = new ApiClient(on.url, staticCredentials(b.auth.accessToken));
      await waitFor(async () => (await b2.search('written')).hits.length === 1);
      expect((await b2.search('"search was off"')).hits.map((h) => h.message.text)).toEqual(['written while search was off']);
    } finally {
      await on.close();
    }
  });
});
