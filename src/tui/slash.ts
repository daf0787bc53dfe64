import type { GroupRole } from '../protocol/index.js';
import { GROUP_ROLES } from '../protocol/names.js';

/**
 * Slash commands in the input line: what needs the CLI's group commands otherwise, with the
 * same operations (the same REST calls, so the same errors). `/ai …` is a message (Gemini
 * answers it), and `//…` sends a line that starts with one `/`.
 */
export const SLASH_COMMANDS = [
  { name: 'me', usage: '/me <action>', help: 'say what you do, shown as "* ann waves"' },
  { name: 'search', usage: '/search <query>', help: 'search the open conversation on the server' },
  { name: 'topic', usage: '/topic [text]', help: "set the open group's topic (no text clears it)" },
  { name: 'rename', usage: '/rename <name>', help: "set the open group's name" },
  { name: 'invite', usage: '/invite <friend>…', help: 'add friends to the open group' },
  { name: 'kick', usage: '/kick <member>', help: 'remove a member from the open group' },
  { name: 'role', usage: '/role <member> owner|admin|member', help: "change a member's role" },
  { name: 'leave', usage: '/leave', help: 'leave the open group' },
  { name: 'help', usage: '/help', help: 'the keys and these commands' },
] as const;

export type SlashName = (typeof SLASH_COMMANDS)[number]['name'];
const ROLES: readonly GroupRole[] = GROUP_ROLES;
const GROUP_ONLY: readonly SlashName[] = ['topic', 'rename', 'invite', 'kick', 'role', 'leave'];

export type SlashLine =
  | { kind: 'send'; text: string }
  | { kind: 'command'; name: SlashName; args: string[]; rest: string }
  | { kind: 'error'; message: string };

/** What an input line is: a message to send, a command to run, or a command used wrongly (why). */
export function parseSlash(line: string, openIsGroup: boolean): SlashLine {
  if (!line.startsWith('/') || /^\/ai(\s|$)/.test(line)) return { kind: 'send', text: line };
  if (line.startsWith('//')) return { kind: 'send', text: line.slice(1) };
  const m = /^\/(\S*)\s*([\s\S]*)$/.exec(line)!;
  const name = m[1]!.toLowerCase();
  const rest = m[2]!.trim();
  const cmd = SLASH_COMMANDS.find((c) => c.name === name);
  if (!cmd) return { kind: 'error', message: `unknown command /${name.slice(0, 20)} (/help lists them; // sends a line starting with /)` };
  if (GROUP_ONLY.includes(cmd.name) && !openIsGroup) return { kind: 'error', message: `/${cmd.name} works in a group: open one first` };
  const args = rest ? rest.split(/\s+/) : [];
  const need = (ok: boolean): SlashLine => (ok ? { kind: 'command', name: cmd.name, args, rest } : { kind: 'error', message: `usage: ${cmd.usage}` });
  switch (cmd.name) {
    case 'me': case 'search': case 'rename': return need(rest.length > 0);
    case 'invite': return need(args.length > 0);
    case 'kick': return need(args.length === 1);
    case 'role': return need(args.length === 2 && ROLES.includes(args[1] as GroupRole));
    case 'leave': case 'help': return need(args.length === 0);
    case 'topic': return need(true);
  }
}

/**
 * Tab in the input line on a slash command: the command's name, then its arguments (friends to
 * invite, members to kick or give a role, the roles). Returns the completed line and, when
 * several fit, the choices.
 */
export function completeSlash(line: string, names: { friends: string[]; members: string[] }): { value: string; candidates: string[] } {
  const words = line.split(' ');
  const last = words.at(-1)!;
  const name = words[0]!.slice(1).toLowerCase();
  let pool: readonly string[];
  if (words.length === 1) pool = SLASH_COMMANDS.map((c) => `/${c.name}`);
  else if (name === 'invite') pool = names.friends;
  else if ((name === 'kick' || name === 'role') && words.length === 2) pool = names.members;
  else if (name === 'role' && words.length === 3) pool = ROLES;
  else pool = [];
  const fits = [...new Set(pool)].filter((c) => c.startsWith(words.length === 1 ? last.toLowerCase() : last)).sort();
  if (fits.length === 0) return { value: line, candidates: [] };
  const head = words.slice(0, -1).join(' ');
  const join = (w: string) => (head ? `${head} ${w}` : w);
  if (fits.length === 1) return { value: `${join(fits[0]!)} `, candidates: [] };
  // The longest start they share, and the choices.
  let common = fits[0]!;
  for (const f of fits) while (!f.startsWith(common)) common = common.slice(0, -1);
  return { value: join(common.length > last.length ? common : last), candidates: fits };
}
