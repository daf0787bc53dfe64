/**
 * The input line, as readline edits it: a text with a cursor, word motions, kills and a history
 * of sent lines. Pure: every operation returns a new state, so the reducer and the tests share it.
 */
export interface LineState {
  text: string;
  /** Cursor position, in UTF-16 units, 0..text.length, never inside a surrogate pair. */
  cursor: number;
  /** Sent lines, oldest first. */
  history: string[];
  /** Position in history while browsing it (history.length = the draft). */
  historyIndex: number;
  /** The draft kept aside while browsing history. */
  draft: string;
}

export const HISTORY_MAX = 100;

export const emptyLine = (history: string[] = []): LineState => ({ text: '', cursor: 0, history, historyIndex: history.length, draft: '' });

const isWord = (ch: string | undefined) => ch !== undefined && /[\p{L}\p{N}_]/u.test(ch);
const isHigh = (c: number) => c >= 0xd800 && c <= 0xdbff;
const isLow = (c: number) => c >= 0xdc00 && c <= 0xdfff;

/** One code point left of `i`. */
function prev(text: string, i: number) {
  if (i <= 0) return 0;
  return i >= 2 && isLow(text.charCodeAt(i - 1)) && isHigh(text.charCodeAt(i - 2)) ? i - 2 : i - 1;
}

/** One code point right of `i`. */
function next(text: string, i: number) {
  if (i >= text.length) return text.length;
  return isHigh(text.charCodeAt(i)) && isLow(text.charCodeAt(i + 1)) ? i + 2 : i + 1;
}

/** Start of the word before the cursor (skipping separators first), as readline's backward-word. */
function wordStart(text: string, i: number) {
  let j = i;
  while (j > 0 && !isWord(text[j - 1])) j--;
  while (j > 0 && isWord(text[j - 1])) j--;
  return j;
}

/** End of the word after the cursor, as readline's forward-word. */
function wordEnd(text: string, i: number) {
  let j = i;
  while (j < text.length && !isWord(text[j])) j++;
  while (j < text.length && isWord(text[j])) j++;
  return j;
}

/** Start and end of the line (within a multi-line draft) the cursor is on. */
function lineBounds(text: string, i: number) {
  // (lastIndexOf reads a negative start as 0, and would find a line break at 0 before the cursor.)
  const start = i === 0 ? 0 : text.lastIndexOf('\n', i - 1) + 1;
  const nl = text.indexOf('\n', i);
  return { start, end: nl < 0 ? text.length : nl };
}

const edit = (s: LineState, text: string, cursor: number): LineState => ({ ...s, text, cursor, historyIndex: s.history.length, draft: '' });

export type LineOp =
  | { op: 'insert'; text: string }
  | { op: 'left' } | { op: 'right' } | { op: 'home' } | { op: 'end' }
  | { op: 'wordLeft' } | { op: 'wordRight' }
  | { op: 'backspace' } | { op: 'delete' }
  | { op: 'killWordBack' } | { op: 'killToStart' } | { op: 'killToEnd' }
  | { op: 'historyPrev' } | { op: 'historyNext' }
  | { op: 'set'; text: string }
  | { op: 'submitted' };

export function applyLine(s: LineState, o: LineOp): LineState {
  const { text, cursor } = s;
  switch (o.op) {
    case 'insert':
      return edit(s, text.slice(0, cursor) + o.text + text.slice(cursor), cursor + o.text.length);
    case 'left':
      return { ...s, cursor: prev(text, cursor) };
    case 'right':
      return { ...s, cursor: next(text, cursor) };
    case 'home':
      return { ...s, cursor: lineBounds(text, cursor).start };
    case 'end':
      return { ...s, cursor: lineBounds(text, cursor).end };
    case 'wordLeft':
      return { ...s, cursor: wordStart(text, cursor) };
    case 'wordRight':
      return { ...s, cursor: wordEnd(text, cursor) };
    case 'backspace': {
      const p = prev(text, cursor);
      return p === cursor ? s : edit(s, text.slice(0, p) + text.slice(cursor), p);
    }
    case 'delete': {
      const n = next(text, cursor);
      return n === cursor ? s : edit(s, text.slice(0, cursor) + text.slice(n), cursor);
    }
    case 'killWordBack': {
      const w = wordStart(text, cursor);
      return edit(s, text.slice(0, w) + text.slice(cursor), w);
    }
    case 'killToStart':
      // The whole draft before the cursor, every line of it (Ctrl+U at the end clears the draft).
      return edit(s, text.slice(cursor), 0);
    case 'killToEnd': {
      const { end } = lineBounds(text, cursor);
      return edit(s, text.slice(0, cursor) + text.slice(end), cursor);
    }
    case 'historyPrev': {
      // In a draft of several lines, ↑ first moves up its lines; from the first, it recalls.
      const { start } = lineBounds(text, cursor);
      if (start > 0) return { ...s, cursor: sameColumn(text, cursor, lineBounds(text, start - 1)) };
      if (s.historyIndex === 0) return s;
      const draft = s.historyIndex === s.history.length ? text : s.draft;
      const t = s.history[s.historyIndex - 1]!;
      return { ...s, text: t, cursor: t.length, historyIndex: s.historyIndex - 1, draft };
    }
    case 'historyNext': {
      const { end } = lineBounds(text, cursor);
      if (end < text.length) return { ...s, cursor: sameColumn(text, cursor, lineBounds(text, end + 1)) };
      if (s.historyIndex >= s.history.length) return s;
      const i = s.historyIndex + 1;
      const t = i === s.history.length ? s.draft : s.history[i]!;
      return { ...s, text: t, cursor: t.length, historyIndex: i, draft: i === s.history.length ? '' : s.draft };
    }
    case 'set':
      return edit(s, o.text, o.text.length);
    case 'submitted': {
      const history = text.trim() && s.history.at(-1) !== text ? [...s.history, text].slice(-HISTORY_MAX) : s.history;
      return emptyLine(history);
    }
  }
}

/** The cursor moved to another line of the draft, at the same column where that line is long enough. */
function sameColumn(text: string, cursor: number, to: { start: number; end: number }) {
  const col = cursor - lineBounds(text, cursor).start;
  let i = Math.min(to.start + col, to.end);
  // Never inside a surrogate pair.
  if (i > to.start && i < to.end && isLow(text.charCodeAt(i)) && isHigh(text.charCodeAt(i - 1))) i--;
  return i;
}

/** One row of the input box: the text before the cursor, under it (null: not this row) and after. */
export interface BoxRow { before: string; at: string | null; after: string }

/**
 * The input box: a draft of several lines shows as that many rows, up to `maxRows` (then the
 * rows around the cursor's line, the rest scrolled), each cut to `width` columns with the cursor
 * in view. `first` is the index of the first line shown, of `total`.
 */
export function boxView(s: LineState, width: number, maxRows: number): { rows: BoxRow[]; first: number; total: number } {
  const lines = s.text.split('\n');
  const { start } = lineBounds(s.text, s.cursor);
  const at = s.text.slice(0, s.cursor).split('\n').length - 1;
  const rows = Math.max(1, Math.min(maxRows, lines.length));
  const first = Math.min(Math.max(0, at - rows + 1), lines.length - rows);
  const w = Math.max(4, width);
  const out: BoxRow[] = [];
  for (let i = first; i < first + rows; i++) {
    const line = lines[i]!;
    if (i !== at) { out.push({ before: line.slice(0, w), at: null, after: '' }); continue; }
    const v = viewport({ ...s, text: line, cursor: s.cursor - start }, w);
    out.push({ before: v.before, at: v.at, after: v.after });
  }
  return { rows: out, first, total: lines.length };
}

/** The visible slice of the line for `width` columns, keeping the cursor in view, with where it sits. */
export function viewport(s: LineState, width: number): { before: string; at: string; after: string } {
  // Line breaks in a draft show as ⏎, one column each, so the line stays one row.
  const shown = (t: string) => t.replace(/\n/g, '⏎');
  const w = Math.max(4, width);
  let start = 0;
  if (s.cursor > w - 1) start = s.cursor - (w - 1);
  const end = Math.min(s.text.length, start + w);
  const at = s.cursor < s.text.length ? s.text.slice(s.cursor, next(s.text, s.cursor)) : ' ';
  return { before: shown(s.text.slice(start, s.cursor)), at: shown(at), after: shown(s.text.slice(next(s.text, s.cursor), end)) };
}
