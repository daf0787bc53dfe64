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
  const start = text.lastIndexOf('\n', i - 1) + 1;
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
      if (s.historyIndex === 0) return s;
      const draft = s.historyIndex === s.history.length ? text : s.draft;
      const t = s.history[s.historyIndex - 1]!;
      return { ...s, text: t, cursor: t.length, historyIndex: s.historyIndex - 1, draft };
    }
    case 'historyNext': {
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
