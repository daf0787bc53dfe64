import type { FastifyInstance } from 'fastify';
import {
  LIMITS, ROUTES, changePasswordSchema, idParamSchema, loginSchema, logoutSchema, refreshSchema, registerSchema, tokenCreateSchema,
} from '../../protocol/index.js';
import { parse } from '../validation.js';
import type { RouteContext } from './index.js';
import { publicUser } from '../services/auth.js';

/** Accounts: register, log in, refresh, log out, who am I, passwords and API tokens. */
export function accountRoutes(app: FastifyInstance, ctx: RouteContext) {
  const { auth, authed, me, ipOf, config } = ctx;
  const limits = { maxMessageLength: config.maxMessageLength, maxFileSize: config.maxFileSize, maxFilesPerMessage: LIMITS.maxFilesPerMessage };
  app.post(ROUTES.register, async (req, reply) => {
    const body = parse(registerSchema, req.body);
    await auth.limitAttempt(ipOf(req));
    return reply.status(201).send(await auth.register(body.username, body.password, body.device));
  });
  app.post(ROUTES.login, async (req) => {
    const body = parse(loginSchema, req.body);
    return auth.login(ipOf(req), body.username, body.password, body.device);
  });
  app.post(ROUTES.refresh, async (req) => auth.refresh(parse(refreshSchema, req.body).refreshToken));
  app.post(ROUTES.logout, { onRequest: authed }, async (req, reply) => {
    await auth.logout(me(req), parse(logoutSchema, req.body).refreshToken);
    return reply.status(204).send();
  });
  app.get(ROUTES.me, { onRequest: authed }, async (req) => ({ ...publicUser(me(req).user), limits }));
  app.post(ROUTES.password, { onRequest: authed }, async (req) => {
    const body = parse(changePasswordSchema, req.body);
    return auth.changePassword(me(req), ipOf(req), body.currentPassword, body.newPassword, body.keepTokens);
  });


  app.post(ROUTES.tokens, { onRequest: authed }, async (req, reply) => {
    const body = parse(tokenCreateSchema, req.body);
    return reply.status(201).send(await auth.createApiToken(me(req), ipOf(req), body.name, body.password));
  });
  app.get(ROUTES.tokens, { onRequest: authed }, async (req) => auth.listApiTokens(me(req)));
  app.delete('/v1/tokens/:id', { onRequest: authed }, async (req, reply) => {
    await auth.revokeApiToken(me(req), parse(idParamSchema, req.params).id);
    return reply.status(204).send();
  });

}
