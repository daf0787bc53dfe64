import type { Command } from 'commander';
import type { GroupRole, GroupView } from '../../protocol/types.js';
import { sanitizeLine } from '../../client/sanitize.js';
import type { Context } from '../context.js';
import { GROUP_ROLES } from '../../protocol/names.js';
import { rememberNames } from '../../client/names-cache.js';
import { UsageError } from '../errors.js';
import { parseGroup, parseNewGroup, parseUsername } from '../input.js';

const ROLES: readonly GroupRole[] = GROUP_ROLES;

/** One group for people: "#ops  Operations  (owner, 3 members)  topic". Names and topics are untrusted text. */
function groupLine(g: GroupView): string {
  const topic = g.topic ? `  ${sanitizeLine(g.topic)}` : '';
  return `#${g.handle}  ${sanitizeLine(g.name)}  (${g.role}, ${g.memberCount} member${g.memberCount === 1 ? '' : 's'})${topic}`;
}

function parseUsers(users: string[]): string[] {
  return users.map(parseUsername);
}

export function register(program: Command, ctx: () => Context) {
  const group = program.command('group').description('group conversations: create, manage members and roles, list');
  group.command('create <name> [users...]').description('create #name with friends as its first members; you own it')
    .option('--title <text>', 'the name shown to people (default: the handle)')
    .option('--topic <text>', 'the topic')
    .action(async (name: string, users: string[], o: { title?: string; topic?: string }) => {
      const c = ctx();
      const g = await c.api().createGroup(parseNewGroup(name), parseUsers(users), { name: o.title, topic: o.topic });
      c.done(g, () => `created ${groupLine(g)}`);
    });
  group.command('add <name> <users...>').description('add friends to a group (owners and admins)').action(async (name: string, users: string[]) => {
    const c = ctx();
    const g = await c.api().addGroupMembers(parseGroup(name), parseUsers(users));
    c.done(g, () => `#${g.handle} now has ${g.memberCount} members`);
  });
  group.command('remove <name> <user>').description('remove a member (owners and admins; admins cannot remove owners)').action(async (name: string, user: string) => {
    const c = ctx();
    const ref = parseGroup(name);
    await c.api().removeGroupMember(ref, parseUsername(user));
    c.done({ ok: true }, () => `removed ${user} from ${ref}`);
  });
  group.command('leave <name>').description('leave a group (the last owner hands over first; the last member deletes it)').action(async (name: string) => {
    const c = ctx();
    const ref = parseGroup(name);
    await c.api().leaveGroup(ref);
    c.done({ ok: true }, () => `left ${ref}`);
  });
  group.command('rename <name> <title...>').description('set the name shown to people (owners and admins)')
    .option('--handle <new>', 'also move the group to a new #handle')
    .action(async (name: string, words: string[], o: { handle?: string }) => {
      const c = ctx();
      const g = await c.api().updateGroup(parseGroup(name), { name: words.join(' '), ...(o.handle !== undefined ? { handle: parseNewGroup(o.handle) } : {}) });
      c.done(g, () => `renamed: ${groupLine(g)}`);
    });
  group.command('topic <name> [text...]').description('set the topic; no text clears it (owners and admins)').action(async (name: string, words: string[]) => {
    const c = ctx();
    const g = await c.api().updateGroup(parseGroup(name), { topic: words.join(' ') });
    c.done(g, () => (g.topic ? `topic of #${g.handle}: ${sanitizeLine(g.topic)}` : `cleared the topic of #${g.handle}`));
  });
  group.command('delete <name>').description('delete a group and its conversation (the owner)').action(async (name: string) => {
    const c = ctx();
    const ref = parseGroup(name);
    await c.api().deleteGroup(ref);
    c.done({ ok: true }, () => `deleted ${ref}`);
  });
  group.command('role <name> <user> <role>').description('make a member owner, admin or member (owners; admins between admin and member)').action(async (name: string, user: string, role: string) => {
    const c = ctx();
    if (!ROLES.includes(role as GroupRole)) throw new UsageError(`invalid role ${JSON.stringify(role)}: owner, admin or member`);
    const ref = parseGroup(name);
    await c.api().setGroupRole(ref, parseUsername(user), role as GroupRole);
    c.done({ ok: true }, () => `${user} is now ${role === 'member' ? 'a member' : `an ${role}`} of ${ref}`);
  });
  group.command('members <name>').description('members with their role and presence ([{username, role, online, joinedAt}])').action(async (name: string) => {
    const c = ctx();
    const list = await c.api().groupMembers(parseGroup(name));
    c.print(list, () => list.map((m) => `${m.online ? '●' : '○'} ${m.username} (${m.role})`).join('\n'));
  });
  group.command('list').description('your groups ([{id, handle, name, topic, role, memberCount, ...}])').action(async () => {
    const c = ctx();
    const list = await c.api().groups();
    rememberNames(c.env, { groups: list.map((g) => g.handle) });
    c.print(list, () => (list.length ? list.map(groupLine).join('\n') : 'no groups yet'));
  });
  group.command('info <name>').description('one group, and who has read its last message').action(async (name: string) => {
    const c = ctx();
    const ref = parseGroup(name);
    const [g, receipts, [last]] = await Promise.all([c.api().group(ref), c.api().groupReceipts(ref), c.api().history(ref, { limit: 1 })]);
    const readBy = last ? Object.entries(receipts).filter(([u, r]) => u !== last.from && r.read >= last.seq).map(([u]) => u) : [];
    c.print({ ...g, lastSeq: last?.seq ?? 0, readBy }, () => `${groupLine(g)}\nlast message #${last?.seq ?? 0}, read by ${readBy.length}${readBy.length ? `: ${readBy.join(', ')}` : ''}`);
  });
}
