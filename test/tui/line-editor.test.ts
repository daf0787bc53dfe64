import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { applyLine, emptyLine, viewport, type LineOp, type LineState } from '../../src/tui/line-editor.js';
import { decodeKeys } from '../../src/tui/key-decoder.js';

const run = (ops: LineOp[], from: LineState = emptyLine()) => ops.reduce(applyLine, from);
const typed = (text: string, cursor = text.length) => ({ ...emptyLine(), text, cursor });

describe('line editor (readline keys)', () => {
  it('moves by character, word and line, and edits at the cursor', () => {
    let s = run([{ op: 'insert', text: 'hello world' }, { op: 'left' }, { op: 'left' }, { op: 'insert', text: 'X' }]);
    expect([s.text, s.cursor]).toEqual(['hello worXld', 10]);
    s = run([{ op: 'home' }, { op: 'insert', text: '> ' }, { op: 'end' }, { op: 'insert', text: '!' }], s);
    expect(s.text).toBe('> hello worXld!');
    s = run([{ op: 'wordLeft' }], s);
    expect(s.cursor).toBe('> hello '.length);
    s = run([{ op: 'wordLeft' }, { op: 'wordRight' }], s);
    expect(s.cursor).toBe('> hello'.length);
    s = run([{ op: 'killToEnd' }], s);
    expect(s.text).toBe('> hello');
    s = run([{ op: 'killWordBack' }], s);
    expect([s.text, s.cursor]).toEqual(['> ', 2]);
    s = run([{ op: 'insert', text: 'abc def' }, { op: 'left' }, { op: 'left' }, { op: 'killToStart' }], s);
    expect([s.text, s.cursor]).toEqual(['ef', 0]);
    s = run([{ op: 'delete' }, { op: 'backspace' }], s);
    expect([s.text, s.cursor]).toEqual(['f', 0]);
  });

  it('never splits a surrogate pair', () => {
    let s = typed('a😀b');
    s = run([{ op: 'left' }, { op: 'left' }], s);
    expect(s.cursor).toBe(1);
    s = run([{ op: 'delete' }], s);
    expect(s.text).toBe('ab');
    s = run([{ op: 'set', text: 'x😀' }, { op: 'backspace' }], s);
    expect(s.text).toBe('x');
    fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 20 }), fc.array(fc.constantFrom<LineOp>({ op: 'left' }, { op: 'right' }, { op: 'backspace' }, { op: 'delete' }, { op: 'wordLeft' }, { op: 'killWordBack' }, { op: 'home' }, { op: 'end' }), { maxLength: 30 }), (t, ops) => {
      const r = run(ops, typed(t));
      expect(r.text.isWellFormed()).toBe(true);
      expect(r.cursor).toBeGreaterThanOrEqual(0);
      expect(r.cursor).toBeLessThanOrEqual(r.text.length);
    }));
  });

  it('keeps a history of sent lines, browsed with up and down, and gives the draft back', () => {
    let s = run([{ op: 'insert', text: 'first' }, { op: 'submitted' }, { op: 'insert', text: 'second' }, { op: 'submitted' }, { op: 'insert', text: 'draft' }]);
    s = run([{ op: 'historyPrev' }], s);
    expect(s.text).toBe('second');
    s = run([{ op: 'historyPrev' }, { op: 'historyPrev' }], s);
    expect(s.text).toBe('first');
    s = run([{ op: 'historyNext' }, { op: 'historyNext' }], s);
    expect([s.text, s.cursor]).toEqual(['draft', 5]);
    expect(run([{ op: 'submitted' }], s).history).toEqual(['first', 'second', 'draft']);
  });

  it('works on the current line of a multi-line draft and shows line breaks as ⏎', () => {
    let s = run([{ op: 'insert', text: 'one\ntwo' }, { op: 'home' }]);
    expect(s.cursor).toBe(4);
    s = run([{ op: 'killToEnd' }], s);
    expect(s.text).toBe('one\n');
    expect(viewport(typed('ab\ncd', 1), 20)).toEqual({ before: 'a', at: 'b', after: '⏎cd' });
    // The cursor stays in view on a narrow line.
    const v = viewport(typed('x'.repeat(100), 100), 10);
    expect(v.before.length).toBe(9);
    expect(v.at).toBe(' ');
  });
});

describe('key decoder', () => {
  const names = (raw: string) => decodeKeys(raw).map((k) => (k.name ?? '') + (k.ctrl ? '^' : '') + (k.meta ? 'M-' : '') + (k.shift ? 'S-' : '') + k.ch);
  it('splits bursts into every key: text, Enter, Backspace and Ctrl chords', () => {
    expect(names('alice\r')).toEqual(['alice', 'return']);
    expect(names('\u007f'.repeat(6))).toEqual(Array(6).fill('backspace'));
    expect(names('ab\u0017c\u0001')).toEqual(['ab', '^w', 'c', '^a']);
    expect(names('x\u009by')).toEqual(['xy']);
  });
  it('tells Delete from Backspace and decodes arrows, Home/End, Alt chords, Shift+Enter and paste markers', () => {
    expect(names('\u001b[3~')).toEqual(['delete']);
    expect(names('\u001b[D')).toEqual(['left']);
    expect(names('\u001b[1;3D')).toEqual(['leftM-']);
    expect(names('\u001bOH')).toEqual(['home']);
    expect(names('\u001b[4~')).toEqual(['end']);
    expect(names('\u001bb')).toEqual(['M-b']);
    expect(names('\u001b\r')).toEqual(['returnM-']);
    expect(names('\u001b[13;2u')).toEqual(['returnS-']);
    expect(names('\u001b\u007f')).toEqual(['backspaceM-']);
    expect(names('\u001b[200~')).toEqual(['pasteStart']);
    expect(names('\u001b[201~')).toEqual(['pasteEnd']);
    expect(names('\u001b[I')).toEqual(['focusIn']);
    expect(names('\u001b')).toEqual(['escape']);
    expect(names('\u001b[99x')).toEqual([]);
  });

  it('Ctrl+U clears the whole draft before the cursor, every line of it (issue 31, 9)', () => {
    let s = applyLine(emptyLine(), { op: 'insert', text: 'first line\nsecond line\nthird' });
    s = applyLine(s, { op: 'killToStart' });
    expect([s.text, s.cursor]).toEqual(['', 0]);
  });

  it('in a draft of several lines ↑/↓ move between its lines at the same column, and recall sent lines from the first/last (issue 31, 13)', () => {
    let s = applyLine(emptyLine(['sent before']), { op: 'insert', text: 'abc\nde\nfghij' });
    s = applyLine(s, { op: 'left' });
    expect(s.cursor).toBe(11); // after "fghi"
    s = applyLine(s, { op: 'historyPrev' });
    expect(s.cursor).toBe(6); // the end of "de": the line is shorter
    s = applyLine(s, { op: 'historyPrev' });
    expect([s.text, s.cursor]).toEqual(['abc\nde\nfghij', 2]);
    s = applyLine(s, { op: 'historyPrev' });
    expect(s.text).toBe('sent before');
    s = applyLine(s, { op: 'historyNext' });
    expect(s.text).toBe('abc\nde\nfghij');
  });

  it('the input box shows a draft\'s lines as rows, at most maxRows around the cursor\'s line', async () => {
    const { boxView } = await import('../../src/tui/line-editor.js');
    const draft = applyLine(emptyLine(), { op: 'insert', text: ['l1', 'l2', 'l3', 'l4', 'l5', 'l6', 'l7'].join('\n') });
    const v = boxView(draft, 20, 5);
    expect([v.first, v.total, v.rows.map((r) => r.before + (r.at ?? '') + r.after)]).toEqual([2, 7, ['l3', 'l4', 'l5', 'l6', 'l7 ']]);
    expect(v.rows.filter((r) => r.at !== null)).toHaveLength(1);
    const top = boxView({ ...draft, cursor: 0 }, 20, 5);
    expect([top.first, top.rows[0]]).toEqual([0, { before: '', at: 'l', after: '1' }]);
    expect(boxView(emptyLine(), 20, 5).rows).toEqual([{ before: '', at: ' ', after: '' }]);
  });

  it('on an empty first line, ↓ and End stay in the draft\'s first line (a line break at 0 is not before the cursor)', () => {
    let s = applyLine(emptyLine(), { op: 'insert', text: '\nsecond' });
    s = { ...s, cursor: 0 };
    expect(applyLine(s, { op: 'end' }).cursor).toBe(0);
    expect(applyLine(s, { op: 'historyNext' }).cursor).toBe(1);
  });
});
