/** Inline image previews: the PNG decoder (every filter, the colour types) and the half-block drawing. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import stringWidth from 'string-width';
import { asksTerminal, decodePng, halfBlocks, imageMode, imagesSettingProblem, KittyPictures, kittyImage, previewSize } from '../../src/tui/image.js';
import { pngOf, tinyPng } from '../support/files.js';

describe('PNG previews', () => {
  it('decodes RGB PNGs written with every row filter to their exact pixels (property)', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 30 }), fc.integer(), (w, h, seed) => {
      const colour = (x: number, y: number): [number, number, number] => [(x * 37 + seed) & 255, (y * 91 + seed * 3) & 255, (x * y + seed * 7) & 255];
      const p = decodePng(pngOf(w, h, colour));
      expect(p).not.toBeNull();
      expect([p!.width, p!.height]).toEqual([w, h]);
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
        const i = (y * w + x) * 4;
        expect([p!.rgba[i], p!.rgba[i + 1], p!.rgba[i + 2], p!.rgba[i + 3]]).toEqual([...colour(x, y), 255]);
      }
    }), { numRuns: 60, seed: 30 });
    expect(decodePng(tinyPng(3, 2))).toMatchObject({ width: 3, height: 2 });
  });

  it('refuses what it does not read, without throwing: not a PNG, truncated, a bomb of pixels, a corrupt stream', () => {
    const good = pngOf(4, 4, () => [1, 2, 3]);
    expect(decodePng(Buffer.from('<html>'))).toBeNull();
    expect(decodePng(good.subarray(0, 40))).toBeNull();
    const huge = Buffer.from(good);
    huge.writeUInt32BE(100_000, 16);
    huge.writeUInt32BE(100_000, 20);
    expect(decodePng(huge)).toBeNull();
    const corrupt = Buffer.from(good);
    corrupt.fill(0x55, 45, 60);
    expect(decodePng(corrupt)).toBeNull();
  });

  it('draws two pixels per cell: the top one as the foreground of ▀, the bottom one as the background, in the picture\'s proportions', () => {
    const p = decodePng(pngOf(4, 2, (x, y) => (y === 0 ? [255, 0, 0] : [0, 0, 255 - x])))!;
    const lines = halfBlocks(p, 40, 10);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('\x1b[38;2;255;0;0m\x1b[48;2;0;0;255m▀');
    expect(lines[0]!.replace(/\x1b\[[0-9;]*m/g, '')).toBe('▀▀▀▀');
    expect(lines[0]!.endsWith('\x1b[0m')).toBe(true);
    expect(previewSize(1600, 1200, 40, 10)).toEqual({ cols: 27, rows: 10 });
    expect(previewSize(16, 12, 40, 10)).toEqual({ cols: 16, rows: 6 });
    expect(previewSize(4000, 10, 40, 10)).toEqual({ cols: 40, rows: 1 });
    expect(imageMode({}, false)).toBe('halfblocks');
    expect(imageMode({ CHAT_IMAGES: 'off' }, false)).toBe('off');
    expect(imageMode({}, true)).toBe('off');
  });

  it('chooses kitty\'s pictures in kitty, iTerm2\'s in iTerm2 and WezTerm, sixel where the terminal says it draws it, half blocks elsewhere, and obeys CHAT_IMAGES', () => {
    expect(imageMode({ TERM: 'xterm-kitty' }, false)).toBe('kitty');
    expect(imageMode({ KITTY_WINDOW_ID: '3' }, false)).toBe('kitty');
    expect(imageMode({ KITTY_WINDOW_ID: '3', CHAT_IMAGES: 'halfblocks' }, false)).toBe('halfblocks');
    expect(imageMode({ TERM: 'tmux-256color', CHAT_IMAGES: 'kitty' }, false)).toBe('kitty');
    expect(imageMode({ TERM_PROGRAM: 'iTerm.app' }, false)).toBe('iterm2');
    expect(imageMode({ TERM_PROGRAM: 'WezTerm' }, false, true)).toBe('iterm2');
    expect(imageMode({ LC_TERMINAL: 'iTerm2' }, false)).toBe('iterm2');
    expect(imageMode({ TERM: 'xterm-256color' }, false, true)).toBe('sixel');
    expect(imageMode({ TERM: 'xterm-256color', CHAT_IMAGES: 'halfblocks' }, false, true)).toBe('halfblocks');
    expect(imageMode({ CHAT_IMAGES: 'SIXEL' }, false)).toBe('sixel');
    expect(imageMode({ CHAT_IMAGES: 'iterm2' }, false)).toBe('iterm2');
    expect(imageMode({ CHAT_IMAGES: 'nonsense' }, false)).toBe('halfblocks');
    expect(imagesSettingProblem({ CHAT_IMAGES: 'nonsense\x1b[2J' })).toBe('CHAT_IMAGES must be auto, kitty, sixel, iterm2, halfblocks, off; "nonsense\\u001b[2J" counts as auto');
    expect([imagesSettingProblem({ CHAT_IMAGES: 'Sixel' }), imagesSettingProblem({ CHAT_IMAGES: 'auto' }), imagesSettingProblem({})]).toEqual([undefined, undefined, undefined]);
    expect(imageMode({ KITTY_WINDOW_ID: '3' }, true)).toBe('off');
    expect(imageMode({ CHAT_IMAGES: 'sixel' }, true, true)).toBe('off');
    // The terminal is asked only when the answer can change the mode or sixel needs a cell's size:
    // auto (and an unknown value, which counts as auto) with no protocol in the environment, or sixel forced.
    expect([{}, { CHAT_IMAGES: 'nonsense' }, { CHAT_IMAGES: 'sixel' }].map((e) => asksTerminal(e, false))).toEqual([true, true, true]);
    expect([{ CHAT_IMAGES: 'halfblocks' }, { CHAT_IMAGES: 'iterm2' }, { KITTY_WINDOW_ID: '3' }, { TERM_PROGRAM: 'WezTerm' }, {}].map((e, i) => asksTerminal(e, i === 4))).toEqual([false, false, false, false, false]);
  });

  it('sends a PNG to kitty in chunks of at most 4096 base64 characters that join back to the file, and shows it as placeholder cells one cell wide each', () => {
    const png = pngOf(120, 90, (x, y) => [(x * 7) & 255, (y * 13) & 255, (x ^ y) & 255]);
    const id = 0x12345a;
    const { transmit, lines } = kittyImage(png, id, 27, 10);
    const commands = [...transmit.matchAll(/\x1b_G([^;]*);([^\x1b]*)\x1b\\/g)];
    // Nothing outside the commands: no byte of the file reaches the screen as text.
    expect(commands.map((c) => c[0]).join('')).toBe(transmit);
    expect(commands.length).toBeGreaterThan(1);
    expect(commands[0]![1]).toBe(`a=T,U=1,f=100,t=d,i=${id},c=27,r=10,q=2,m=1`);
    expect(commands.slice(1, -1).every((c) => c[1] === 'm=1')).toBe(true);
    expect(commands.at(-1)![1]).toBe('m=0');
    expect(commands.every((c) => c[2]!.length <= 4096)).toBe(true);
    expect(Buffer.from(commands.map((c) => c[2]).join(''), 'base64').equals(png)).toBe(true);

    expect(lines).toHaveLength(10);
    const colour = '\x1b[38;2;18;52;90m';
    const cellsOf = (line: string) => [...line.slice(colour.length, -'\x1b[39m'.length)];
    // Row r's diacritic: the second code point of its cells. The table is one list for rows and columns.
    const rowMark = lines.map((l) => cellsOf(l)[1]!);
    expect(new Set(rowMark).size).toBe(10);
    for (const [row, line] of lines.entries()) {
      expect(line.startsWith(colour) && line.endsWith('\x1b[39m')).toBe(true);
      expect(stringWidth(line)).toBe(27);
      const cells = cellsOf(line);
      expect(cells).toHaveLength(27 * 3);
      const columnMarks = new Set<string>();
      for (let col = 0; col < 27; col++) {
        expect(cells[col * 3]!.codePointAt(0)).toBe(0x10eeee);
        expect(cells[col * 3 + 1]).toBe(rowMark[row]);
        if (col < 10) expect(cells[col * 3 + 2]).toBe(rowMark[col]);
        columnMarks.add(cells[col * 3 + 2]!);
      }
      expect(columnMarks.size).toBe(27);
    }
    expect(rowMark[0]).toBe('\u0305');
    expect(() => kittyImage(png, 0, 1, 1)).toThrow(RangeError);
    expect(() => kittyImage(png, 1, 101, 1)).toThrow(RangeError);
  });

  it('numbers its pictures, and deletes every one it sent when asked', () => {
    const sent: string[] = [];
    const k = new KittyPictures((s) => sent.push(s));
    const png = pngOf(4, 4, () => [9, 9, 9]);
    const a = k.show(png, 4, 2);
    const b = k.show(png, 4, 2);
    const ids = sent.map((s) => Number(/i=(\d+)/.exec(s)![1]));
    expect(ids[1]).toBe(ids[0]! + 1);
    expect(a[0]).not.toBe(b[0]);
    expect(k.clear()).toBe(ids.map((i) => `\x1b_Ga=d,d=I,i=${i},q=2\x1b\\`).join(''));
  });
});
