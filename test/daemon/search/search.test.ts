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
