import { ChatError } from '../../protocol/index.js';

/**
 * The page cursor both search engines hand out, opaque to clients (base64url of a small JSON):
 * by relevance, the offset of the next page (each page re-ranks everything before it, so it is
 * capped); newest first, the position of the last hit (the engine's own: a rowid, a sort tuple),
 * which the next page starts below.
 */

/** Deepest page by relevance: beyond this many hits a query must be narrowed. */
export const MAX_SEARCH_OFFSET = 1000;

export type SearchPosition = { offset: number; after?: undefined } | { offset: 0; after: unknown };

const invalid = (why: string) => new ChatError('CHAT_ERR_VALIDATION', why, { details: [{ path: 'cursor', message: 'not a cursor of this search' }] });

/**
 * Where a page starts: the start without a cursor; otherwise the cursor's offset (by relevance)
 * or position (newest first, checked by `isPosition`). A cursor of another sort, a forged offset
 * beyond the cap, or anything else is a validation error.
 */
export function decodeSearchCursor(cursor: string | undefined, sort: 'relevance' | 'recent', isPosition: (v: unknown) => boolean): SearchPosition {
  if (cursor === undefined) return { offset: 0 };
  let c: Record<string, unknown>;
  try {
    c = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    throw invalid('cursor is not one this server gave');
  }
  if (c === null || typeof c !== 'object') throw invalid('cursor is not one this server gave');
  if (('o' in c) !== (sort === 'relevance') && ('o' in c || 'a' in c)) throw invalid('cursor belongs to a search with another sort');
  if (sort === 'relevance' && typeof c.o === 'number' && Number.isSafeInteger(c.o) && c.o >= 0 && c.o <= MAX_SEARCH_OFFSET) return { offset: c.o };
  if (sort === 'recent' && 'a' in c && isPosition(c.a)) return { offset: 0, after: c.a };
  throw invalid('cursor is not one this server gave');
}

/** The cursor of the page after this one, or null when this was the last (or the deepest allowed). */
export function nextSearchCursor(more: boolean, sort: 'relevance' | 'recent', offset: number, limit: number, lastPosition: unknown): string | null {
  if (!more) return null;
  if (sort === 'recent') return Buffer.from(JSON.stringify({ a: lastPosition })).toString('base64url');
  if (offset + limit >= MAX_SEARCH_OFFSET) return null;
  return Buffer.from(JSON.stringify({ o: offset + limit })).toString('base64url');
}
