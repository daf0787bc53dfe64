import zlib from 'node:zlib';
import stringWidth from 'string-width';
import { crop, diacriticIndex, pictureIds, PLACEHOLDER, placeholderLines, resize, type Pictures, type Pixels } from './image.js';

/**
 * Sixel and iTerm2 pictures in the TUI. Neither protocol has placeholders: a picture is drawn at
 * the cursor, over whatever cells are there, and the renderer (ink) knows nothing of it. So the
 * frame holds kitty's placeholder cells all the same (placeholderLines: one cell each, the line
 * accounting holds), and the frame writer (framedStdout) hands each frame's lines to `blank`,
 * which turns those cells into spaces before they reach the terminal, and to `draw`, which finds
 * where each picture's cells are on the screen (rows, columns, which part of the picture: a
 * picture half scrolled out shows its visible rows) and draws that part there, in cell-exact
 * pixels, whenever a row under it was written.
 */

export type CellProtocol = 'sixel' | 'iterm2';
/** A character cell's size in pixels: asked of the terminal (probe.ts), else this. */
export const DEFAULT_CELL = { width: 10, height: 20 };
/** Bytes of pictures kept to draw again (scaled to their cells' pixels); older ones show as blanks. */
const KEPT_BYTES = 24 * 1024 * 1024;
/** Encoded parts of pictures kept (a scroll redraws the same ones). */
const ENCODED_KEPT = 32;

export class CellPictures implements Pictures {
  readonly takesPng = false;
  private readonly nextId = pictureIds();
  /** By id, oldest first: the picture at its cells' pixel size. */
  private readonly pictures = new Map<number, { px: Pixels; cols: number; rows: number }>();
  private readonly encoded = new Map<string, string>();
  private kept = 0;

  constructor(readonly protocol: CellProtocol, readonly cell = DEFAULT_CELL) {}

  show(picture: Buffer | Pixels, cols: number, rows: number): string[] {
    if (Buffer.isBuffer(picture)) throw new TypeError('cell pictures take pixels');
    const id = this.nextId();
    const px = resize(picture, cols * this.cell.width, rows * this.cell.height);
    this.pictures.set(id, { px, cols, rows });
    this.kept += px.rgba.length;
    for (const [old, p] of this.pictures) {
      if (this.kept <= KEPT_BYTES || old === id) break;
      this.pictures.delete(old);
      this.kept -= p.px.rgba.length;
    }
    return placeholderLines(id, cols, rows);
  }

  /** Nothing to free: the pictures were drawn on the alternate screen, which goes with the TUI. */
  clear(): string {
    return '';
  }

  /** A frame line with its placeholder cells as spaces (what the terminal gets as text). */
  blank(line: string): string {
    return line.includes(PLACEHOLDER) ? line.replace(CELL, ' ') : line;
  }

  /**
   * What draws, on the screen, the pictures whose cells are in `lines` (a frame, row 0 at the
   * top) and under a row in `written` (the rows this frame wrote, which covered what was drawn
   * there): for each, the cursor moved to its top-left visible cell, then its visible part. A
   * picture whose cells are not one rectangle, or that reaches the screen's last row (`rows`,
   * where a sixel could scroll the screen), is left blank.
   */
  draw(lines: readonly string[], written: ReadonlySet<number>, rows = Infinity): string {
    // Nothing written: what was drawn is still there (most frames with pictures on screen).
    if (written.size === 0) return '';
    let out = '';
    for (const [id, cells] of placements(lines)) {
      const picture = this.pictures.get(id);
      const r = picture && rectangle(cells);
      if (!r || r.bottom >= rows - 1 || r.c1 >= picture.cols || r.r1 >= picture.rows) continue;
      let touched = false;
      for (let y = r.top; y <= r.bottom && !touched; y++) touched = written.has(y);
      if (!touched) continue;
      out += `\x1b[${r.top + 1};${r.left + 1}H${this.encode(id, picture.px, r)}`;
    }
    return out;
  }

  private encode(id: number, px: Pixels, r: Rect): string {
    const key = `${id}:${r.r0}:${r.r1}:${r.c0}:${r.c1}`;
    let seq = this.encoded.get(key);
    if (seq === undefined) {
      const { width: w, height: h } = this.cell;
      const part = crop(px, r.c0 * w, r.r0 * h, (r.c1 - r.c0 + 1) * w, (r.r1 - r.r0 + 1) * h);
      seq = this.protocol === 'sixel' ? sixel(part) : iterm2(part, r.c1 - r.c0 + 1, r.r1 - r.r0 + 1);
      this.encoded.set(key, seq);
      if (this.encoded.size > ENCODED_KEPT) this.encoded.delete(this.encoded.keys().next().value!);
    }
    return seq;
  }
}

/** A placeholder cell: U+10EEEE, then its row and column diacritics when given. */
const CELL = /\u{10EEEE}[\u0300-\u07ff]{0,2}/gu;
/** A frame line's pieces: escape sequences (CSI, OSC ended by BEL or ST, others), cells, and runs of text. */
const PIECES = /\x1b\[[0-9;:?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[^[\]]|\u{10EEEE}[\u0300-\u07ff]{0,2}|[^\x1b\u{10EEEE}]+/gu;

interface Cell { y: number; x: number; row: number; col: number }

/**
 * The placeholder cells in a frame's lines, by picture id: where each is on the screen (y, x) and
 * which cell of the picture it shows (row, col). The id is the foreground colour in force (24-bit);
 * a cell without diacritics continues the one before it (kitty's rule: same row, next column).
 */
export function placements(lines: readonly string[]): Map<number, Cell[]> {
  const out = new Map<number, Cell[]>();
  for (const [y, line] of lines.entries()) {
    if (!line.includes(PLACEHOLDER)) continue;
    let x = 0;
    let fg = -1;
    let last: Cell | undefined;
    for (const [piece] of line.matchAll(PIECES)) {
      if (piece.startsWith('\x1b[') && piece.endsWith('m')) fg = foreground(piece, fg);
      else if (piece.startsWith(PLACEHOLDER)) {
        const marks = [...piece.slice(PLACEHOLDER.length)].map(diacriticIndex);
        const row = marks[0] ?? last?.row ?? 0;
        const col = marks[1] ?? (last?.row === row ? last.col + 1 : 0);
        if (fg >= 0 && row >= 0 && col >= 0) {
          const cell = { y, x, row, col };
          (out.get(fg) ?? out.set(fg, []).get(fg)!).push(cell);
          last = cell;
        } else last = undefined;
        x += 1;
      } else if (!piece.startsWith('\x1b')) x += stringWidth(piece);
    }
  }
  return out;
}

/** The foreground colour after an SGR sequence, as a 24-bit number (-1: not a 24-bit colour). */
function foreground(sgr: string, fg: number): number {
  const p = sgr.slice(2, -1).split(/[;:]/).map((v) => (v === '' ? 0 : Number(v)));
  for (let i = 0; i < p.length; i++) {
    const v = p[i]!;
    if (v === 38 && p[i + 1] === 2) { fg = ((p[i + 2]! & 0xff) << 16) | ((p[i + 3]! & 0xff) << 8) | (p[i + 4]! & 0xff); i += 4; }
    else if (v === 38 && p[i + 1] === 5) { fg = -1; i += 2; }
    else if (v === 48 && p[i + 1] === 2) i += 4;
    else if (v === 48 && p[i + 1] === 5) i += 2;
    else if (v === 0 || v === 39 || (v >= 30 && v <= 37) || (v >= 90 && v <= 97)) fg = -1;
  }
  return fg;
}

/** Where a picture's visible part is: screen rows top–bottom from column left; its cells r0–r1 × c0–c1. */
interface Rect { top: number; bottom: number; left: number; r0: number; r1: number; c0: number; c1: number }

/** The rectangle a picture's cells make, or null when they make none (rows out of order, gaps, ragged edges). */
export function rectangle(cells: readonly Cell[]): Rect | null {
  const first = cells[0]!;
  const r: Rect = { top: first.y, bottom: first.y, left: 0, r0: first.row, r1: first.row, c0: first.col, c1: first.col };
  for (const c of cells) {
    r.bottom = Math.max(r.bottom, c.y); r.r1 = Math.max(r.r1, c.row); r.c1 = Math.max(r.c1, c.col);
    r.top = Math.min(r.top, c.y); r.r0 = Math.min(r.r0, c.row); r.c0 = Math.min(r.c0, c.col);
  }
  const width = r.c1 - r.c0 + 1;
  if (cells.length !== width * (r.r1 - r.r0 + 1) || r.bottom - r.top !== r.r1 - r.r0) return null;
  for (const c of cells) if (c.y - r.top !== c.row - r.r0 || c.x - c.col !== first.x - first.col) return null;
  r.left = first.x - (first.col - r.c0);
  return r;
}

/** 4 × 4 ordered dithering thresholds, centred on zero (in steps of the palette). */
const BAYER = [0, 8, 2, 10, 12, 4, 14, 6, 3, 11, 1, 9, 15, 7, 13, 5].map((v) => (v + 0.5) / 16 - 0.5);

/**
 * A picture as a sixel image (DEC's DCS q … ST), drawn at the cursor: the 216 colours of a
 * 6 × 6 × 6 cube, ordered dithering, pixels under half opaque left as they were (P2=1), as many
 * rows as fill whole six-pixel bands (a last partial band would paint over the next cell row).
 */
export function sixel(p: Pixels): string {
  const height = p.height - (p.height % 6);
  const { width } = p;
  // Each pixel's colour register (0–215), or -1 for transparent.
  const reg = new Int16Array(width * height);
  const used = new Set<number>();
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      if (p.rgba[i + 3]! < 128) { reg[y * width + x] = -1; continue; }
      const t = BAYER[(y & 3) * 4 + (x & 3)]!;
      const level = (v: number) => Math.min(5, Math.max(0, Math.round((v / 255) * 5 + t)));
      const c = level(p.rgba[i]!) * 36 + level(p.rgba[i + 1]!) * 6 + level(p.rgba[i + 2]!);
      reg[y * width + x] = c;
      used.add(c);
    }
  }
  let out = `\x1bP0;1;0q"1;1;${width};${height}`;
  for (const c of [...used].sort((a, b) => a - b)) out += `#${c};2;${Math.floor(c / 36) * 20};${(Math.floor(c / 6) % 6) * 20};${(c % 6) * 20}`;
  const bits = new Map<number, Uint8Array>();
  for (let band = 0; band < height; band += 6) {
    bits.clear();
    for (let k = 0; k < 6; k++) {
      for (let x = 0; x < width; x++) {
        const c = reg[(band + k) * width + x]!;
        if (c < 0) continue;
        let row = bits.get(c);
        if (!row) bits.set(c, (row = new Uint8Array(width)));
        row[x]! |= 1 << k;
      }
    }
    let first = true;
    for (const [c, row] of bits) {
      let end = width;
      while (end > 0 && row[end - 1] === 0) end--;
      out += `${first ? '' : '$'}#${c}`;
      first = false;
      for (let x = 0; x < end;) {
        let run = 1;
        while (x + run < end && row[x + run] === row[x]) run++;
        const ch = String.fromCharCode(63 + row[x]!);
        out += run > 3 ? `!${run}${ch}` : ch.repeat(run);
        x += run;
      }
    }
    out += '-';
  }
  return `${out}\x1b\\`;
}

/**
 * A picture as iTerm2's inline image (OSC 1337 File=…), drawn at the cursor on exactly `cols` ×
 * `rows` cells, sent as a PNG; the cursor stays where it was (doNotMoveCursor, iTerm2 3.5).
 */
export function iterm2(p: Pixels, cols: number, rows: number): string {
  const png = encodePng(p);
  return `\x1b]1337;File=inline=1;size=${png.length};width=${cols};height=${rows};preserveAspectRatio=0;doNotMoveCursor=1:${png.toString('base64')}\x07`;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(data: Buffer): number {
  let c = 0xffffffff;
  for (const b of data) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(body.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), body])), 0);
  return Buffer.concat([head, body, crc]);
}

/** Pixels as a PNG file: 8-bit RGBA, no filtering, deflated. */
export function encodePng(p: Pixels): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(p.width, 0);
  ihdr.writeUInt32BE(p.height, 4);
  ihdr.set([8, 6, 0, 0, 0], 8);
  const stride = p.width * 4;
  const raw = Buffer.alloc((stride + 1) * p.height);
  for (let y = 0; y < p.height; y++) raw.set(p.rgba.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}
