import zlib from 'node:zlib';

/**
 * Inline image previews for the TUI: a PNG decoded here (no dependency) and drawn with half
 * blocks, `▀` with the upper pixel as the foreground colour and the lower one as the background,
 * so each character cell shows two pixels. Half blocks are ordinary coloured text: the renderer
 * counts their lines like any other. In kitty (and terminals that speak its graphics protocol with
 * Unicode placeholders) the picture itself is shown: it is sent to the terminal once, outside the
 * frame, as a virtual placement, and the frame holds placeholder characters (U+10EEEE, a row and
 * a column diacritic, the image's id as the foreground colour) where it appears: ordinary text
 * again, one cell each, so the renderer's line accounting holds. Sixel and iTerm2 pictures have no
 * placeholders of their own: the frame holds kitty's all the same, and the frame writer draws the
 * picture over those cells, as blanks, after each frame that touches them (cell-pictures.ts).
 */

/** Decoded pixels: RGBA, row by row. */
export interface Pixels { width: number; height: number; rgba: Uint8Array }

/** The biggest image decoded for a preview (pixels): larger ones are not previewed. */
export const MAX_PREVIEW_PIXELS = 4096 * 4096;

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * Decodes an 8-bit, non-interlaced PNG (greyscale, RGB, palette, greyscale with alpha, RGBA);
 * null for anything else or anything malformed (a preview is a nicety: it never throws).
 */
export function decodePng(data: Buffer): Pixels | null {
  try {
    if (data.length < 33 || !data.subarray(0, 8).equals(SIGNATURE)) return null;
    let at = 8;
    let width = 0;
    let height = 0;
    let colorType = -1;
    let palette: Buffer | null = null;
    const idat: Buffer[] = [];
    while (at + 8 <= data.length) {
      const len = data.readUInt32BE(at);
      const type = data.toString('latin1', at + 4, at + 8);
      const body = data.subarray(at + 8, at + 8 + len);
      if (body.length !== len) return null;
      if (type === 'IHDR') {
        width = body.readUInt32BE(0);
        height = body.readUInt32BE(4);
        const depth = body[8];
        colorType = body[9]!;
        if (depth !== 8 || body[12] !== 0 || ![0, 2, 3, 4, 6].includes(colorType)) return null;
        if (width === 0 || height === 0 || width * height > MAX_PREVIEW_PIXELS) return null;
      } else if (type === 'PLTE') palette = Buffer.from(body);
      else if (type === 'IDAT') idat.push(body);
      else if (type === 'IEND') break;
      at += 12 + len;
    }
    if (!width || (colorType === 3 && !palette)) return null;
    const channels = colorType === 0 ? 1 : colorType === 2 ? 3 : colorType === 3 ? 1 : colorType === 4 ? 2 : 4;
    const stride = width * channels;
    const raw = zlib.inflateSync(Buffer.concat(idat), { maxOutputLength: (stride + 1) * height + 1 });
    if (raw.length < (stride + 1) * height) return null;
    const rows = Buffer.alloc(stride * height);
    for (let y = 0; y < height; y++) {
      const filter = raw[y * (stride + 1)]!;
      const src = y * (stride + 1) + 1;
      const dst = y * stride;
      for (let x = 0; x < stride; x++) {
        const a = x >= channels ? rows[dst + x - channels]! : 0;
        const b = y > 0 ? rows[dst - stride + x]! : 0;
        const c = x >= channels && y > 0 ? rows[dst - stride + x - channels]! : 0;
        const v = raw[src + x]!;
        let out: number;
        switch (filter) {
          case 0: out = v; break;
          case 1: out = v + a; break;
          case 2: out = v + b; break;
          case 3: out = v + ((a + b) >> 1); break;
          case 4: {
            const p = a + b - c;
            const pa = Math.abs(p - a);
            const pb = Math.abs(p - b);
            const pc = Math.abs(p - c);
            out = v + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
            break;
          }
          default: return null;
        }
        rows[dst + x] = out & 0xff;
      }
    }
    const rgba = new Uint8Array(width * height * 4);
    for (let i = 0; i < width * height; i++) {
      const s = i * channels;
      let r: number, g: number, b: number, al = 255;
      if (colorType === 0) r = g = b = rows[s]!;
      else if (colorType === 4) { r = g = b = rows[s]!; al = rows[s + 1]!; }
      else if (colorType === 3) {
        const p = rows[s]! * 3;
        r = palette![p] ?? 0; g = palette![p + 1] ?? 0; b = palette![p + 2] ?? 0;
      } else { r = rows[s]!; g = rows[s + 1]!; b = rows[s + 2]!; if (colorType === 6) al = rows[s + 3]!; }
      rgba.set([r, g, b, al], i * 4);
    }
    return { width, height, rgba };
  } catch {
    return null;
  }
}

/** The cells a preview takes: at most `maxCols` wide and `maxRows` tall, the picture's proportions kept (a cell is two pixels tall). */
export function previewSize(width: number, height: number, maxCols: number, maxRows: number): { cols: number; rows: number } {
  let cols = Math.max(1, Math.min(maxCols, width));
  let rows = Math.max(1, Math.round((height * cols) / width / 2));
  if (rows > maxRows) {
    rows = maxRows;
    cols = Math.max(1, Math.min(maxCols, Math.round((width * rows * 2) / height)));
  }
  return { cols, rows };
}

/**
 * The average of a picture's pixels in [x0, x1) × [y0, y1): red, green and blue weighted by their
 * alpha (over black: a transparent pixel adds nothing), and the alpha itself; unrounded.
 */
function area(p: Pixels, x0: number, x1: number, y0: number, y1: number): [number, number, number, number] {
  let r = 0, g = 0, b = 0, a = 0, n = 0;
  for (let y = y0; y < y1 && y < p.height; y++) {
    for (let x = x0; x < x1 && x < p.width; x++) {
      const i = (y * p.width + x) * 4;
      const al = p.rgba[i + 3]! / 255;
      r += p.rgba[i]! * al; g += p.rgba[i + 1]! * al; b += p.rgba[i + 2]! * al; a += p.rgba[i + 3]!; n++;
    }
  }
  return n ? [r / n, g / n, b / n, a / n] : [0, 0, 0, 0];
}

/** The pixels of cell (cx, cy) of a cw × ch grid over the picture: each cell at least one pixel. */
function cellArea(p: Pixels, cx: number, cy: number, cw: number, ch: number): [number, number, number, number] {
  const x0 = Math.floor((cx * p.width) / cw);
  const y0 = Math.floor((cy * p.height) / ch);
  return area(p, x0, Math.max(x0 + 1, Math.floor(((cx + 1) * p.width) / cw)), y0, Math.max(y0 + 1, Math.floor(((cy + 1) * p.height) / ch)));
}

/**
 * The picture at `width` × `height` pixels, each the average of the area it covers (a box filter:
 * shrinking, as previews do, keeps every source pixel's share); transparency kept.
 */
export function resize(p: Pixels, width: number, height: number): Pixels {
  const rgba = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [r, g, b, a] = cellArea(p, x, y, width, height);
      // Back from "over black" to the colour itself (a half-transparent red stays red).
      const k = a > 0 ? 255 / a : 0;
      rgba.set([Math.round(r * k), Math.round(g * k), Math.round(b * k), Math.round(a)], (y * width + x) * 4);
    }
  }
  return { width, height, rgba };
}

/** The part of a picture in [x, x + width) × [y, y + height) (clipped to it). */
export function crop(p: Pixels, x: number, y: number, width: number, height: number): Pixels {
  width = Math.max(0, Math.min(width, p.width - x));
  height = Math.max(0, Math.min(height, p.height - y));
  const rgba = new Uint8Array(width * height * 4);
  for (let row = 0; row < height; row++) rgba.set(p.rgba.subarray(((y + row) * p.width + x) * 4, ((y + row) * p.width + x + width) * 4), row * width * 4);
  return { width, height, rgba };
}

/**
 * Half-block lines of a picture, each exactly `cols` cells of `▀` in 24-bit colour, ending with
 * a reset: every pixel of a cell's area averaged, transparency shown over black.
 */
export function halfBlocks(p: Pixels, maxCols: number, maxRows: number): string[] {
  const { cols, rows } = previewSize(p.width, p.height, maxCols, maxRows);
  const px = (cx: number, cy: number): string => cellArea(p, cx, cy, cols, rows * 2).slice(0, 3).map(Math.round).join(';');
  const lines: string[] = [];
  for (let row = 0; row < rows; row++) {
    let line = '';
    let last = '';
    for (let col = 0; col < cols; col++) {
      const code = `\x1b[38;2;${px(col, row * 2)}m\x1b[48;2;${px(col, row * 2 + 1)}m`;
      line += (code === last ? '' : code) + '▀';
      last = code;
    }
    lines.push(`${line}\x1b[0m`);
  }
  return lines;
}

/**
 * How images are shown: CHAT_IMAGES (auto, kitty, sixel, iterm2, halfblocks, off). auto draws
 * pictures with the protocol the terminal speaks (detectImageProtocol, or sixel when the terminal
 * said so when asked: probe.ts), half blocks elsewhere where colours are on.
 */
export type ImageMode = 'kitty' | 'sixel' | 'iterm2' | 'halfblocks' | 'off';
const MODES: readonly string[] = ['kitty', 'sixel', 'iterm2', 'halfblocks', 'off'];

/**
 * The image protocol the terminal says it speaks in its environment: kitty (KITTY_WINDOW_ID,
 * TERM=xterm-kitty), iTerm2's (TERM_PROGRAM iTerm.app or WezTerm, LC_TERMINAL=iTerm2), or none known.
 */
export function detectImageProtocol(env: NodeJS.ProcessEnv): 'kitty' | 'iterm2' | 'none' {
  if (env.KITTY_WINDOW_ID || env.TERM === 'xterm-kitty') return 'kitty';
  if (env.TERM_PROGRAM === 'iTerm.app' || env.TERM_PROGRAM === 'WezTerm' || env.LC_TERMINAL === 'iTerm2') return 'iterm2';
  return 'none';
}

/**
 * The mode from CHAT_IMAGES, whether colours are on (half blocks are colours; kitty's placeholders
 * carry the image's id as a colour) and, for auto, whether the terminal answered that it draws sixel.
 */
export function imageMode(env: NodeJS.ProcessEnv, noColor: boolean, sixel = false): ImageMode {
  const forced = forcedMode(env);
  if (forced === 'off' || noColor) return 'off';
  if (forced) return forced;
  const known = detectImageProtocol(env);
  return known !== 'none' ? known : sixel ? 'sixel' : 'halfblocks';
}

/** The mode CHAT_IMAGES names, or undefined for auto (and for a value it does not know, which counts as auto). */
function forcedMode(env: NodeJS.ProcessEnv): ImageMode | undefined {
  const v = (env.CHAT_IMAGES ?? 'auto').toLowerCase();
  return MODES.includes(v) ? (v as ImageMode) : undefined;
}

/**
 * Whether the terminal must be asked (probe.ts) before the mode is known: sixel needs a cell's
 * size in pixels, and auto, where the environment names no protocol, whether the terminal draws sixel.
 */
export function asksTerminal(env: NodeJS.ProcessEnv, noColor: boolean): boolean {
  const mode = imageMode(env, noColor);
  return mode === 'sixel' || (mode === 'halfblocks' && forcedMode(env) === undefined);
}

/** What is wrong with CHAT_IMAGES (shown as the TUI starts), or undefined: an unknown value counts as auto. */
export function imagesSettingProblem(env: NodeJS.ProcessEnv): string | undefined {
  const v = env.CHAT_IMAGES;
  if (v === undefined || v.toLowerCase() === 'auto' || forcedMode(env)) return undefined;
  return `CHAT_IMAGES must be auto, ${MODES.join(', ')}; ${JSON.stringify(v.slice(0, 20))} counts as auto`;
}

/**
 * Picture ids for one TUI (1 to 2^24-1, kitty's and the placeholders' colour range): from a random
 * start, so two sessions in one window rarely reuse each other's, wrapping at the top.
 */
export function pictureIds(): () => number {
  let next = 1 + Math.floor(Math.random() * 0xf00000);
  return () => {
    const id = next++;
    if (next > 0xffffff) next = 1;
    return id;
  };
}

/**
 * Pictures shown in the frame as placeholder cells (see kittyImage): `show` returns the lines of
 * a picture's cells. `takesPng`: a PNG file is sent as it is (kitty decodes it); otherwise the
 * pixels are. `clear()` is what to write to the terminal when the TUI quits.
 */
export interface Pictures {
  readonly takesPng: boolean;
  show(picture: Buffer | Pixels, cols: number, rows: number): string[];
  clear(): string;
}

/**
 * The row and column diacritics of kitty's Unicode placeholders, in order (row or column n is the
 * n-th): the first 100 of the protocol's list (gen/rowcolumn-diacritics.txt in kitty), enough for
 * any preview (at most PREVIEW_COLS × PREVIEW_ROWS cells).
 */
const DIACRITICS = [
  0x0305, 0x030d, 0x030e, 0x0310, 0x0312, 0x033d, 0x033e, 0x033f, 0x0346, 0x034a, 0x034b, 0x034c, 0x0350, 0x0351, 0x0352, 0x0357, 0x035b, 0x0363, 0x0364, 0x0365,
  0x0366, 0x0367, 0x0368, 0x0369, 0x036a, 0x036b, 0x036c, 0x036d, 0x036e, 0x036f, 0x0483, 0x0484, 0x0485, 0x0486, 0x0487, 0x0592, 0x0593, 0x0594, 0x0595, 0x0597,
  0x0598, 0x0599, 0x059c, 0x059d, 0x059e, 0x059f, 0x05a0, 0x05a1, 0x05a8, 0x05a9, 0x05ab, 0x05ac, 0x05af, 0x05c4, 0x0610, 0x0611, 0x0612, 0x0613, 0x0614, 0x0615,
  0x0616, 0x0617, 0x0657, 0x0658, 0x0659, 0x065a, 0x065b, 0x065d, 0x065e, 0x06d6, 0x06d7, 0x06d8, 0x06d9, 0x06da, 0x06db, 0x06dc, 0x06df, 0x06e0, 0x06e1, 0x06e2,
  0x06e4, 0x06e7, 0x06e8, 0x06eb, 0x06ec, 0x0730, 0x0732, 0x0733, 0x0735, 0x0736, 0x073a, 0x073d, 0x073f, 0x0740, 0x0741, 0x0743, 0x0745, 0x0747, 0x0749, 0x074a,
].map((c) => String.fromCodePoint(c));
export const KITTY_MAX_CELLS = DIACRITICS.length;
export const PLACEHOLDER = String.fromCodePoint(0x10eeee);
const DIACRITIC_INDEX = new Map(DIACRITICS.map((d, i) => [d, i]));
/** Base64 characters per graphics command: the protocol's limit for a chunk. */
const CHUNK = 4096;

/**
 * A picture shown with kitty's graphics protocol: `transmit`, written to the terminal once
 * (outside the frame), sends it under image id `id` (1 to 2^24-1) as a virtual placement of
 * `cols` × `rows` cells (`U=1`), answering nothing (`q=2`: no reply reaches the input): a PNG as
 * the file (`f=100`: the terminal decodes it), other pictures as their RGBA pixels, deflated
 * (`f=32,o=z`); `lines`, in the frame, are its placeholder cells, the id as a 24-bit foreground
 * colour, each line exactly `cols` cells wide, ending with the colour reset.
 */
export function kittyImage(picture: Buffer | Pixels, id: number, cols: number, rows: number): { transmit: string; lines: string[] } {
  if (!Number.isInteger(id) || id < 1 || id > 0xffffff) throw new RangeError(`kitty image id out of range: ${id}`);
  if (cols < 1 || rows < 1 || cols > KITTY_MAX_CELLS || rows > KITTY_MAX_CELLS) throw new RangeError(`kitty placement out of range: ${cols}x${rows}`);
  const png = Buffer.isBuffer(picture);
  const data = (png ? picture : zlib.deflateSync(picture.rgba)).toString('base64');
  const format = png ? 'f=100' : `f=32,s=${picture.width},v=${picture.height},o=z`;
  let transmit = '';
  for (let at = 0; at < data.length || at === 0; at += CHUNK) {
    const more = at + CHUNK < data.length ? 1 : 0;
    const keys = at === 0 ? `a=T,U=1,${format},t=d,i=${id},c=${cols},r=${rows},q=2,m=${more}` : `m=${more}`;
    transmit += `\x1b_G${keys};${data.slice(at, at + CHUNK)}\x1b\\`;
  }
  return { transmit, lines: placeholderLines(id, cols, rows) };
}

/**
 * The frame's lines for picture `id` shown on `cols` × `rows` cells: kitty's Unicode placeholders,
 * the id as a 24-bit foreground colour, each line exactly `cols` cells wide, ending with the colour
 * reset. kitty draws the picture there itself; for sixel and iTerm2 the frame writer finds them
 * (cell-pictures.ts).
 */
export function placeholderLines(id: number, cols: number, rows: number): string[] {
  const colour = `\x1b[38;2;${(id >> 16) & 0xff};${(id >> 8) & 0xff};${id & 0xff}m`;
  const lines: string[] = [];
  for (let row = 0; row < rows; row++) {
    let line = colour;
    for (let col = 0; col < cols; col++) line += PLACEHOLDER + DIACRITICS[row]! + DIACRITICS[col]!;
    lines.push(`${line}\x1b[39m`);
  }
  return lines;
}

/** A row or column diacritic's number (its place in the protocol's list), or -1. */
export function diacriticIndex(c: string): number {
  return DIACRITIC_INDEX.get(c) ?? -1;
}

/**
 * The kitty pictures one TUI sends: their ids (from a random start, so two sessions in one window
 * rarely reuse each other's), written through `out` (the terminal itself, not the frame); `clear()`
 * is what frees them all on the terminal when the TUI quits.
 */
export class KittyPictures implements Pictures {
  readonly takesPng = true;
  private readonly nextId = pictureIds();
  private readonly ids: number[] = [];

  constructor(private readonly out: (s: string) => void) {}

  /** Sends a picture (a PNG file, or pixels) and returns the placeholder lines that show it, `cols` × `rows` cells. */
  show(picture: Buffer | Pixels, cols: number, rows: number): string[] {
    const id = this.nextId();
    const { transmit, lines } = kittyImage(picture, id, Math.min(cols, KITTY_MAX_CELLS), Math.min(rows, KITTY_MAX_CELLS));
    this.out(transmit);
    this.ids.push(id);
    return lines;
  }

  /** Deletes every picture sent (their data and placements: `d=I`). */
  clear(): string {
    return this.ids.map((id) => `\x1b_Ga=d,d=I,i=${id},q=2\x1b\\`).join('');
  }
}
