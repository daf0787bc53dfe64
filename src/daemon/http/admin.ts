import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  ChatError, ROUTES, adminIdsSchema, maxAdminIdsBytes, resetPasswordSchema, usernameParamSchema,
  type AdminStatus,
} from '../../protocol/index.js';
import { parse } from '../validation.js';
import type { RouteContext } from './index.js';

/** Admin: users, the node's status, failed publishes and dead letters. */
export function adminRoutes(app: FastifyInstance, ctx: RouteContext) {
  const { admin, adminOnly, me } = ctx;
  app.get(ROUTES.adminUsers, { onRequest: adminOnly }, async () => admin.users());
  app.post('/v1/admin/users/:username/:action', { onRequest: adminOnly }, async (req) => {
    const { username } = parse(usernameParamSchema, { username: (req.params as { username?: string }).username });
    return admin.act(me(req).user.id, username, (req.params as { action: string }).action, () => parse(resetPasswordSchema, req.body).password);
  });
  app.get(ROUTES.adminStatus, { onRequest: adminOnly }, async (): Promise<AdminStatus> => admin.status());
  const ids = (req: FastifyRequest) => {
    const body = parse(adminIdsSchema, req.body);
    if (!body.all && !body.ids?.length) throw new ChatError('CHAT_ERR_VALIDATION', 'give ids or all: true');
    return body.all ? 'all' as const : body.ids!;
  };
  app.get(ROUTES.adminFailed, { onRequest: adminOnly }, async () => admin.failed());
  app.post(ROUTES.adminFailedReplay, { onRequest: adminOnly, bodyLimit: maxAdminIdsBytes() }, async (req) => admin.failedReplay(ids(req)));
  app.post(ROUTES.adminFailedPurge, { onRequest: adminOnly, bodyLimit: maxAdminIdsBytes() }, async (req) => admin.failedPurge(ids(req)));
  app.get(ROUTES.adminDlq, { onRequest: adminOnly }, async () => admin.deadLetters());
  app.post(ROUTES.adminDlqReplay, { onRequest: adminOnly, bodyLimit: maxAdminIdsBytes() }, async (req) => {
    const body = parse(adminIdsSchema, req.body);
    return admin.deadLetterReplay(body.ids?.length ? body.ids : 'all');
  });
  app.post(ROUTES.adminSearchReindex, { onRequest: adminOnly }, async () => admin.searchReindex());

}
