/** `chat search`, run as a subprocess against a real chatd: plain and --json output, paging, exit codes. */
import { describe, expect, it } from 'vitest';
import type { SearchResult } from '../../src/protocol/index.js';
import { chatdForFile } from '../support/procs.js';

const file = chatdForFile();
const user = file.user;

describe('chat search', () => {
  it('finds messages with their conversation, seq, author and snippet; pages with --cursor; malformed queries exit 2', async () => {
    const a = user('srch_ann');
    const b = user('srch_ben');
    expect((await a.run(['register', a.name, '--password-stdin'], 'password-a\n')).code).toBe(0);
    expect((await b.run(['register', b.name, '--password-stdin'], 'password-b\n')).code).toBe(0);
    expect((await a.run(['friends', 'add', b.name])).code).toBe(0);
    expect((await b.run(['friends', 'accept', a.name])).code).toBe(0);
    expect((await a.run(['send', b.name, 'the deploy window opens at noon'])).code).toBe(0);
    expect((await b.run(['send', a.name, 'deploy postponed,\nsee the notes'])).code).toBe(0);
    expect((await a.run(['group', 'create', 'srchops', b.name])).code).toBe(0);
    expect((await b.run(['send', '#srchops', 'group deploy checklist'])).code).toBe(0);

    const plain = await b.run(['search', 'deploy']);
    expect(plain.code).toBe(0);
    const lines = plain.stdout.trim().split('\n');
    console.log(`chat search deploy:\n${plain.stdout}${plain.stderr}`);
    expect(lines).toHaveLength(3);
    expect(plain.stdout).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d srch_ann #1 srch_ann: the deploy window opens at noon$/m);
    // A newline in a text never reaches the terminal as a line of its own.
    expect(plain.stdout).toMatch(/srch_ann #2 srch_ben: deploy postponed, see the notes$/m);
    expect(plain.stdout).toMatch(/#srchops #\d+ srch_ben: group deploy checklist$/m);
    expect(plain.stderr).toMatch(/3 found/);

    const json = await b.json<SearchResult>(['search', 'deploy', `from:${a.name}`]);
    expect(json.hits.map((h) => [h.with, h.message.seq, h.snippet.slice(...h.matches[0]!)])).toEqual([[a.name, 1, 'deploy']]);
    const scoped = await b.json<SearchResult>(['search', 'deploy', '--in', '#srchops']);
    expect(scoped.hits.map((h) => h.with)).toEqual(['#srchops']);

    const page1 = await b.json<SearchResult>(['search', 'deploy', '--limit', '2', '--sort', 'recent']);
    expect(page1.hits).toHaveLength(2);
    const page2 = await b.json<SearchResult>(['search', 'deploy', '--limit', '2', '--sort', 'recent', '--cursor', page1.next!]);
    expect(page2).toMatchObject({ next: null });
    expect(page2.hits.map((h) => h.message.text)).toEqual(['the deploy window opens at noon']);
    const more = await b.run(['search', 'deploy', '--limit', '2']);
    expect(more.stderr).toMatch(/more: add --cursor \S+/);

    expect((await b.run(['search', 'nothingmatchesthis'])).stderr).toMatch(/no messages found/);
    for (const bad of [['search', '"unbalanced'], ['search', 'before:yesterday'], ['search', 'x', '--limit', '99'], ['search', 'x', '--sort', 'oldest'], ['search', 'x', '--in', 'Not Valid']]) {
      const r = await b.run(bad);
      expect([bad.join(' '), r.code]).toEqual([bad.join(' '), 2]);
    }
    // A hit in context: the page around its seq.
    const around = await b.json<{ seq: number }[]>(['history', a.name, '--around', '1', '--limit', '4']);
    expect(around.map((m) => m.seq)).toEqual([1, 2]);
    expect((await b.json<{ seq: number }[]>(['history', a.name, '--around', '2', '--limit', '2'])).map((m) => m.seq)).toEqual([2]);
    expect((await b.run(['history', a.name, '--around', '1', '--before-seq', '2'])).code).toBe(2);
    const refused = await b.run(['search', 'x', '--cursor', 'bm9wZQ']);
    expect([refused.code, refused.stderr]).toEqual([1, expect.stringContaining('CHAT_ERR_VALIDATION')]);
  });
});
