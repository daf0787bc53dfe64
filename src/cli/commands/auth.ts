import type { Command } from 'commander';
import { ChatError } from '../../protocol/errors.js';
import { ApiClient, NOT_LOGGED_IN } from '../../client/api.js';
import type { Context } from '../context.js';
import { checkNewPassword, parseNewUsername, readAll, readPassword } from '../input.js';
import { UsageError } from '../errors.js';

interface PwOpts { passwordStdin?: boolean; keepTokens?: boolean }

export async function runRegister(ctx: Context, username: string, o: PwOpts) {
  parseNewUsername(username);
  const password = await readPassword(ctx.io, o.passwordStdin, 'Choose a password: ', true);
  const server = ctx.server;
  const r = await new ApiClient(server).register(parseNewUsername(username), password);
  await ctx.saveLogin(server, r);
  ctx.done(r.user, () => `registered and logged in as ${r.user.username}${r.user.admin ? ' (admin)' : ''} on ${server}`);
}

export async function runLogin(ctx: Context, username: string, o: PwOpts) {
  const password = await readPassword(ctx.io, o.passwordStdin);
  const server = ctx.server;
  const r = await new ApiClient(server).login(username, password);
  await ctx.saveLogin(server, r);
  ctx.done(r.user, () => `logged in as ${r.user.username} on ${server}`);
}

export async function runLogout(ctx: Context) {
  const refresh = ctx.storedRefreshToken();
  if (!refresh) throw new ChatError('CHAT_ERR_UNAUTHENTICATED', NOT_LOGGED_IN);
  try {
    await ctx.api().logout(refresh);
  } finally {
    await ctx.clearLogin();
  }
  ctx.done({ ok: true }, () => 'logged out');
}

export async function runWhoami(ctx: Context) {
  const { limits: _limits, ...u } = await ctx.api().whoami();
  ctx.print(u, () => `${u.username}${u.admin ? ' (admin)' : ''}`);
}

export async function runPasswd(ctx: Context, o: PwOpts) {
  let current: string;
  let next: string;
  if (o.passwordStdin) {
    // Two lines: the current password, then the new one.
    const lines = (await readAll(ctx.io.stdin)).split(/\r?\n/);
    current = lines[0] ?? '';
    next = lines[1] ?? '';
    if (!current || !next) throw new UsageError('with --password-stdin, give the current and the new password on two lines');
    checkNewPassword(next);
  } else {
    current = await readPassword(ctx.io, false, 'Current password: ');
    next = await readPassword(ctx.io, false, 'New password: ', true);
  }
  const r = await ctx.api().changePassword(current, next, o.keepTokens ?? false);
  const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;
  const tokens = o.keepTokens ? 'your API tokens were kept' : `${plural(r.revokedTokens, 'API token')} revoked`;
  ctx.done({ ok: true, ...r }, () => `password changed; ${plural(r.revokedSessions, 'other session')} signed out, ${tokens}`);
}

export function register(program: Command, ctx: () => Context) {
  program.command('register <user>').description('create an account and log in')
    .option('--password-stdin', 'read the password from stdin')
    .action((u: string, o: PwOpts) => runRegister(ctx(), u, o));
  program.command('login <user>').description('log in and remember the server')
    .option('--password-stdin', 'read the password from stdin')
    .action((u: string, o: PwOpts) => runLogin(ctx(), u, o));
  program.command('logout').description('revoke this session on the server and forget it').action(() => runLogout(ctx()));
  program.command('whoami').description('show the logged-in user ({id, username, admin})').action(() => runWhoami(ctx()));
  program.command('passwd').description('change your password; signs out your other sessions and revokes your API tokens')
    .option('--password-stdin', 'read the current and new password from stdin, one per line')
    .option('--keep-tokens', 'keep your API tokens working')
    .action((o: PwOpts) => runPasswd(ctx(), o));
}
