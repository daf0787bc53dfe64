import type { Message } from '../protocol/index.js';
import { sanitizeIndented, sanitizeLine } from '../client/sanitize.js';

/** Continuation lines of a message start with this, so none can pass for a message of its own. */
export const CONTINUATION = '    │ ';

/**
 * One message for people: "2026-11-26 18:01:02 #12 alice → bob: text". A multi-line text keeps
 * its lines, each after the first indented under the message.
 */
export function formatMessage(m: Message, groups?: ReadonlyMap<string, string>): string {
  const t = m.createdAt.replace('T', ' ').replace(/\.\d+Z$/, '');
  const tag = m.kind === 'user' ? '' : ` [${m.kind}]`;
  // A group message goes to the group: shown by its #handle when known.
  const to = groups?.get(m.conversationId) ?? m.to;
  return `${t} #${m.seq} ${sanitizeLine(m.from)} → ${sanitizeLine(to)}${tag}: ${sanitizeIndented(m.text, CONTINUATION)}`;
}
