import type { Command } from 'commander';
import { LIMITS } from '../../protocol/limits.js';
import type { Context } from '../context.js';
import { UsageError } from '../errors.js';
import { readPassword } from '../input.js';

export function register(program: Command, ctx: () => Context) {
  const token = program.command('token').description('personal API tokens for scripts (use with CHAT_TOKEN)');
  token.command('create <name>').description('create a token (asks for your password); the secret is shown once ({id, name, token})')
    .option('--password-stdin', 'read your password from stdin')
    .action(async (name: string, o: { passwordStdin?: boolean }) => {
      if (name.length > LIMITS.maxTokenNameLength) throw new UsageError(`token name longer than ${LIMITS.maxTokenNameLength} characters`);
      const c = ctx();
      const password = await readPassword(c.io, o.passwordStdin, 'Password: ');
      const t = await c.api().createToken(name, password);
      // The token is data (stdout); the reminder is for people (stderr).
      c.print(t, () => t.token);
      if (!c.json) c.note(`(id ${t.id}; this secret is shown only once)`);
    });
  token.command('list').description('your tokens, without secrets').action(async () => {
    const c = ctx();
    const list = await c.api().listTokens();
    c.print(list, () => (list.length ? list.map((t) => `${t.id}  ${t.name}  created ${t.createdAt}  last used ${t.lastUsedAt ?? 'never'}`).join('\n') : 'no tokens'));
  });
  token.command('revoke <id>').description('revoke a token; its sockets are disconnected').action(async (id: string) => {
    const c = ctx();
    await c.api().revokeToken(id);
    c.done({ ok: true }, () => `revoked ${id}`);
  });
}
