import type { Message } from '../protocol/index.js';
import { sanitize } from '../client/sanitize.js';

/** One message for people: "2026-11-26 18:01:02 #12 alice → bob: text". */
export function formatMessage(m: Message): string {
  const t = m.createdAt.replace('T', ' ').replace(/\.\d+Z$/, '');
  const tag = m.kind === 'user' ? '' : ` [${m.kind}]`;
  return `${t} #${m.seq} ${m.from} → ${m.to}${tag}: ${sanitize(m.text)}`;
}
