/** Most people one message may mention (the rest of its @names are plain text). */
export const MAX_MENTIONS = 50;

/** `@name` where name is a username, not inside a word or an address (mail@host does not mention host). */
const MENTION = /(?<![\p{L}\p{N}_.@-])@([a-z0-9_.-]{3,32})(?![\p{L}\p{N}_-])/giu;

/**
 * The members a text mentions: each `@name` (any case) that names a member other than the author,
 * once, in the order they first appear, at most MAX_MENTIONS.
 */
export function mentionsIn(text: string, members: Iterable<string>, author: string): string[] {
  const known = new Set(members);
  const out: string[] = [];
  for (const m of text.matchAll(MENTION)) {
    const name = m[1]!.toLowerCase().replace(/\.+$/, '');
    if (name === author || !known.has(name) || out.includes(name)) continue;
    out.push(name);
    if (out.length >= MAX_MENTIONS) break;
  }
  return out;
}
