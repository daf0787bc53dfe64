import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { fuzzyRank, fuzzyScore } from '../../src/tui/fuzzy.js';

describe('the conversation finder (issue 31, 11)', () => {
  const list = [
    { key: 'bob', label: 'bob' },
    { key: '#ops', label: 'Operations' },
    { key: 'robert', label: 'robert' },
    { key: '#release', label: 'Release train' },
    { key: 'oliver_b', label: 'oliver_b' },
  ];
  const keys = (q: string) => fuzzyRank(q, list).map((c) => c.key);

  it('ranks the start of a name first, then a run anywhere, then spread letters; ties keep the list\'s order', () => {
    expect(keys('ob')).toEqual(['bob', 'robert', 'oliver_b']);
    expect(keys('op')).toEqual(['#ops']);
    expect(keys('#ops')).toEqual(['#ops']);
    expect(keys('REL')).toEqual(['#release']);
    // A group's display name matches too.
    expect(keys('train')).toEqual(['#release']);
    expect(keys('')).toEqual(list.map((c) => c.key));
    expect(keys('xyz')).toEqual([]);
  });

  it('a name matches exactly when the query\'s letters appear in it in order', () => {
    const word = fc.stringMatching(/^[a-z_.]{0,12}$/);
    fc.assert(fc.property(word, word, (q, n) => {
      let from = 0;
      const inOrder = [...q].every((ch) => { const i = n.indexOf(ch, from); from = i + 1; return i >= 0; });
      expect(fuzzyScore(q, n) !== null).toBe(inOrder);
    }), { numRuns: 500 });
  });
});
