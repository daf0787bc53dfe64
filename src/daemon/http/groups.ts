import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  ROUTES, groupAddSchema, groupCreateSchema, groupMemberParamSchema, groupParamSchema, groupRoleSchema, groupUpdateSchema,
} from '../../protocol/index.js';
import { parse } from '../validation.js';
import type { RouteContext } from './index.js';

/** Groups: create, read, change, members, roles, leaving and receipts. */
export function groupRoutes(app: FastifyInstance, ctx: RouteContext) {
  const { config, groups, authed, me, perMinute } = ctx;
  // Groups. Reads share the lookup limit; changes have their own (CHAT_GROUP_RATE_LIMIT, in the
  // service). Anyone not in a group gets CHAT_ERR_GROUP_NOT_FOUND, whether it exists or not.
  const name = (req: FastifyRequest) => me(req).user.username;
  const group = (req: FastifyRequest) => parse(groupParamSchema, req.params).group;
  const lookup = (req: FastifyRequest) => perMinute(req, 'lookup', config.lookupRateLimit);
  app.get(ROUTES.groups, { onRequest: authed }, async (req) => {
    await lookup(req);
    return groups.list(name(req));
  });
  app.post(ROUTES.groups, { onRequest: authed }, async (req, reply) => reply.status(201).send(await groups.create(name(req), parse(groupCreateSchema, req.body))));
  app.get('/v1/groups/:group', { onRequest: authed }, async (req) => {
    await lookup(req);
    return groups.get(name(req), group(req));
  });
  app.patch('/v1/groups/:group', { onRequest: authed }, async (req) => groups.update(name(req), group(req), parse(groupUpdateSchema, req.body)));
  app.delete('/v1/groups/:group', { onRequest: authed }, async (req, reply) => {
    await groups.delete(name(req), group(req));
    return reply.status(204).send();
  });
  app.get('/v1/groups/:group/members', { onRequest: authed }, async (req) => {
    await lookup(req);
    return groups.members(name(req), group(req));
  });
  app.post('/v1/groups/:group/members', { onRequest: authed }, async (req) => groups.add(name(req), group(req), parse(groupAddSchema, req.body).usernames));
  app.delete('/v1/groups/:group/members/:username', { onRequest: authed }, async (req, reply) => {
    const p = parse(groupMemberParamSchema, req.params);
    await groups.remove(name(req), p.group, p.username);
    return reply.status(204).send();
  });
  app.put('/v1/groups/:group/members/:username/role', { onRequest: authed }, async (req, reply) => {
    const p = parse(groupMemberParamSchema, req.params);
    await groups.setRole(name(req), p.group, p.username, parse(groupRoleSchema, req.body).role);
    return reply.status(204).send();
  });
  app.post('/v1/groups/:group/leave', { onRequest: authed }, async (req, reply) => {
    await groups.leave(name(req), group(req));
    return reply.status(204).send();
  });
  app.get('/v1/groups/:group/receipts', { onRequest: authed }, async (req) => {
    await lookup(req);
    return groups.receipts(name(req), group(req));
  });

}
