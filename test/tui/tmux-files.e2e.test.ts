import zlib from 'node:zlib';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tmpDir, waitFor } from '../support/daemon.js';
import { encode as encodeJpeg } from 'jpeg-js';
import { decode } from 'sixel';
import { gifOf, pngOf } from '../support/files.js';
import { CHAT_BIN, runChat, spawnChatd } from '../support/procs.js';

/**
 * Files in the TUI in a real terminal (issue 30, item 9): an image sent from the CLI is shown
 * inline as half blocks under its file line, with the renderer's lines still adding up (the
 * input line and the status bar where they belong, before and after more messages arrive), and
 * a file is sent from the keyboard (Alt+F, a path completed with Tab).
 */
const tmux = (...args: string[]) => execFileSync('tmux', ['-L', `chat-files-${process.pid}`, ...args], { encoding: 'utf8' });
const screen = (s: string, escapes = false) => tmux('capture-pane', '-p', ...(escapes ? ['-e'] : []), '-t', s);
const type = (s: string, ...keys: string[]) => tmux('send-keys', '-t', s, ...keys);
const text = (s: string, t: string) => tmux('send-keys', '-t', s, '-l', t);
const rows = (s: string) => screen(s).replace(/\n+$/, '').split('\n');
const until = (f: () => boolean, ms = 15_000) => waitFor(f, ms).catch((e: Error) => { try { console.log(screen('ana')); } catch { /* not started */ } throw e; });

/**
 * ben's TUI in tmux session `session` with CHAT_IMAGES=`images`, once online; `raw` collects
 * everything it writes to its terminal, escapes included (tmux itself drops kitty's graphics
 * commands, and tmux 3.3 draws no sixel).
 */
async function tuiWithImages(session: string, images: string): Promise<{ dir: string; raw: string }> {
  const dir = tmpDir(`chat-tui-${images}-`);
  const raw = path.join(dir, `${session}.out`);
  tmux('new-session', '-d', '-s', session, '-x', '80', '-y', '24', `env CHAT_CONFIG_DIR=${cfg.ben} CHAT_IMAGES=${images} TERM=xterm-256color COLORTERM=truecolor ${process.execPath} ${CHAT_BIN}; echo "EXITED $?"; sleep 60`);
  tmux('pipe-pane', '-o', '-t', session, `cat >> ${raw}`);
  await until(() => (rows(session).at(-1) ?? '').includes('● online'), 30_000);
  return { dir, raw };
}

let chatd: Awaited<ReturnType<typeof spawnChatd>>;
const cfg = { ana: '', ben: '' };

beforeAll(async () => {
  chatd = await spawnChatd(tmpDir());
  for (const who of ['ana', 'ben'] as const) {
    cfg[who] = path.join(tmpDir('chat-tui-'), 'cfg');
    expect((await runChat(['register', `tf_${who}`, '--password-stdin'], { env: { CHAT_CONFIG_DIR: cfg[who], CHAT_SERVER: chatd.url }, input: `password-${who}\n` })).code).toBe(0);
  }
  expect((await runChat(['friends', 'add', 'tf_ben'], { env: { CHAT_CONFIG_DIR: cfg.ana } })).code).toBe(0);
  expect((await runChat(['friends', 'add', 'tf_ana'], { env: { CHAT_CONFIG_DIR: cfg.ben } })).code).toBe(0);
  tmux('new-session', '-d', '-s', 'ana', '-x', '80', '-y', '24', `env CHAT_CONFIG_DIR=${cfg.ana} TERM=xterm-256color COLORTERM=truecolor ${process.execPath} ${CHAT_BIN}; echo "EXITED $?"; sleep 60`);
  await until(() => (rows('ana').at(-1) ?? '').includes('● online'), 30_000);
}, 90_000);

afterAll(async () => {
  try { tmux('kill-server'); } catch { /* already gone */ }
  chatd.child.kill('SIGTERM');
  await chatd.exited;
});

describe('files in the TUI, in tmux at 80×24', () => {
  it('shows an image inline as half blocks without breaking the layout, and sends a file from the keyboard', async () => {
    const dir = tmpDir('chat-tui-files-');
    // 16×12 pixels: red on top, blue below (6 rows each).
    const png = path.join(dir, 'flag.png');
    fs.writeFileSync(png, pngOf(16, 12, (_x, y) => (y < 6 ? [255, 0, 0] : [0, 0, 255])));
    expect((await runChat(['send', 'tf_ana', '--file', png, 'a flag'], { env: { CHAT_CONFIG_DIR: cfg.ben } })).code).toBe(0);
    await until(() => screen('ana').includes('to tf_ben>') && screen('ana').includes('📎 flag.png (') && screen('ana').includes('image/png 16×12)'));
    // previewSize(16, 12): 16 cells by 6 rows of half blocks.
    await until(() => rows('ana').filter((l) => l.includes('▀'.repeat(16))).length === 6);
    const lines = rows('ana');
    const fileRow = lines.findIndex((l) => l.includes('📎 flag.png'));
    const blocks = lines.map((l, i) => (l.includes('▀') ? i : -1)).filter((i) => i >= 0);
    expect(blocks).toEqual([1, 2, 3, 4, 5, 6].map((k) => fileRow + k));
    // The renderer's line accounting holds: the frame is 24 rows, input and status bar at the bottom.
    expect(screen('ana').split('\n').length).toBeGreaterThanOrEqual(24);
    expect(lines.at(-1)).toContain('● online');
    expect(lines.at(-2)).toContain('to tf_ben>');
    // The colours are the picture's: red cells on top, blue at the bottom.
    const colours = screen('ana', true);
    expect(colours).toMatch(/38;2;255;0;0m/);
    expect(colours).toMatch(/48;2;0;0;255m/);
    console.log(`ana's screen with the preview:\n${screen('ana')}`);

    // More messages come after it: the preview moves up with the text, the layout stays.
    expect((await runChat(['send', 'tf_ana', 'after the flag'], { env: { CHAT_CONFIG_DIR: cfg.ben } })).code).toBe(0);
    await until(() => screen('ana').includes('tf_ben: after the flag'));
    const after = rows('ana');
    const flagRow = after.findIndex((l) => l.includes('📎 flag.png'));
    expect(after.findIndex((l) => l.includes('after the flag'))).toBe(flagRow + 7);
    expect(after.at(-1)).toContain('● online');
    expect(after.at(-2)).toContain('to tf_ben>');

    // Alt+F: a path, completed with Tab, and the line as its text.
    fs.writeFileSync(path.join(dir, 'notes-for-ben.txt'), 'meeting at three\n');
    text('ana', 'the notes');
    type('ana', 'M-f');
    await until(() => rows('ana').at(-2)!.includes('send file (Tab completes):'));
    text('ana', `${dir}/notes-`);
    type('ana', 'Tab');
    await until(() => rows('ana').at(-2)!.includes('notes-for-ben.txt'));
    type('ana', 'Enter');
    await until(() => screen('ana').includes('📎 notes-for-ben.txt (17 B, text/plain)') && screen('ana').includes('tf_ana: the notes'));
    const got = await runChat(['history', 'tf_ana', '--json'], { env: { CHAT_CONFIG_DIR: cfg.ben } });
    const last = (JSON.parse(got.stdout) as { text: string; files?: { name: string }[] }[]).at(-1)!;
    expect([last.text, last.files?.map((f) => f.name)]).toEqual(['the notes', ['notes-for-ben.txt']]);
  }, 60_000);

  it('shows an image as kitty\'s picture with CHAT_IMAGES=kitty: the file sent to the terminal outside the frame, placeholder cells in it, the layout intact', async () => {
    const { dir, raw } = await tuiWithImages('ben', 'kitty');
    const bytes = pngOf(16, 12, (x, y) => [x * 15, y * 20, 128]);
    const png = path.join(dir, 'tile.png');
    fs.writeFileSync(png, bytes);
    expect((await runChat(['send', 'tf_ben', '--file', png, 'a tile'], { env: { CHAT_CONFIG_DIR: cfg.ana } })).code).toBe(0);
    // previewSize(16, 12): 16 cells by 6 rows of placeholders (U+10EEEE) under the file's line, and
    // nothing else: the placeholders are exactly the picture's cells.
    const placeholder = String.fromCodePoint(0x10eeee);
    const cells = (l: string | undefined) => [...(l ?? '')].filter((c) => c === placeholder).length;
    const picture = () => {
      const all = rows('ben');
      const at = all.findIndex((l) => l.includes('📎 tile.png'));
      return at >= 0 && [1, 2, 3, 4, 5, 6].every((k) => cells(all[at + k]) === 16) && cells(all[at + 7]) === 0;
    };
    await waitFor(picture, 15_000).catch((e: Error) => { console.log(screen('ben')); throw e; });
    const lines = rows('ben');
    expect(lines.filter((l) => cells(l) > 0).every((l) => cells(l) === 16)).toBe(true);
    expect(lines.some((l) => l.includes('▀'))).toBe(false);
    expect(lines.at(-1)).toContain('● online');
    expect(lines.at(-2)).toContain('to tf_ana>');
    // The picture went to the terminal as kitty's commands, whole: a virtual placement of 16 × 6 cells.
    await until(() => fs.existsSync(raw) && /\x1b_G[^;]*m=0;/.test(fs.readFileSync(raw, 'latin1')));
    const out = fs.readFileSync(raw, 'latin1');
    const commands = [...out.matchAll(/\x1b_G([^;]*);([A-Za-z0-9+/=]*)\x1b\\/g)];
    // Each picture: its first command (the keys), then its chunks up to the one with m=0.
    const pictures: { keys: string; data: Buffer }[] = [];
    for (const c of commands) {
      if (c[1]!.startsWith('a=T,')) pictures.push({ keys: c[1]!, data: Buffer.alloc(0) });
      const p = pictures.at(-1)!;
      p.data = Buffer.concat([p.data, Buffer.from(c[2]!, 'base64')]);
    }
    const tile = pictures.find((p) => p.data.equals(bytes));
    expect(tile?.keys).toMatch(/^a=T,U=1,f=100,t=d,i=\d+,c=16,r=6,q=2,m=[01]$/);
    console.log(`ben's screen with kitty's placeholders (tmux shows them as text; kitty draws the picture there):\n${screen('ben')}`);

    // More messages after it: the placeholders move up with the text, the layout stays.
    expect((await runChat(['send', 'tf_ben', 'after the tile'], { env: { CHAT_CONFIG_DIR: cfg.ana } })).code).toBe(0);
    await until(() => screen('ben').includes('tf_ana: after the tile'));
    const after = rows('ben');
    expect(after.findIndex((l) => l.includes('after the tile'))).toBe(after.findIndex((l) => l.includes('📎 tile.png')) + 7);
    expect(after.at(-1)).toContain('● online');
    expect(after.at(-2)).toContain('to tf_ana>');

    // A GIF: its first frame goes to kitty as pixels (f=32, deflated), 8 × 3 cells for 8 × 6 pixels.
    const palette: [number, number, number][] = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255]];
    const indexes = Uint8Array.from({ length: 48 }, (_, i) => (i >> 2) & 3);
    const gif = path.join(dir, 'dots.gif');
    fs.writeFileSync(gif, gifOf({ w: 8, h: 6, palette, indexes }));
    expect((await runChat(['send', 'tf_ben', '--file', gif, 'some dots'], { env: { CHAT_CONFIG_DIR: cfg.ana } })).code).toBe(0);
    const gifShown = () => {
      const all = rows('ben');
      const at = all.findIndex((l) => l.includes('📎 dots.gif'));
      return at >= 0 && [1, 2, 3].every((k) => cells(all[at + k]) === 8) && cells(all[at + 4]) === 0;
    };
    await waitFor(gifShown, 15_000).catch((e: Error) => { console.log(screen('ben')); throw e; });
    await until(() => /\x1b_Ga=T,U=1,f=32,s=8,v=6,o=z,[^;]*m=0;/.test(fs.readFileSync(raw, 'latin1')));
    const sent = /\x1b_Ga=T,U=1,f=32,s=8,v=6,o=z,t=d,i=\d+,c=8,r=3,q=2,m=0;([A-Za-z0-9+/=]*)\x1b\\/.exec(fs.readFileSync(raw, 'latin1'));
    const rgba = zlib.inflateSync(Buffer.from(sent![1]!, 'base64'));
    expect([...rgba]).toEqual([...indexes].flatMap((k) => [...palette[k]!, 255]));
    expect(rows('ben').at(-2)).toContain('to tf_ana>');

    // A JPEG (decoded by jpeg-js): 48 × 32 pixels as 30 × 10 cells, sent as its pixels.
    const jpg = path.join(dir, 'photo.jpg');
    const px = Buffer.alloc(48 * 32 * 4, 200);
    fs.writeFileSync(jpg, encodeJpeg({ width: 48, height: 32, data: px }, 90).data);
    expect((await runChat(['send', 'tf_ben', '--file', jpg], { env: { CHAT_CONFIG_DIR: cfg.ana } })).code).toBe(0);
    const jpgShown = () => {
      const all = rows('ben');
      const at = all.findIndex((l) => l.includes('📎 photo.jpg'));
      return at >= 0 && Array.from({ length: 10 }, (_, k) => cells(all[at + 1 + k])).every((n) => n === 30);
    };
    await waitFor(jpgShown, 15_000).catch((e: Error) => { console.log(screen('ben')); throw e; });
    await until(() => /\x1b_Ga=T,U=1,f=32,s=48,v=32,o=z,t=d,i=\d+,c=30,r=10,q=2,m=[01];/.test(fs.readFileSync(raw, 'latin1')));
    expect(rows('ben').at(-1)).toContain('● online');
    expect(rows('ben').at(-2)).toContain('to tf_ana>');
  }, 60_000);

  it('draws an image as sixel with CHAT_IMAGES=sixel: blank cells in the frame, the picture drawn over them at their place, again where it moves, the layout intact', async () => {
    const { dir, raw } = await tuiWithImages('six', 'sixel');
    // 16 × 12 pixels, green on top and magenta below: colours of sixel's cube, so drawn exactly.
    fs.writeFileSync(path.join(dir, 'halves.png'), pngOf(16, 12, (_x, y) => (y < 6 ? [0, 255, 0] : [255, 0, 255])));
    expect((await runChat(['send', 'tf_ben', '--file', path.join(dir, 'halves.png'), 'two halves'], { env: { CHAT_CONFIG_DIR: cfg.ana } })).code).toBe(0);
    // The frame: the file's line, then 6 rows whose picture cells are blank (no placeholders, no half blocks).
    const log = () => (fs.existsSync(raw) ? fs.readFileSync(raw, 'latin1') : '');
    const sixels = () => [...log().matchAll(/\x1b\[(\d+);(\d+)H\x1bP0;1;0q([^\x1b]*)\x1b\\/g)].map((m) => ({ row: Number(m[1]), col: Number(m[2]), body: m[3]! }));
    // Where the file's line is, and whether the 6 rows under it are blank past the pane's border
    // (capture-pane drops trailing blanks) and a sixel was drawn at their top-left (1-based).
    // (The earlier pictures of the conversation are drawn too, wherever they are.)
    const place = () => {
      const lines = rows('six');
      const at = lines.findIndex((l) => l.includes('📎 halves.png'));
      const col = at >= 0 ? [...lines[at]!].indexOf('📎') : -1;
      const blank = at >= 0 && [1, 2, 3, 4, 5, 6].every((k) => /^│ *$/.test([...(lines[at + k] ?? 'x')].slice(col - 4).join('')));
      return { lines, at, col, blank, drawn: (from = 0) => sixels().slice(from).filter((d) => d.row === at + 2 && d.col === col + 1) };
    };
    await until(() => { const p = place(); return p.blank && p.drawn().length > 0; });
    const { lines, at, col, drawn } = place();
    expect(lines.some((l) => l.includes(String.fromCodePoint(0x10eeee)) || l.includes('▀'))).toBe(false);
    expect(lines.at(-1)).toContain('● online');
    expect(lines.at(-2)).toContain('to tf_ana>');
    // The picture drawn with its top-left on the first blank cell: 16 × 6 cells of pixels, its colours.
    const first = drawn().at(-1)!;
    const px = decode(first.body);
    const cell = { width: px.width / 16, height: Math.round(px.height / 6) };
    expect(Number.isInteger(cell.width) && cell.width >= 2).toBe(true);
    const pixel = (x: number, y: number) => [...px.data8.subarray((y * px.width + x) * 4, (y * px.width + x) * 4 + 3)];
    expect([pixel(0, 0), pixel(px.width - 1, px.height - 1)]).toEqual([[0, 255, 0], [255, 0, 255]]);
    console.log(`the frame with sixel on (tmux 3.3 draws no sixel: the cells are blank; the picture is drawn over them at row ${first.row}, column ${first.col}, ${px.width} × ${px.height} pixels):\n${screen('six')}`);

    // A message after it: the picture moves up a row, and is drawn again there.
    const before = sixels().length;
    expect((await runChat(['send', 'tf_ben', 'below the halves'], { env: { CHAT_CONFIG_DIR: cfg.ana } })).code).toBe(0);
    await until(() => { const p = place(); return screen('six').includes('tf_ana: below the halves') && p.blank && p.drawn(before).length > 0; });
    const moved = place();
    expect(moved.at).toBe(at - 1);
    expect(moved.lines.findIndex((l) => l.includes('below the halves'))).toBe(moved.at + 7);
    expect(decode(moved.drawn(before)[0]!.body).data8).toEqual(px.data8);
    expect(moved.lines.at(-2)).toContain('to tf_ana>');
  }, 60_000);
});
