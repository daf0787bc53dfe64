/**
 * The search contract (issue 29): what every deployment's search does, run against a real chatd
 * on each (embedded with FTS5: test/daemon/search, test/security/search.test.ts; scale-out with
 * OpenSearch fed from Kafka: test/real-engines/opensearch-search.test.ts), through the REST API.
 *
 * `settle()` returns once everything acknowledged so far is searchable: at once on the embedded
 * deployment (a search has the writer index what is pending), and once the search feeder has
 * applied every record on scale-out (the index is eventually consistent, within a measured time).
 * What a deleted message must never do, even before it settles, is appear in an answer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { ChatError, SearchResult } from '../../src/protocol/index.js';
import { befriend, registerUser, startDaemon, type TestUser } from './daemon.js';
import { uploadBytes } from './files.js';

export interface SearchDeployment {
  url: string;
  /** Resolves once everything acknowledged so far can be found. */
  settle(): Promise<void>;
  close(): Promise<void>;
}

export interface SearchContract {
  /** Names the deployment in the test titles and the printed counts. */
  label: string;
  /** A chatd with search, with the rate limits of friends, groups, messages and search raised for tests. */
  start(): Promise<SearchDeployment>;
  /** Runs of the visibility property (each: 4 users, 10–40 random operations, then a settle and 4 searches). */
  propertyRuns: number;
}

/** Rate limits a contract run needs out of its way (each test makes many calls). */
export const CONTRACT_LIMITS = { CHAT_GROUP_RATE_LIMIT: '100000', CHAT_FRIEND_RATE_LIMIT: '100000', CHAT_MESSAGE_RATE_LIMIT: '100000', CHAT_SEARCH_RATE_LIMIT: '100000', CHAT_LOOKUP_RATE_LIMIT: '100000' };

/** The embedded deployment: a chatd on port 0 with a fresh data dir; everything acknowledged is searchable at once. */
export const embeddedSearch: SearchContract = {
  label: 'embedded, FTS5',
  propertyRuns: 15,
  async start() {
    const d = await startDaemon(CONTRACT_LIMITS);
    return { url: d.url, settle: async () => {}, close: () => d.close() };
  },
};

const texts = (r: SearchResult) => r.hits.map((h) => h.message.text);
const code = (p: Promise<unknown>) => p.then(() => 'ok', (e: ChatError) => e.code);
let groupCounter = 0;
const groupHandle = (base: string) => `#${base}${process.pid % 1000}g${++groupCounter}`;

/** Items 1 and 3: the language, ranking and paging, filters, current content only. */
export function searchBehaviour(c: SearchContract) {
  describe(`search contract: behaviour (${c.label})`, () => {
    let d: SearchDeployment;
    let ann: TestUser;
    let bob: TestUser;
    let cid: TestUser;
    beforeAll(async () => {
      d = await c.start();
      [ann, bob, cid] = await Promise.all([registerUser(d.url), registerUser(d.url), registerUser(d.url)]);
      await befriend(ann, bob);
      await befriend(bob, cid);
    });
    afterAll(async () => { await d?.close(); });

    it('finds words case- and accent-insensitively, phrases in order, and leaves out excluded words', async () => {
      await ann.api.sendRest({ to: bob.name, text: 'Le Café de Flore opens at nine' });
      await bob.api.sendRest({ to: ann.name, text: 'cafe later? the flore is full' });
      await ann.api.sendRest({ to: bob.name, text: 'Nine sharp, café crème' });
      await d.settle();
      expect(texts(await ann.api.search('CAFE')).sort()).toEqual(['Le Café de Flore opens at nine', 'Nine sharp, café crème', 'cafe later? the flore is full'].sort());
      expect(texts(await ann.api.search('"café de flore"'))).toEqual(['Le Café de Flore opens at nine']);
      expect(texts(await ann.api.search('"flore de café"'))).toEqual([]);
      expect(texts(await ann.api.search('cafe -flore'))).toEqual(['Nine sharp, café crème']);
      expect(texts(await ann.api.search(`cafe from:${bob.name}`))).toEqual(['cafe later? the flore is full']);
      const hit = (await ann.api.search('crème')).hits[0]!;
      expect(hit.with).toBe(bob.name);
      expect(hit.message.from).toBe(ann.name);
      expect(hit.matches.map(([s, e]) => hit.snippet.slice(s, e))).toEqual(['crème']);
    });

    it('ranks a message that is about the words above one that mentions them once in passing', async () => {
      await cid.api.sendRest({ to: bob.name, text: 'lighthouse lighthouse: the lighthouse keeper' });
      await cid.api.sendRest({ to: bob.name, text: 'we walked past a lighthouse on the way to the market, then bought bread, cheese, apples and a newspaper' });
      await d.settle();
      const r = await bob.api.search('lighthouse');
      expect(texts(r)[0]).toBe('lighthouse lighthouse: the lighthouse keeper');
      expect(r.hits).toHaveLength(2);
    });

    it('never returns what the user may not read: another pair\'s conversation, whatever the query', async () => {
      await bob.api.sendRest({ to: cid.name, text: 'bob and cid share a zanzibar secret' });
      await d.settle();
      expect(texts(await bob.api.search('zanzibar'))).toEqual(['bob and cid share a zanzibar secret']);
      for (const q of ['zanzibar', `zanzibar in:${cid.name}`, `zanzibar from:${cid.name}`, `zanzibar in:${bob.name}`, 'zanzibar*', 'secret OR zanzibar']) {
        expect((await ann.api.search(q)).hits, q).toEqual([]);
      }
    });

    it('finds an edited message by its new text only, and a deleted one not at all', async () => {
      const m = await ann.api.sendRest({ to: bob.name, text: 'the password is swordfish' });
      await d.settle();
      expect(texts(await bob.api.search('swordfish'))).toEqual(['the password is swordfish']);
      await ann.api.editMessage(bob.name, m.seq, 'the password is elsewhere');
      await d.settle();
      expect((await bob.api.search('swordfish')).hits).toEqual([]);
      expect(texts(await bob.api.search('elsewhere'))).toEqual(['the password is elsewhere']);
      await ann.api.deleteMessage(bob.name, m.seq);
      // Out of every answer as soon as the delete is acknowledged, before any settling.
      expect((await bob.api.search('elsewhere')).hits).toEqual([]);
      expect((await bob.api.search('password')).hits).toEqual([]);
      await d.settle();
      expect((await bob.api.search('password')).hits).toEqual([]);
    });

    it('pages with a cursor, by relevance and newest first, without repeats or gaps', async () => {
      for (let i = 0; i < 25; i++) await bob.api.sendRest({ to: cid.name, text: `paging marker number ${i}` });
      await d.settle();
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
        console.log(`search paging (${c.label}, ${sort}): ${pages} pages, ${seen.length} hits, ${new Set(seen).size} distinct`);
        expect(pages).toBe(3);
        expect(new Set(seen).size).toBe(25);
        if (sort === 'recent') expect(seen.slice(0, 3)).toEqual(['paging marker number 24', 'paging marker number 23', 'paging marker number 22']);
      }
      // A cursor of one sort is refused by the other.
      const first = await cid.api.search('paging marker', { limit: 10, sort: 'recent' });
      expect(await code(cid.api.search('paging marker', { limit: 10, cursor: first.next! }))).toBe('CHAT_ERR_VALIDATION');
    });

    it('filters: in: a friend or a #group, from:, is:mention, before: and after: dates', async () => {
      const handle = groupHandle('srchf');
      await ann.api.createGroup(handle, [bob.name]);
      await ann.api.sendRest({ to: handle, text: `heron sighting, @${bob.name} come see` });
      await bob.api.sendRest({ to: handle, text: 'heron gone' });
      const sent = await ann.api.sendRest({ to: bob.name, text: 'a heron in our chat' });
      await d.settle();
      expect(texts(await bob.api.search(`heron in:${handle}`)).sort()).toEqual([`heron sighting, @${bob.name} come see`, 'heron gone'].sort());
      expect(texts(await bob.api.search(`heron in:${ann.name}`))).toEqual(['a heron in our chat']);
      expect(texts(await bob.api.search('heron', { in: ann.name }))).toEqual(['a heron in our chat']);
      expect(texts(await bob.api.search(`heron in:${handle} from:${bob.name}`))).toEqual(['heron gone']);
      expect(texts(await bob.api.search('heron is:mention'))).toEqual([`heron sighting, @${bob.name} come see`]);
      expect((await ann.api.search('heron is:mention')).hits).toEqual([]);
      // Dates are UTC days; the three were sent on the day of the last one (or a test run across midnight fails here, once).
      const at = Date.parse(sent.createdAt);
      const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
      const [yesterday, today, tomorrow] = [day(at - 86_400_000), day(at), day(at + 86_400_000)];
      expect((await bob.api.search(`heron before:${tomorrow}`)).hits).toHaveLength(3);
      expect((await bob.api.search(`heron before:${today}`)).hits).toHaveLength(0);
      expect((await bob.api.search(`heron after:${yesterday}`)).hits).toHaveLength(3);
      expect((await bob.api.search(`heron after:${today}`)).hits).toHaveLength(0);
      // None of these carries a file.
      expect((await bob.api.search('heron has:file')).hits).toEqual([]);
    });

    it('finds files by name, and has:file finds messages with files; a deleted one is gone from both', async () => {
      const report = await uploadBytes(d.url, ann, 'Quarterly-Résumé.pdf', Buffer.from('%PDF-1.4 not really'));
      const photo = await uploadBytes(d.url, ann, 'otter.png', Buffer.from('not a png'));
      const withText = await ann.api.sendRest({ to: bob.name, text: 'numbers attached', files: [report.id] });
      await ann.api.sendRest({ to: bob.name, files: [photo.id] });
      await ann.api.sendRest({ to: bob.name, text: 'the quarterly numbers are late' });
      await d.settle();
      // A word of a file's name finds its message (accents and case folded), with the name as the snippet.
      const byName = await bob.api.search('resume');
      expect(byName.hits.map((h) => [h.message.seq, h.snippet, h.snippet.slice(...h.matches[0]!)])).toEqual([[withText.seq, 'Quarterly-Résumé.pdf', 'Résumé']]);
      expect(texts(await bob.api.search('otter'))).toEqual(['']);
      expect(texts(await bob.api.search('quarterly')).sort()).toEqual(['numbers attached', 'the quarterly numbers are late']);
      expect(texts(await bob.api.search('quarterly has:file'))).toEqual(['numbers attached']);
      expect(texts(await bob.api.search(`has:file from:${ann.name}`, { sort: 'recent' }))).toEqual(['', 'numbers attached']);
      expect((await bob.api.search('otter -png')).hits).toEqual([]);
      await ann.api.deleteMessage(bob.name, withText.seq);
      expect((await bob.api.search('resume')).hits).toEqual([]);
      await d.settle();
      expect((await bob.api.search('resume')).hits).toEqual([]);
      expect(texts(await bob.api.search(`has:file from:${ann.name}`))).toEqual(['']);
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
}

/** Every tag a user finds with `needle`, through every page. */
async function found(u: TestUser, q = 'needle'): Promise<Set<string>> {
  const tags = new Set<string>();
  let cursor: string | undefined;
  do {
    const r = await u.api.search(q, { limit: 50, sort: 'recent', cursor });
    for (const h of r.hits) tags.add(/tag(\w+)/.exec(h.message.text)![1]!);
    cursor = r.next ?? undefined;
  } while (cursor);
  return tags;
}

/** Items 2 and 10: only what the user may read (property), syntax never reaches the engine, costs capped. */
export function searchSecurity(c: SearchContract) {
  describe(`search contract: security (${c.label})`, () => {
    let d: SearchDeployment;
    beforeAll(async () => { d = await c.start(); });
    afterAll(async () => { await d?.close(); });

    it('random friendships, unfriendings, group additions, removals and leaves: each user finds exactly what history lets them read (property)', async () => {
      let run = 0;
      const totals = { runs: 0, ops: 0, messages: 0, searches: 0, leaked: 0, missed: 0 };
      const op = fc.oneof(
        { arbitrary: fc.record({ t: fc.constant('dm' as const), a: fc.integer({ min: 0, max: 3 }), b: fc.integer({ min: 0, max: 3 }) }), weight: 4 },
        { arbitrary: fc.record({ t: fc.constant('gsend' as const), a: fc.integer({ min: 0, max: 3 }) }), weight: 4 },
        fc.record({ t: fc.constant('unfriend' as const), a: fc.integer({ min: 1, max: 3 }), b: fc.integer({ min: 1, max: 3 }) }),
        fc.record({ t: fc.constant('befriend' as const), a: fc.integer({ min: 1, max: 3 }), b: fc.integer({ min: 1, max: 3 }) }),
        { arbitrary: fc.record({ t: fc.constant('add' as const), a: fc.integer({ min: 1, max: 3 }) }), weight: 2 },
        fc.record({ t: fc.constant('remove' as const), a: fc.integer({ min: 1, max: 3 }) }),
        fc.record({ t: fc.constant('leave' as const), a: fc.integer({ min: 1, max: 3 }) }),
      );
      await fc.assert(fc.asyncProperty(fc.array(op, { minLength: 10, maxLength: 40 }), async (ops) => {
        run++;
        const users = await Promise.all([0, 1, 2, 3].map(() => registerUser(d.url)));
        // The owner (0) is everyone's friend; the others start as friends of each other too.
        const friends = new Set<string>();
        const key = (a: number, b: number) => `${Math.min(a, b)}-${Math.max(a, b)}`;
        for (let a = 0; a < 4; a++) for (let b = a + 1; b < 4; b++) { await befriend(users[a]!, users[b]!); friends.add(key(a, b)); }
        const handle = groupHandle(`srch${run}r`);
        await users[0]!.api.createGroup(handle, []);
        const members = new Set([0]);
        /** Model: who may read each tag. */
        const dmTags: { tag: string; pair: [number, number] }[] = [];
        const groupTags: string[] = [];
        const removedAt = new Map<number, number>(); // user -> group messages sent before their last removal
        let i = 0;
        for (const o of ops) {
          const tag = `r${run}x${i++}`;
          if (o.t === 'dm') {
            if (o.a === o.b) continue;
            const r = await code(users[o.a]!.api.sendRest({ to: users[o.b]!.name, text: `needle tag${tag}` }));
            expect(r).toBe(friends.has(key(o.a, o.b)) ? 'ok' : 'CHAT_ERR_NOT_FRIENDS');
            if (r === 'ok') dmTags.push({ tag, pair: [o.a, o.b] });
          } else if (o.t === 'unfriend' || o.t === 'befriend') {
            if (o.a === o.b) continue;
            if (o.t === 'unfriend' && friends.has(key(o.a, o.b))) { await users[o.a]!.api.removeFriend(users[o.b]!.name); friends.delete(key(o.a, o.b)); }
            if (o.t === 'befriend' && !friends.has(key(o.a, o.b))) { await befriend(users[o.a]!, users[o.b]!); friends.add(key(o.a, o.b)); }
          } else if (o.t === 'gsend') {
            const r = await code(users[o.a]!.api.sendRest({ to: handle, text: `needle tag${tag}` }));
            expect(r === 'ok').toBe(members.has(o.a));
            if (r === 'ok') groupTags.push(tag);
          } else if (o.t === 'add') {
            if (members.has(o.a)) continue;
            await users[0]!.api.addGroupMembers(handle, [users[o.a]!.name]);
            members.add(o.a);
          } else if (members.has(o.a)) {
            if (o.t === 'remove') await users[0]!.api.removeGroupMember(handle, users[o.a]!.name);
            else await users[o.a]!.api.leaveGroup(handle);
            members.delete(o.a);
            removedAt.set(o.a, groupTags.length);
          }
          totals.ops++;
        }
        totals.runs++;
        totals.messages += dmTags.length + groupTags.length;
        await d.settle();
        for (let u = 0; u < 4; u++) {
          const expected = new Set([
            ...dmTags.filter((m) => m.pair.includes(u)).map((m) => m.tag),
            ...(members.has(u) ? groupTags : groupTags.slice(0, removedAt.get(u) ?? 0)),
          ]);
          const got = await found(users[u]!);
          totals.searches++;
          const leaked = [...got].filter((t) => !expected.has(t));
          const missed = [...expected].filter((t) => !got.has(t));
          totals.leaked += leaked.length;
          totals.missed += missed.length;
          expect({ user: u, leaked, missed }).toEqual({ user: u, leaked: [], missed: [] });
        }
      }), { numRuns: c.propertyRuns, seed: 2912 });
      console.log(`search visibility (${c.label}): ${totals.runs} runs, ${totals.ops} operations, ${totals.messages} messages, ${totals.searches} searches; leaked ${totals.leaked}, missed ${totals.missed}`);
    }, 300_000);

    it('FTS5 and Lucene syntax is searched as words or refused, never an internal error', async () => {
      const [a, b] = await Promise.all([registerUser(d.url), registerUser(d.url)]);
      await befriend(a, b);
      await a.api.sendRest({ to: b.name, text: 'plain words about NEAR and OR and title' });
      await d.settle();
      const queries = ['*', 'a*', 'NEAR(a b)', 'NEAR', 'title:x', 'text:plain', '{text}: plain', '"unbalanced', 'a OR b', 'a AND', 'NOT a', '^plain', 'plain^2', '(plain', 'plain)', '\'; DROP TABLE messages; --', 'rowid:1', '""', '" "', 'col:"x"', 'plain -', '-', '--', 'field:*:*', 'a~2', '/regex/', 'x\\"y', '_id:*', 'conversationId:*', '{"match_all":{}}'];
      const outcomes: Record<string, string> = {};
      for (const q of queries) outcomes[q] = await a.api.search(q).then((r) => `${r.hits.length} hits`, (e: ChatError) => e.code);
      console.log(`query syntax outcomes (${c.label}):`, JSON.stringify(outcomes));
      for (const [q, out] of Object.entries(outcomes)) expect(out, q).toMatch(/^\d+ hits$|^CHAT_ERR_VALIDATION$/);
      // Words that are operators in FTS5 or Lucene are words here.
      expect(outcomes.NEAR).toBe('1 hits');
      expect(outcomes['a OR b']).toBe('0 hits');
      expect(outcomes['*']).not.toMatch(/^[1-9]/);
      expect(outcomes['_id:*']).not.toMatch(/^[1-9]/);
    });

    it('10,000 terms, a huge page and a deep page are refused', async () => {
      const a = await registerUser(d.url);
      expect(await code(a.api.search(Array.from({ length: 10_000 }, (_, i) => `t${i}`).join(' ')))).toBe('CHAT_ERR_VALIDATION');
      expect(await code(a.api.search('x', { limit: 51 }))).toBe('CHAT_ERR_VALIDATION');
      const deep = Buffer.from(JSON.stringify({ o: 5000 })).toString('base64url');
      expect(await code(a.api.search('x', { cursor: deep }))).toBe('CHAT_ERR_VALIDATION');
    });

    it('a conversation named in in: that the user cannot read answers like one without matches', async () => {
      const [a, b, cc] = await Promise.all([registerUser(d.url), registerUser(d.url), registerUser(d.url)]);
      await befriend(b, cc);
      await b.api.sendRest({ to: cc.name, text: 'private quokka' });
      const handle = groupHandle('quokka');
      await cc.api.createGroup(handle, [b.name]);
      await b.api.sendRest({ to: handle, text: 'group quokka' });
      await d.settle();
      expect((await b.api.search('quokka')).hits).toHaveLength(2);
      for (const q of [`quokka in:${b.name}`, `quokka in:${handle}`, 'quokka in:#nosuchgroup', 'quokka in:nosuchuser', 'quokka']) {
        expect(await a.api.search(q), q).toEqual({ hits: [], next: null });
      }
    });
  });
}
