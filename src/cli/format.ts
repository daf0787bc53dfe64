import type { Message } from '../protocol/types.js';
import type { Attachment } from '../protocol/files.js';
import { isChange } from '../protocol/changes.js';
import { sanitizeIndented, sanitizeLine } from '../client/sanitize.js';
import { humanBytes } from '../client/units.js';
import { emote } from '../client/emote.js';

/** Continuation lines of a message start with this, so none can pass for a message of its own. */
export const CONTINUATION = '    │ ';

/**
 * One message for people: "2026-11-26 18:01:02 #12 alice → bob: text". A multi-line text keeps
 * its lines, each after the first indented under the message.
 */
export function formatMessage(m: Message, groups?: ReadonlyMap<string, string>, me?: string): string {
  const t = m.createdAt.replace('T', ' ').replace(/\.\d+Z$/, '');
  if (isChange(m)) return `${t} #${m.seq} ${sanitizeLine(m.from)} ${changeText(m)}`;
  const tag = m.kind === 'user' ? '' : ` [${m.kind}]`;
  // A group message goes to the group: shown by its #handle when known.
  const to = groups?.get(m.conversationId) ?? m.to;
  const head = `${t} #${m.seq} ${sanitizeLine(m.from)} → ${sanitizeLine(to)}${tag}`;
  if (m.deleted) return `${head}: (deleted by ${sanitizeLine(m.deleted.by)})`;
  const re = m.reply ? `${CONTINUATION}↪ re #${m.reply.seq} ${sanitizeLine(m.reply.from)}: ${m.reply.deleted ? '(deleted)' : sanitizeLine(m.reply.snippet)}\n` : '';
  const edited = m.edits ? ' (edited)' : '';
  const reactions = m.reactions?.length ? `  [${m.reactions.map((r) => `${sanitizeLine(r.emoji)} ${r.count}`).join('  ')}]` : '';
  const mentioned = me !== undefined && m.mentions?.includes(me) ? '  ← @you' : '';
  const action = m.kind === 'user' ? emote(m.text) : null;
  const line = `${head}: ${action !== null ? `* ${sanitizeLine(m.from)} ${sanitizeIndented(action, CONTINUATION)}` : sanitizeIndented(m.text, CONTINUATION)}${edited}${reactions}${mentioned}`;
  const files = (m.files ?? []).map((f) => `${CONTINUATION}📎 ${fileLine(f)}`);
  return [line, ...(re ? [re.slice(0, -1)] : []), ...files].join('\n');
}

/** A file for people: its name, size, type (and pixels) and the id to download it by. */
export function fileLine(f: Pick<Attachment, 'id' | 'name' | 'size' | 'type' | 'width' | 'height'>): string {
  const px = f.width && f.height ? ` ${f.width}×${f.height}` : '';
  return `${sanitizeLine(f.name)} (${humanBytes(f.size)}, ${sanitizeLine(f.type)}${px}) ${f.id}`;
}


/** What a change record did, for people: "edited #12: new text", "reacted 👍 to #12", "deleted #12". */
export function changeText(c: Message): string {
  switch (c.kind) {
    case 'edit': return `edited #${c.target}: ${sanitizeIndented(c.text, CONTINUATION)}`;
    case 'delete': return `deleted #${c.target}`;
    default: return c.op === 'remove' ? `removed ${sanitizeLine(c.emoji ?? '')} from #${c.target}` : `reacted ${sanitizeLine(c.emoji ?? '')} to #${c.target}`;
  }
}
