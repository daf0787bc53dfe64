import type { Command } from 'commander';
import type { Context } from '../context.js';
import { parseUsername } from '../input.js';
import { rememberNames } from '../../client/names-cache.js';

export function register(program: Command, ctx: () => Context) {
  const friends = program.command('friends').description('manage friends');
  friends.command('add <user>').description('send a friend request (or accept theirs)').action(async (u: string) => {
    const c = ctx();
    const r = await c.api().addFriend(parseUsername(u));
    c.done(r, () => (r.status === 'friends' ? `you and ${r.username} are now friends` : `friend request sent to ${r.username}`));
  });
  friends.command('accept <user>').description('accept a pending request').action(async (u: string) => {
    const c = ctx();
    const r = await c.api().acceptFriend(parseUsername(u));
    c.done(r, () => `you and ${r.username} are now friends`);
  });
  friends.command('remove <user>').description('unfriend, decline or cancel a request').action(async (u: string) => {
    const c = ctx();
    await c.api().removeFriend(parseUsername(u));
    c.done({ ok: true }, () => `removed ${u}`);
  });
  friends.command('list').description('friends with presence ([{username, online}])').action(async () => {
    const c = ctx();
    // A person reading the list also hears of requests waiting for them (--json prints the list alone).
    const [list, requests] = await Promise.all([c.api().friends(), c.json ? null : c.api().friendRequests()]);
    rememberNames(c.env, { friends: list.map((f) => f.username) });
    const waiting = requests?.incoming.length ? `\nrequests from ${requests.incoming.join(', ')}: chat friends accept <user>` : '';
    c.print(list, () => (list.length ? list.map((f) => `${f.online ? '●' : '○'} ${f.username} (${f.online ? 'online' : 'offline'})`).join('\n') : 'no friends yet') + waiting);
  });
  friends.command('requests').description('pending requests ({incoming, outgoing})').action(async () => {
    const c = ctx();
    const r = await c.api().friendRequests();
    c.print(r, () => `incoming: ${r.incoming.join(', ') || '-'}\noutgoing: ${r.outgoing.join(', ') || '-'}`);
  });
}
