import type { Message } from '../protocol/index.js';
import { sanitize, sanitizeLine } from '../client/sanitize.js';
import { humanBytes as humanSize } from '../client/units.js';
import { emote } from '../client/emote.js';
import { linkSpans, rawUrls, type LinkSpan } from './links.js';
import type { ConversationState, TuiState } from './state.js';

export type Tone = 'normal' | 'mine' | 'ai' | 'system' | 'dim' | 'pending' | 'error' | 'hit' | 'separator' | 'picked' | 'mention' | 'file' | 'image';

export interface Line {
  text: string;
  tone: Tone;
  /** Where the line shows a link of the message's own text (links.ts). */
  links?: LinkSpan[];
}

/** Splits text into lines of at most `width` characters, breaking at spaces where it can. */
export function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  for (const raw of text.split('\n')) {
    let rest = raw;
    if (rest.length === 0) out.push('');
    while (rest.length > 0) {
      if (rest.length <= width) {
        out.push(rest);
        break;
      }
      let cut = rest.lastIndexOf(' ', width);
      if (cut <= 0) cut = width;
      out.push(rest.slice(0, cut));
      rest = rest.slice(cut).replace(/^ /, '');
    }
  }
  return out;
}

/**
 * A message's lines: `head` then the text, wrapped to `width`; every line after the first is
 * indented under the text, so a line of a message can never pass for another message.
 */
export function hanging(head: string, text: string, width: number): string[] {
  const indent = Math.min(head.length, Math.max(2, Math.floor(width / 2)));
  const body = wrap(text, Math.max(1, width - indent));
  return body.map((l, i) => (i === 0 ? head + l : ' '.repeat(indent) + l));
}

const pad = (n: number) => String(n).padStart(2, '0');
/** Local time and day, as people read them. */
const hhmm = (iso: string) => { const d = new Date(iso); return `${pad(d.getHours())}:${pad(d.getMinutes())}`; };

/** A message's time as the settings say: `14:05`, `14:05:09`, or how long ago (`now`, `5m`, `3h`, `2d`; older: the date). */
export function stamp(iso: string, mode: TuiState['timestamps'], now = Date.now()): string {
  const d = new Date(iso);
  if (mode === 'HH:MM:SS') return `${hhmm(iso)}:${pad(d.getSeconds())}`;
  if (mode !== 'relative') return hhmm(iso);
  const s = Math.max(0, Math.floor((now - d.getTime()) / 1000));
  if (s < 60) return 'now';
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  if (s < 7 * 86400) return `${Math.floor(s / 86400)}d`;
  return day(iso);
}
const day = (iso: string) => { const d = new Date(iso); return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`; };

/** Groups: how many other members have read up to a message. */
export function readBy(c: ConversationState, m: Message): number {
  return Object.values(c.reads).filter((r) => r >= m.seq).length;
}

function marker(m: Message, c: ConversationState, me: string): string {
  if (m.from !== me) return '';
  if (c.kind === 'group') {
    // Stored (it has a seq): sent; then how many have read it.
    const n = readBy(c, m);
    return n > 0 ? ` ✓ read by ${n}` : ' ✓';
  }
  if (m.seq <= c.peerRead) return ' ✓✓';
  if (m.seq <= c.peerDelivered) return ' ✓';
  return '';
}

/**
 * Every display line of a conversation, oldest first: day separators, then for each message
 * "HH:MM author: text" wrapped to the pane, untrusted text sanitised; then queued messages
 * and a streaming AI answer.
 */
export function conversationLines(s: TuiState, c: ConversationState, width: number): Line[] {
  const lines: Line[] = [];
  let lastDay = '';
  const hit = s.search?.peer === c.peer ? s.search.hit : null;
  const firstNew = c.newFrom === undefined ? undefined : c.messages.find((m) => m.seq > c.newFrom! && m.from !== s.me)?.seq;
  // A refused send stays where it was written, in time, until dismissed (Esc); queued ones wait at the end.
  const failed = c.pending.filter((p) => p.error);
  let nextFailed = 0;
  const failedLines = (before: string | null) => {
    for (; nextFailed < failed.length && (before === null || failed[nextFailed]!.createdAt < before); nextFailed++) {
      const p = failed[nextFailed]!;
      const body = hanging(`${stamp(p.createdAt, s.timestamps)} ${s.me}: `, `${sanitize(p.text)} ✗ not sent: ${sanitizeLine(p.error!)} (Esc dismisses)`, width);
      for (const l of body) lines.push({ text: l, tone: 'error' });
    }
  };
  for (const m of c.messages) {
    failedLines(m.createdAt);
    const d = day(m.createdAt);
    if (d !== lastDay) {
      lastDay = d;
      const label = ` ${d} `;
      const side = Math.max(0, Math.floor((width - label.length) / 2));
      lines.push({ text: '─'.repeat(side) + label + '─'.repeat(Math.max(0, width - side - label.length)), tone: 'separator' });
    }
    if (c.newFrom !== undefined && m.seq === firstNew) {
      const label = ' new messages ';
      const side = Math.max(0, Math.floor((width - label.length) / 2));
      lines.push({ text: '┄'.repeat(side) + label + '┄'.repeat(Math.max(0, width - side - label.length)), tone: 'separator' });
    }
    const isPicked = s.pick?.peer === c.peer && s.pick.seq === m.seq;
    const tone: Tone = isPicked ? 'picked' : m.id === hit ? 'hit' : m.mentions?.includes(s.me) && m.from !== s.me ? 'mention' : m.kind === 'ai' ? 'ai' : m.kind === 'system' ? 'system' : m.from === s.me ? 'mine' : 'normal';
    const author = m.kind === 'ai' ? 'AI' : m.kind === 'system' ? 'system' : m.from;
    // A marker as well as the highlight, so the pick shows without colours or reverse video too.
    // An emote (/me waves) reads "* ann waves".
    const action = m.kind === 'user' && !m.deleted ? emote(m.text) : null;
    const head = `${isPicked ? '▶ ' : ''}${stamp(m.createdAt, s.timestamps)} ${action !== null ? `* ${sanitizeLine(author)} ` : `${sanitizeLine(author)}: `}`;
    if (m.reply) {
      const quote = `  ↪ ${sanitizeLine(m.reply.from)}: ${m.reply.deleted ? '(deleted)' : sanitizeLine(m.reply.snippet)}`;
      lines.push({ text: quote.length > width ? `${quote.slice(0, Math.max(0, width - 1))}…` : quote, tone: 'separator' });
    }
    const text = m.deleted ? `(deleted${m.deleted.by !== m.from ? ` by ${sanitizeLine(m.deleted.by)}` : ''})` : sanitize(action ?? m.text).replace(/\t/g, '  ') + (m.edits ? ' (edited)' : '');
    const reactions = m.reactions?.length ? `  ${m.reactions.map((r) => `${sanitizeLine(r.emoji)}${r.count > 1 ? r.count : ''}`).join(' ')}` : '';
    const body = hanging(head, text + reactions + marker(m, c, s.me), width);
    const urls = m.deleted ? [] : rawUrls(m.text);
    for (const l of body) {
      const links = linkSpans(l, urls);
      lines.push({ text: l, tone: m.deleted && !isPicked ? 'system' : tone, ...(links.length ? { links } : {}) });
    }
    // Files: one line each (name, size, type), and an image's preview under it.
    for (const f of m.deleted ? [] : m.files ?? []) {
      const px = f.width && f.height ? ` ${f.width}×${f.height}` : '';
      const line = `  📎 ${sanitizeLine(f.name)} (${humanSize(f.size)}, ${sanitizeLine(f.type)}${px})`;
      lines.push({ text: line.length > width ? `${line.slice(0, Math.max(0, width - 1))}…` : line, tone: 'file' });
      const preview = s.images ? s.previews[f.id] : undefined;
      // Each preview line is exactly its cells wide (half blocks), so it never wraps.
      if (preview) for (const p of preview) lines.push({ text: `  ${p}`, tone: 'image' });
    }
  }
  failedLines(null);
  for (const p of c.pending) {
    if (p.error) continue;
    for (const l of hanging(`${stamp(p.createdAt, s.timestamps)} ${s.me}: `, `${sanitize(p.text)} … pending`, width)) lines.push({ text: l, tone: 'pending' });
  }
  for (const stream of Object.values(s.ai)) {
    if (stream.conversationId !== c.conversationId) continue;
    const body = stream.error ? `✗ ${sanitize(stream.error)}` : `${sanitize(stream.text)}${stream.done ? '' : ' ▍'}`;
    for (const l of hanging('AI: ', body, width)) lines.push({ text: l, tone: stream.error ? 'error' : 'ai' });
  }
  return lines;
}


/** The widest preview (cells) and its most lines. */
export const PREVIEW_COLS = 40;
export const PREVIEW_ROWS = 10;

/** The slice of lines a pane of `height` shows, `scroll` lines up from the bottom. */
export function visible(lines: Line[], height: number, scroll: number): { lines: Line[]; atTop: boolean; scroll: number } {
  const maxScroll = Math.max(0, lines.length - height);
  const sc = Math.min(scroll, maxScroll);
  const end = lines.length - sc;
  return { lines: lines.slice(Math.max(0, end - height), end), atTop: sc >= maxScroll, scroll: sc };
}

/** Scroll offset that brings a message's first line into view. */
export function scrollTo(lines: Line[], height: number, index: number): number {
  return Math.max(0, lines.length - index - Math.floor(height / 2));
}

/** Scroll offset that puts the line at `index` at the top of a pane of `height` (0 when all fits below it). */
export function newMessagesScroll(total: number, index: number, height: number): number {
  return Math.max(0, total - index - height);
}
