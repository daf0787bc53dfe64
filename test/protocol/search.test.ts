import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MAX_QUERY_CHARS, MAX_QUERY_TERMS, SearchSyntaxError, parseSearch, unmark, wordsOf } from '../../src/protocol/index.js';
import { matchExpression } from '../../src/daemon/deployments/embedded/sqlite-search.js';

describe('the search query language', () => {
  it('parses words, phrases, exclusions and every filter', () => {
    expect(parseSearch('deploy "release notes" -draft -"old branch" from:@Ann in:#Ops in:bob has:file is:mention before:2026-12-01 after:2026-11-01')).toEqual({
      terms: [
        { words: ['deploy'], excluded: false },
        { words: ['release', 'notes'], excluded: false },
        { words: ['draft'], excluded: true },
        { words: ['old', 'branch'], excluded: true },
      ],
      from: ['ann'], in: ['#ops', 'bob'], hasFile: true, isMention: true, before: '2026-12-01', after: '2026-11-01',
    });
  });

  it('treats unknown keys, FTS5 and Lucene syntax as plain words', () => {
    expect(parseSearch('https://example.com/a').terms).toEqual([{ words: ['https', 'example', 'com', 'a'], excluded: false }]);
    expect(parseSearch('a* NEAR(b c) title:x ^d').terms.map((t) => t.words.join(' '))).toEqual(['a', 'NEAR b', 'c', 'title x', 'd']);
    expect(parseSearch('café Привет שלום').terms.map((t) => t.words[0])).toEqual(['café', 'Привет', 'שלום']);
    // Punctuation alone is no word; with nothing else there is nothing to search for.
    expect(() => parseSearch('*** ???')).toThrow(/no words/);
  });

  it('names the problem of a malformed query', () => {
    const cases: [string, RegExp][] = [
      ['"open', /unbalanced quote/],
      ['from:', /from: needs a value/],
      ['from:a', /not a username/],
      ['in:#x', /neither a username nor a #group/],
      ['is:starred', /is:starred is not known/],
      ['before:2026-13-01', /not a date/],
      ['x after:2026-12-02 before:2026-12-01', /nothing can match/],
      ['-a -b', /not excluded/],
      ['x'.repeat(MAX_QUERY_CHARS + 1), /exceeds 500/],
      [Array.from({ length: MAX_QUERY_TERMS + 1 }, (_, i) => `w${i}`).join(' '), /more than 32/],
      ['\ud800 lone', /lone surrogate/],
    ];
    for (const [q, re] of cases) expect(() => parseSearch(q), q).toThrow(re);
  });

  it('any string parses to terms of words only, or fails with a SearchSyntaxError (property)', () => {
    fc.assert(fc.property(fc.string({ maxLength: 600, unit: fc.constantFrom('a', 'B', 'é', '"', '-', ':', '*', '(', ')', ' ', 'from', 'in', '#', '@', 'NEAR', 'OR', '^', '{', '}', '2026-01-01', 'before', '你', '\n') }), (q) => {
      try {
        const p = parseSearch(q);
        expect(p.terms.length).toBeLessThanOrEqual(MAX_QUERY_TERMS);
        for (const t of p.terms) for (const w of t.words) expect(w).toMatch(/^[\p{L}\p{M}\p{N}]+$/u);
        // The FTS5 expression quotes every term: the user's characters never become operators.
        const expr = matchExpression(p, ['dm:a:b']);
        const outside = expr.replace(/"[^"]*"/g, '');
        expect(outside).toMatch(/^[(){}\s:A-Za-z0-9]*$/);
        expect(outside.replace(/\{scope\}|\{text names\}|\bAND\b|\bNOT\b|\bOR\b|c[0-9A-F]+/g, '')).toMatch(/^[()\s:]*$/);
      } catch (err) {
        expect(err).toBeInstanceOf(SearchSyntaxError);
      }
    }), { numRuns: 500 });
  });

  it('wordsOf and unmark', () => {
    expect(wordsOf("it's a well-known fact, 42!")).toEqual(['it', 's', 'a', 'well', 'known', 'fact', '42']);
    expect(unmark('say \uE000hello\uE001 and \uE000bye\uE001', '\uE000', '\uE001')).toEqual({ text: 'say hello and bye', matches: [[4, 9], [14, 17]] });
  });
});
