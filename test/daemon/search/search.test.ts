/**
 * Server search against a real chatd (embedded, FTS5): what is found, ranked and paged, and what
 * never is (other people's conversations, old texts of edited messages, deleted messages).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChatError, type SearchResult } from '../../../src/protocol/index.js';
import { befriend, registerUser, startDaemon, type TestDaemon, type TestUser } from '../../support/daemon.js';

let d: TestDaemon;
let ann: TestUser;
let bob: TestUser;
let cid: TestUser;
beforeAll(async () => {
  d = await startDaemon();
  [ann, bob, cid] = await Promise.all([registerUser(d.url), registerUser(d.url), registerUser(d.url)]);
  await befriend(ann, bob);
  await befriend(bob, cid);
});
afterAll(async () => { await d.close(); });

const texts = (r: SearchResult) => r.hits.map((h) => h.message.text);
const code = (p: Promise<unknown>) => p.then(() => 'ok', (e: ChatError) => e.code);

describe('search', () => {
  it('finds words case- and accent-insensitively, phrases in order, and leaves out excluded words', async () => {
    await ann.api.sendRest({ to: bob.name, text: 'Le Café de Flore opens at nine' });
    await bob.api.sendRest({ to: ann.name, text: 'cafe later? the flore is full' });
    await ann.api.sendRest({ to: bob.name, text: 'Nine sharp, café crème' });
    expect(texts(await ann.api.search('CAFE')).sort()).toEqual(['Le Café de Flore opens at nine', 'Nine sharp, café crème', 'cafe later? the flore is full'].sort());
    expect(texts(await ann.api.search('"café de flore"'))).toEqual(['Le Café de Flore opens at nine']);
    expect(texts(await ann.api.search('cafe -flore'))).toEqual(['Nine sharp, café crème']);
    expect(texts(await ann.api.search(`cafe from:${bob.name}`))).toEqual(['cafe later? the flore is full']);
    const hit = (await ann.api.search('crème')).hits[0]!;
    expect(hit.with).toBe(bob.name);
    expect(hit.matches.map(([s, e]) => hit.snippet.slice(s, e))).toEqual(['crème']);
  });

  it('never returns what the user may not read: another pair\'s conversation, whatever the query', async () => {
    await bob.api.sendRest({ to: cid.name, text: 'bob and cid share a zanzibar secret' });
    expect(texts(await bob.api.search('zanzibar'))).toEqual(['bob and cid share a zanzibar secret']);
    for (const q of ['zanzibar', `zanzibar in:${cid.name}`, `zanzibar from:${cid.name}`, `zanzibar in:${bob.name}`, 'zanzibar*', 'secret OR zanzibar']) {
      expect((await ann.api.search(q)).hits, q).toEqual([]);
    }
  });

  it('finds an edited message by its new text only, and a deleted one not at all', async () => {
    const m = await ann.api.sendRest({ to: bob.name, text: 'the password is swordfish' });
    expect(texts(await bob.api.search('swordfish'))).toEqual(['the password is swordfish']);
    await ann.api.editMessage(bob.name, m.seq, 'the password is elsewhere');
    expect((await bob.api.search('swordfish')).hits).toEqual([]);
    expect(texts(await bob.api.search('elsewhere'))).toEqual(['the password is elsewhere']);
    await ann.api.deleteMessage(bob.name, m.seq);
    expect((await bob.api.search('elsewhere')).hits).toEqual([]);
    expect((await bob.api.search('password')).hits).toEqual([]);
  });

  it('pages with a cursor, by relevance and newest first, without repeats or gaps', async () => {
    for (let i = 0; i < 25; i++) await bob.api.sendRest({ to: cid.name, text: `paging marker number ${i}` });
    for (const sort of ['relevance', 'recent'] as const) {
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const r = await cid.api.search('paging marker', { limit: 10, sort, cursor });
        seen.push(...texts(r));
        cursor = r.next ?? undefined;
        pages++;
      } while (cursor);
      console.log(`search paging (${sort}): ${pages} pages, ${seen.length} hits, ${new Set(seen).size} distinct`);
      expect(pages).toBe(3);
      expect(new Set(seen).size).toBe(25);
      if (sort === 'recent') expect(seen[0]).toBe('paging marker number 24');
    }
  });

  it('refuses malformed queries with a validation error naming the problem', async () => {
    const cases: Record<string, string> = {
      '"unbalanced': 'unbalanced quote',
      'from:no!pe': 'from:no!pe is not a username',
      'before:2026-02-30': 'not a date',
      'has:cats': 'has:cats',
      '-only -excluded': 'not excluded',
      '': 'no words',
      [Array.from({ length: 40 }, (_, i) => `w${i}`).join(' ')]: 'more than 32',
    };
    for (const [q, words] of Object.entries(cases)) {
      const err = await ann.api.search(q).then(() => null, (e: ChatError) => e);
      expect(err?.code, q).toBe('CHAT_ERR_VALIDATION');
      expect(err?.message, q).toContain(words);
    }
    expect(await code(ann.api.search('x'.repeat(501)))).toBe('CHAT_ERR_VALIDATION');
    expect(await code(ann.api.search('cafe', { cursor: 'bm90LWEtY3Vyc29y' }))).toBe('CHAT_ERR_VALIDATION');
  });
});

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
    db.exec('DROP TRIGGER messages_search_update; DROP TRIGGER messages_search_delete; DROP TABLE messages_fts; DROP VIEW messages_search; DROP TABLE search_state;');
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
      const sentAt = Date.now();
      const { waitFor } = await import('../../support/daemon.js');
      await waitFor(() => lines.some((l) => l.includes('every stored message is indexed')), 60_000);
      const done = JSON.parse(lines.find((l) => l.includes('every stored message is indexed'))!) as { rows: number; ms: number; time: number };
      const started = lines.find((l) => l.includes('indexing the messages stored before search'));
      console.log(`backfill: ${done.rows} rows in ${done.ms} ms (${Math.round(done.rows / (done.ms / 1000))} rows/s); a send during it was acknowledged ${done.time - sentAt} ms before the end`);
      expect(started).toBeDefined();
      expect(done.rows).toBeGreaterThanOrEqual(rows);
      expect(sentAt).toBeLessThan(done.time);
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
