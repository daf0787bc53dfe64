import type { Command } from 'commander';
import type { AdminUserView } from '../../protocol/index.js';
import type { Context } from '../context.js';
import { parseUsername, readPassword } from '../input.js';

const line = (u: AdminUserView) => `${u.username}${u.admin ? ' (admin)' : ''}${u.disabled ? ' [disabled]' : ''}  created ${u.createdAt}`;

export function register(program: Command, ctx: () => Context) {
  const users = program.command('admin').description('administration (admin only)').command('users').description('manage accounts');
  users.command('list').description('all accounts').action(async () => {
    const c = ctx();
    const list = await c.api().adminUsers();
    c.print(list, () => list.map(line).join('\n'));
  });
  for (const action of ['disable', 'enable', 'promote', 'demote'] as const) {
    users.command(`${action} <user>`).description(`${action} an account`).action(async (u: string) => {
      const c = ctx();
      const r = await c.api().adminUser(parseUsername(u), action);
      c.print(r, () => line(r));
    });
  }
  users.command('reset-password <user>').description('set a new password read from stdin; signs the user out everywhere').action(async (u: string) => {
    const c = ctx();
    const pw = await readPassword(c.io, !c.io.stdin.isTTY, 'New password: ', c.io.stdin.isTTY === true);
    const r = await c.api().adminResetPassword(parseUsername(u), pw);
    c.print(r, () => `password of ${r.username} reset`);
  });
}
