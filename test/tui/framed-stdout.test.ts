import { describe, expect, it } from 'vitest';
import { framedStdout } from '../../src/tui/index.js';

/** A stand-in terminal stream that records what reaches it. */
function fake() {
  const written: string[] = [];
  const stream = { columns: 20, rows: 5, write: (s: string) => { written.push(s); return true; } } as unknown as NodeJS.WriteStream;
  return { written, ...framedStdout(stream) };
}
const ERASE = (n: number) => Array.from({ length: n }, (_, i) => '\u001b[2K' + (i < n - 1 ? '\u001b[1A' : '')).join('') + '\u001b[G';

describe('frame writer (what the TUI sends the terminal)', () => {
  it('writes only the rows that changed, addressed directly, and never ESC[3J', () => {
    const t = fake();
    t.stream.write('one\ntwo\nthree\n');
    expect(t.written.pop()).toBe('\u001b[1;1Hone\u001b[K\u001b[2;1Htwo\u001b[K\u001b[3;1Hthree\u001b[K\u001b[4;1H');
    // ink erases its previous frame and writes the next whole: only row 2 changed.
    t.stream.write(ERASE(4) + 'one\nTWO\nthree\n');
    expect(t.written.pop()).toBe('\u001b[2;1HTWO\u001b[K\u001b[4;1H');
    // A shorter frame clears the rows it no longer uses.
    t.stream.write(ERASE(4) + 'one\n');
    expect(t.written.pop()).toBe('\u001b[2;1H\u001b[K\u001b[3;1H\u001b[K\u001b[2;1H');
    // The clear-and-redraw path keeps the screen clear but never the scrollback.
    t.stream.write('\u001b[2J\u001b[3J\u001b[Hfull\n');
    const full = t.written.pop()!;
    expect(full).not.toContain('\u001b[3J');
    expect(full).toBe('\u001b[2J\u001b[H\u001b[1;1Hfull\u001b[K\u001b[2;1H');
    // Control sequences pass as they are; repaint() draws the next frame whole.
    t.stream.write('\u001b[?25l');
    expect(t.written.pop()).toBe('\u001b[?25l');
    t.repaint();
    t.stream.write(ERASE(2) + 'full\n');
    expect(t.written.pop()).toBe('\u001b[1;1Hfull\u001b[K\u001b[2;1H');
    expect(t.stream.rows).toBe(5);
  });
});
