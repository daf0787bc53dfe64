import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ChatError } from '../../../src/protocol/index.js';
import { MAX_SEARCH_OFFSET, decodeSearchCursor, nextSearchCursor } from '../../../src/daemon/deployments/search-cursor.js';

const isRowid = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
const refused = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return (e as ChatError).code;
  }
  return 'accepted';
};

describe('search page cursors (shared by the FTS5 and OpenSearch engines)', () => {
  it('round-trips: the next page of one starts where the cursor says, for both sorts', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: MAX_SEARCH_OFFSET - 1 }), fc.integer({ min: 1, max: 50 }), fc.integer({ min: 1, max: 2 ** 40 }), (offset, limit, rowid) => {
      const byRank = nextSearchCursor(true, 'relevance', offset, limit, undefined);
      if (offset + limit >= MAX_SEARCH_OFFSET) expect(byRank).toBeNull();
      else expect(decodeSearchCursor(byRank!, 'relevance', isRowid)).toEqual({ offset: offset + limit });
      expect(decodeSearchCursor(nextSearchCursor(true, 'recent', 0, limit, rowid)!, 'recent', isRowid)).toEqual({ offset: 0, after: rowid });
    }));
    expect(nextSearchCursor(false, 'recent', 0, 10, 5)).toBeNull();
    expect(decodeSearchCursor(undefined, 'recent', isRowid)).toEqual({ offset: 0 });
  });

  it('refuses a cursor of the other sort, a forged deep offset, a position the engine would not give, and garbage', () => {
    const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const cases: [string, 'relevance' | 'recent', string][] = [
      [enc({ o: 10 }), 'recent', 'another sort'],
      [enc({ a: 7 }), 'relevance', 'another sort'],
      [enc({ o: MAX_SEARCH_OFFSET + 1 }), 'relevance', 'not one this server gave'],
      [enc({ o: -1 }), 'relevance', 'not one this server gave'],
      [enc({ a: 'DROP' }), 'recent', 'not one this server gave'],
      [enc(null), 'recent', 'not one this server gave'],
      ['bm90LWEtY3Vyc29y', 'relevance', 'not one this server gave'],
    ];
    for (const [cursor, sort, why] of cases) {
      expect(refused(() => decodeSearchCursor(cursor, sort, isRowid)), cursor).toBe('CHAT_ERR_VALIDATION');
      try { decodeSearchCursor(cursor, sort, isRowid); } catch (e) { expect((e as Error).message, cursor).toContain(why); }
    }
  });
});
