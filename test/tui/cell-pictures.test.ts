import { describe, expect, it } from 'vitest';
import { PassThrough } from 'node:stream';
import { stripVTControlCharacters } from 'node:util';
import stringWidth from 'string-width';
import { decode, toRGBA8888 } from 'sixel';
import { CellPictures, encodePng, iterm2, placements, rectangle, sixel } from '../../src/tui/cell-pictures.js';
import { decodePng, PLACEHOLDER, placeholderLines, resize, type Pixels } from '../../src/tui/image.js';
import { framedStdout } from '../../src/tui/index.js';
import { parseReplies, probeTerminal, PROBE } from '../../src/tui/probe.js';

/** A picture whose every pixel is a colour of sixel's 6 × 6 × 6 cube (levels of 51), chosen by `f`. */
function cube(width: number, height: number, f: (x: number, y: number) => [number, number, number, number?]): Pixels {
  const rgba = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) { const [r, g, b, a = 255] = f(x, y); rgba.set([r * 51, g * 51, b * 51, a], (y * width + x) * 4); }
  return { width, height, rgba };
}

/** What the decoder leaves where nothing was drawn. */
const UNDRAWN = [1, 2, 3, 4];

/** A sixel sequence decoded by node-sixel (xterm.js's decoder): its body, between the introducer and ST. */
function decodeSixel(seq: string): Pixels {
  expect(seq.startsWith('\x1bP0;1;0q')).toBe(true);
  expect(seq.endsWith('\x1b\\')).toBe(true);
  const r = decode(seq.slice(seq.indexOf('q') + 1, -2), { fillColor: toRGBA8888(...(UNDRAWN as [number, number, number, number])) });
  return { width: r.width, height: r.height, rgba: new Uint8Array(r.data8) };
}

/** The sixel draws in `out` with the cursor position each is drawn at (1-based). */
function draws(out: string): { row: number; col: number; px: Pixels }[] {
  return [...out.matchAll(/\x1b\[(\d+);(\d+)H(\x1bP[^\x1b]*\x1b\\)/g)].map((m) => ({ row: Number(m[1]), col: Number(m[2]), px: decodeSixel(m[3]!) }));
}

describe('sixel and iTerm2 pictures: the encoders', () => {
  it('encodes sixel that an independent decoder reads back pixel for pixel, transparency left as it was, whole bands only', () => {
    const p = cube(37, 14, (x, y) => [x % 6, y % 6, (x + y) % 6, x === 3 && y === 2 ? 0 : 255]);
    const got = decodeSixel(sixel(p));
    // 14 rows are two whole bands (12): a third, partial band would paint over the next cell row.
    expect([got.width, got.height]).toEqual([37, 12]);
    let wrong = 0;
    for (let y = 0; y < 12; y++) {
      for (let x = 0; x < 37; x++) {
        const i = (y * 37 + x) * 4;
        const want = x === 3 && y === 2 ? UNDRAWN : [...p.rgba.subarray(i, i + 4)];
        if (JSON.stringify([...got.rgba.subarray(i, i + 4)]) !== JSON.stringify(want)) wrong++;
      }
    }
    expect(wrong).toBe(0);
    // A run of one colour is one repeat: 200 pixels of one colour on a band.
    const flat = sixel(cube(200, 6, () => [5, 0, 0]));
    expect(flat).toContain('!200~');
    expect(flat.length).toBeLessThan(60);
  });

  it('dithers a colour between the cube\'s levels: the band\'s average stays within a few percent of it', () => {
    const p: Pixels = { width: 24, height: 24, rgba: new Uint8Array(24 * 24 * 4).map((_, i) => [128, 200, 30, 255][i % 4]!) };
    const got = decodeSixel(sixel(p));
    const mean = [0, 1, 2].map((c) => got.rgba.filter((_, i) => i % 4 === c).reduce((a, v) => a + v, 0) / (24 * 24));
    expect(mean.map((m, c) => Math.abs(m - [128, 200, 30][c]!))).toSatisfy((d: number[]) => d.every((v) => v < 8));
  });

  it('encodes PNG that the TUI\'s decoder reads back exactly, and iTerm2\'s sequence sends it on the cells asked', () => {
    const p = cube(9, 5, (x, y) => [x % 6, y, 5 - (x % 6), (x * 31) % 256]);
    expect(decodePng(encodePng(p))).toEqual(p);
    const seq = iterm2(p, 3, 2);
    const m = /^\x1b\]1337;File=inline=1;size=(\d+);width=3;height=2;preserveAspectRatio=0;doNotMoveCursor=1:([A-Za-z0-9+/=]+)\x07$/.exec(seq);
    expect(m).not.toBeNull();
    const png = Buffer.from(m![2]!, 'base64');
    expect(png.length).toBe(Number(m![1]));
    expect(decodePng(png)).toEqual(p);
  });
});

describe('sixel and iTerm2 pictures: placed over their cells by the frame writer', () => {
  const cell = { width: 4, height: 6 };
  // A picture of 3 × 2 cells, 12 × 12 pixels: each cell one colour, so a cell's pixels are known.
  const colour = (cx: number, cy: number): [number, number, number] => [cx * 2, cy * 5, 5 - cx];
  const picture = cube(12, 12, (x, y) => colour(Math.floor(x / 4), Math.floor(y / 6)));
  const prefix = '\x1b[1m日本\x1b[22m│ '; // 6 cells: two wide characters, a border, a space.

  it('finds a picture\'s cells behind wide characters and styles, blanks them, and draws the picture there', () => {
    const cells = new CellPictures('sixel', cell);
    const lines = cells.show(picture, 3, 2);
    const frame = ['header', ...lines.map((l) => `${prefix}${l} tail`), 'footer'];
    const blank = frame.map((l) => cells.blank(l));
    expect(blank.every((l) => !l.includes(PLACEHOLDER))).toBe(true);
    expect(blank.map((l) => stringWidth(l))).toEqual(frame.map((l) => stringWidth(l)));
    expect(stripVTControlCharacters(blank[1]!)).toBe('日本│     tail');
    const [d, ...more] = draws(cells.draw(frame, new Set([1]), 24));
    expect(more).toEqual([]);
    // Row 2, column 7 (1-based): below the header, after the six cells of the prefix.
    expect([d!.row, d!.col, d!.px.width, d!.px.height]).toEqual([2, 7, 12, 12]);
    expect(d!.px).toEqual(resize(picture, 12, 12));
    // Nothing drawn when no row under the picture was written (what is there is still there).
    expect(cells.draw(frame, new Set([0, 3]), 24)).toBe('');
    // Nor where a sixel could scroll the screen: the picture's last row on the screen's last row.
    expect(cells.draw(frame, new Set([1]), 3)).toBe('');
  });

  it('draws the visible part of a picture scrolled half out, and nothing for cells that are not one rectangle', () => {
    const cells = new CellPictures('sixel', cell);
    const lines = cells.show(picture, 3, 2);
    // The first row scrolled out above the pane: the picture's second cell row on screen row 0.
    const [d] = draws(cells.draw([`${prefix}${lines[1]}`], new Set([0]), 24));
    expect([d!.row, d!.col, d!.px.width, d!.px.height]).toEqual([1, 7, 12, 6]);
    expect([...d!.px.rgba.subarray(0, 3)]).toEqual(colour(0, 1).map((v) => v * 51));
    // Cut on the right by a narrow pane (ink truncates the line): two of its three columns.
    const cut = lines.map((l) => `${prefix}${l.split(PLACEHOLDER).slice(0, 3).join(PLACEHOLDER)}\x1b[39m…`);
    const [c] = draws(cells.draw(cut, new Set([0]), 24));
    expect([c!.px.width, c!.px.height]).toEqual([8, 12]);
    // Ragged (rows of different lengths) or out of order: left blank.
    expect(cells.draw([cut[0]!, `${prefix}${lines[1]}`], new Set([0, 1]), 24)).toBe('');
    expect(cells.draw([`${prefix}${lines[1]}`, `${prefix}${lines[0]}`], new Set([0, 1]), 24)).toBe('');
    expect(rectangle(placements([`${prefix}${lines[0]}`]).values().next().value!)).toMatchObject({ top: 0, left: 6, r0: 0, r1: 0, c0: 0, c1: 2 });
  });

  it('keeps at most 24 MiB of pictures to draw again: the oldest past that shows as blanks', () => {
    const cells = new CellPictures('sixel', { width: 64, height: 64 });
    // 40 × 10 cells of 64 × 64 pixels: 6.25 MiB each, so the fourth pushes the first out.
    const shown = Array.from({ length: 4 }, () => cells.show(picture, 40, 10));
    const drawn = shown.map((lines) => draws(cells.draw(lines.map((l) => `${prefix}${l}`), new Set([0]), 24)).length);
    expect(drawn).toEqual([0, 1, 1, 1]);
  });

  it('draws iTerm2 pictures the same way, as PNG on the visible cells', () => {
    const cells = new CellPictures('iterm2', cell);
    const lines = cells.show(picture, 3, 2);
    const out = cells.draw(['top', ...lines.map((l) => `${prefix}${l}`)], new Set([2]), 24);
    const m = /^\x1b\[2;7H\x1b\]1337;File=inline=1;size=\d+;width=3;height=2;[^:]*:([A-Za-z0-9+/=]+)\x07$/.exec(out);
    expect(decodePng(Buffer.from(m![1]!, 'base64'))).toEqual(resize(picture, 12, 12));
  });

  it('the frame writer blanks the cells and draws a picture only after a frame that wrote over it, and where it moved', () => {
    const written: string[] = [];
    const cells = new CellPictures('sixel', cell);
    const out = { columns: 40, rows: 10, write: (s: string) => { written.push(s); return true; } } as unknown as NodeJS.WriteStream;
    const screen = framedStdout(out, cells);
    const lines = cells.show(picture, 3, 2);
    const frame = (top: string[], bottom: string) => [...top, ...lines.map((l) => `${prefix}${l}`), bottom].join('\n') + '\n';
    screen.stream.write(frame(['one', 'two'], 'x'));
    let w = written.pop()!;
    expect(w).not.toContain(PLACEHOLDER);
    expect(draws(w).map((d) => [d.row, d.col])).toEqual([[3, 7]]);
    // Only the last line changed: the picture is not drawn again.
    screen.stream.write(frame(['one', 'two'], 'y'));
    w = written.pop()!;
    expect(w).toContain('y');
    expect(draws(w)).toEqual([]);
    // The text above lost a line: the picture moved up a row and is drawn there.
    screen.stream.write(frame(['two'], 'y'));
    expect(draws(written.pop()!).map((d) => [d.row, d.col])).toEqual([[2, 7]]);
  });
});

describe('asking the terminal what it draws', () => {
  it('reads the cell size and sixel from the answers, and gives back keys typed meanwhile', () => {
    expect(parseReplies('\x1b[6;20;10t')).toMatchObject({ done: false, facts: { cell: { width: 10, height: 20 } } });
    expect(parseReplies('\x1b[6;20;10tab\x1b[?62;4;22c')).toEqual({ done: true, rest: 'ab', facts: { sixel: true, answered: true, cell: { width: 10, height: 20 } } });
    // tmux's own answer: no sixel (1;2 is a VT100 with advanced video).
    expect(parseReplies('\x1b[?1;2c')).toEqual({ done: true, rest: '', facts: { sixel: false, answered: true } });
    // A nonsense size is not taken.
    expect(parseReplies('\x1b[6;0;0t\x1b[?64;4c').facts).toEqual({ sixel: true, answered: true });
  });

  it('asks a terminal once, waits for its attributes, and puts other input back', async () => {
    const tty = () => Object.assign(new PassThrough(), { isTTY: true, isRaw: false, setRawMode(this: { isRaw: boolean }, on: boolean) { this.isRaw = on; return this; } });
    const stdin = tty();
    const stdout = tty();
    const asked: string[] = [];
    stdout.on('data', (b: Buffer) => {
      asked.push(b.toString());
      stdin.write('j\x1b[6;18;9t');
      setTimeout(() => stdin.write('\x1b[?65;4;1c'), 5);
    });
    const facts = await probeTerminal(stdin as unknown as NodeJS.ReadStream, stdout as unknown as NodeJS.WriteStream, 2_000);
    expect(asked).toEqual([PROBE]);
    expect(facts).toEqual({ sixel: true, answered: true, cell: { width: 9, height: 18 } });
    expect(stdin.isRaw).toBe(false);
    expect(String(stdin.read())).toBe('j');
    // A terminal that answers nothing costs the timeout, and then the TUI goes on without pictures.
    const quiet = await probeTerminal(tty() as unknown as NodeJS.ReadStream, tty() as unknown as NodeJS.WriteStream, 50);
    expect(quiet).toEqual({ sixel: false, answered: false });
  });
});
