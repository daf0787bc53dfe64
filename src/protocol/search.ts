import { GROUP_REF, USERNAME } from './names.js';

/**
 * The search query language, one for the CLI, the TUI and the REST route:
 *
 *   words "exact phrases" -excluded -"excluded phrase" from:user in:user in:#group
 *   has:file is:mention before:YYYY-MM-DD after:YYYY-MM-DD
 *
 * Words and phrases must all match (case and accents ignored); excluded ones must not. Several
 * `from:` (or several `in:`) match any of them. Dates are whole days in UTC: `before:` is earlier
 * than that day, `after:` later than it. A `key:value` whose key is not one of these is a word
 * (`http://x` searches for "http" and "x"). Parsing is pure and total: any string is either a
 * query or a `SearchSyntaxError` that names the problem, and engines only ever receive the parsed
 * terms, never the user's text as query syntax.
 */

/** Most characters of a query. */
export const MAX_QUERY_CHARS = 500;
/** Most words and phrases in a query, excluded ones included. */
export const MAX_QUERY_TERMS = 32;
/** Most hits in one page. */
export const MAX_SEARCH_LIMIT = 50;
/** Most values of one filter (`from:`, `in:`). */
export const MAX_FILTER_VALUES = 10;

export interface SearchTerm {
  /** The words of the term; more than one for a phrase (they must appear together, in order). */
  words: string[];
  /** Must not match. */
  excluded: boolean;
}

export interface ParsedSearch {
  terms: SearchTerm[];
  /** Usernames; any of them. */
  from: string[];
  /** Conversations as in a send: a friend's username or a `#group`; any of them. */
  in: string[];
  hasFile: boolean;
  isMention: boolean;
  /** ISO date (YYYY-MM-DD): messages created before this day (UTC). */
  before?: string;
  /** ISO date: messages created after this day (UTC). */
  after?: string;
}

export class SearchSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SearchSyntaxError';
  }
}

/**
 * The words of a piece of text, as the index sees them: runs of letters, marks and digits. What
 * has none (punctuation, emoji alone) is no word. Apostrophes and the like split words, as the
 * engines' tokenizers do.
 */
export function wordsOf(text: string): string[] {
  return text.match(/[\p{L}\p{M}\p{N}]+/gu) ?? [];
}

const FILTERS = ['from', 'in', 'has', 'is', 'before', 'after'] as const;
type Filter = (typeof FILTERS)[number];
const isFilter = (k: string): k is Filter => (FILTERS as readonly string[]).includes(k);

/** A whole calendar date, YYYY-MM-DD, that exists. */
function validDate(v: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(v)) return false;
  const d = new Date(`${v}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === v;
}

/** Splits a query into raw tokens: bare runs, and quoted phrases (a `-` before the quote excludes it). */
function lex(q: string): { text: string; quoted: boolean; excluded: boolean }[] {
  const out: { text: string; quoted: boolean; excluded: boolean }[] = [];
  let i = 0;
  while (i < q.length) {
    const c = q[i]!;
    if (/\s/u.test(c)) { i++; continue; }
    const excluded = c === '-' && q[i + 1] === '"';
    const start = excluded ? i + 1 : i;
    if (q[start] === '"') {
      const end = q.indexOf('"', start + 1);
      if (end < 0) throw new SearchSyntaxError(`unbalanced quote: the phrase starting at character ${start + 1} has no closing "`);
      out.push({ text: q.slice(start + 1, end), quoted: true, excluded });
      i = end + 1;
      continue;
    }
    let end = start;
    while (end < q.length && !/\s/u.test(q[end]!) && q[end] !== '"') end++;
    out.push({ text: q.slice(start, end), quoted: false, excluded: false });
    i = end;
  }
  return out;
}

/** Parses a query; throws SearchSyntaxError naming the problem. */
export function parseSearch(q: string): ParsedSearch {
  if (typeof q !== 'string') throw new SearchSyntaxError('the query must be text');
  if (q.length > MAX_QUERY_CHARS) throw new SearchSyntaxError(`the query exceeds ${MAX_QUERY_CHARS} characters`);
  if (!q.isWellFormed()) throw new SearchSyntaxError('the query is not valid Unicode (a lone surrogate)');
  const out: ParsedSearch = { terms: [], from: [], in: [], hasFile: false, isMention: false };
  const term = (text: string, excluded: boolean) => {
    const words = wordsOf(text);
    if (words.length === 0) return; // punctuation alone matches nothing and excludes nothing
    if (out.terms.length >= MAX_QUERY_TERMS) throw new SearchSyntaxError(`the query has more than ${MAX_QUERY_TERMS} words and phrases`);
    out.terms.push({ words, excluded });
  };
  for (const t of lex(q)) {
    if (t.quoted) { term(t.text, t.excluded); continue; }
    const colon = t.text.indexOf(':');
    const key = colon > 0 ? t.text.slice(0, colon).toLowerCase() : '';
    if (!isFilter(key)) {
      const excluded = t.text.startsWith('-') && t.text.length > 1;
      term(excluded ? t.text.slice(1) : t.text, excluded);
      continue;
    }
    const value = t.text.slice(colon + 1);
    if (value === '') throw new SearchSyntaxError(`${key}: needs a value`);
    switch (key) {
      case 'from': {
        const u = value.toLowerCase().replace(/^@/, '');
        if (!USERNAME.test(u)) throw new SearchSyntaxError(`from:${value} is not a username`);
        if (!out.from.includes(u)) out.from.push(u);
        if (out.from.length > MAX_FILTER_VALUES) throw new SearchSyntaxError(`at most ${MAX_FILTER_VALUES} from: values`);
        break;
      }
      case 'in': {
        const v = value.startsWith('#') ? (GROUP_REF.test(value) ? value.toLowerCase() : null) : USERNAME.test(value.toLowerCase()) ? value.toLowerCase() : null;
        if (v === null) throw new SearchSyntaxError(`in:${value} is neither a username nor a #group`);
        if (!out.in.includes(v)) out.in.push(v);
        if (out.in.length > MAX_FILTER_VALUES) throw new SearchSyntaxError(`at most ${MAX_FILTER_VALUES} in: values`);
        break;
      }
      case 'has':
        if (value.toLowerCase() !== 'file') throw new SearchSyntaxError(`has:${value} is not known (has:file is)`);
        out.hasFile = true;
        break;
      case 'is':
        if (value.toLowerCase() !== 'mention') throw new SearchSyntaxError(`is:${value} is not known (is:mention is)`);
        out.isMention = true;
        break;
      default:
        if (!validDate(value)) throw new SearchSyntaxError(`${key}:${value} is not a date (YYYY-MM-DD)`);
        out[key] = value;
    }
  }
  if (out.before !== undefined && out.after !== undefined && out.after >= out.before) throw new SearchSyntaxError(`after:${out.after} is not before before:${out.before}: nothing can match`);
  const filtered = out.from.length > 0 || out.in.length > 0 || out.hasFile || out.isMention || out.before !== undefined || out.after !== undefined;
  if (!out.terms.some((t) => !t.excluded) && !filtered) {
    throw new SearchSyntaxError(out.terms.length ? 'a query needs a word that is not excluded, or a filter (from:, in:, is:, has:, before:, after:)' : 'the query has no words to search for');
  }
  return out;
}

/**
 * Splits a snippet marked with `open` and `close` around matched words into plain text and the
 * matches' [start, end) offsets in it (UTF-16 code units, as JavaScript strings count).
 */
export function unmark(marked: string, open: string, close: string): { text: string; matches: [number, number][] } {
  let text = '';
  const matches: [number, number][] = [];
  let start = -1;
  for (const ch of marked) {
    if (ch === open) start = text.length;
    else if (ch === close) {
      if (start >= 0 && text.length > start) matches.push([start, text.length]);
      start = -1;
    } else text += ch;
  }
  return { text, matches };
}
