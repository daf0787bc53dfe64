import type { Command } from 'commander';
import type { AdminUserView } from '../../protocol/index.js';
import type { Context } from '../context.js';
import { UsageError } from '../errors.js';
import { checkNewPassword, parseUsername, readPassword } from '../input.js';

const line = (u: AdminUserView) => `${u.username}${u.admin ? ' (admin)' : ''}${u.disabled ? ' [disabled]' : ''}  created ${u.createdAt}`;

function idsOrAll(ids: string[], o: { all?: boolean }, verb: string): string[] | 'all' {
  if (o.all && ids.length) throw new UsageError(`${verb}: give ids or --all, not both`);
  if (!o.all && ids.length === 0) throw new UsageError(`${verb}: give ids or --all`);
  return o.all ? 'all' : ids;
}

export function register(program: Command, ctx: () => Context) {
  const adminCmd = program.command('admin').description('administration (admin only)');
  adminCmd.command('status').description("each backend's health, consumer lag, failed-store size, DLQ size").action(async () => {
    const c = ctx();
    const s = await c.api().adminStatus();
    c.print(s, () => [
      `node: pid ${s.node.pid}, up ${s.node.uptimeSec} s, store=${s.node.store} log=${s.node.log} cache=${s.node.cache}`,
      ...Object.entries(s.backends).map(([k, b]) => `${b.ok ? 'ok  ' : 'DOWN'} ${k} (${b.kind})${b.detail ? `: ${b.detail}` : ''}`),
      `consumer lag: ${s.consumerLag ?? 'n/a'}`,
      `failed-publish store: ${s.failedStore ?? 'n/a'}`,
      `dead letters: ${s.dlq ? `${s.dlq.pending} pending, ${s.dlq.total} ever` : 'n/a'}`,
    ].join('\n'));
  });
  const failed = adminCmd.command('failed').description('messages acknowledged while Kafka was down (kept in Redis 7 days, retried)');
  failed.command('list').description('entries, oldest conversation first').action(async () => {
    const c = ctx();
    const list = await c.api().adminFailed();
    c.print(list, () => (list.length ? list.map((e) => `${e.id}  ${e.conversationId} #${e.seq}  failed ${e.failedAt}: ${e.error}`).join('\n') : 'no failed publishes'));
  });
  failed.command('replay [ids...]').description('republish now, in seq order per conversation').option('--all', 'every entry')
    .action(async (ids: string[], o: { all?: boolean }) => {
      const c = ctx();
      const r = await c.api().adminFailedReplay(idsOrAll(ids, o, 'replay'));
      c.done(r, () => `replayed ${r.replayed.length}; ${r.remaining} remaining`);
    });
  failed.command('purge [ids...]').description('delete entries without publishing them (they are lost)').option('--all', 'every entry')
    .action(async (ids: string[], o: { all?: boolean }) => {
      const c = ctx();
      const r = await c.api().adminFailedPurge(idsOrAll(ids, o, 'purge'));
      c.done(r, () => `purged ${r.purged.length}`);
    });
  const dlq = adminCmd.command('dlq').description('records the persistence consumer could not store');
  dlq.command('list').description('dead letters with their origin and error').action(async () => {
    const c = ctx();
    const list = await c.api().adminDlq();
    c.print(list, () => (list.length ? list.map((e) => `${e.id}  ${e.topic}[${e.partition}]@${e.offset}  ${e.error}`).join('\n') : 'no dead letters'));
  });
  dlq.command('replay [ids...]').description('send back to the message topic (all when no ids)').action(async (ids: string[]) => {
    const c = ctx();
    const r = await c.api().adminDlqReplay(ids.length ? ids : 'all');
    c.done(r, () => `replayed ${r.replayed.length}; ${r.remaining} remaining`);
  });
  adminCmd.command('reindex').description('rebuild the scale-out search index (OpenSearch) from the stored messages').action(async () => {
    const c = ctx();
    const r = await c.api().adminSearchReindex();
    c.done(r, () => `reindexed ${r.indexed} messages`);
  });
  const users = adminCmd.command('users').description('manage accounts');
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
    const r = await c.api().adminResetPassword(parseUsername(u), checkNewPassword(pw));
    c.done(r, () => `password of ${r.username} reset`);
  });
}
