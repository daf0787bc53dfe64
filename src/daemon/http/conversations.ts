import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  ROUTES, httpBodyLimitFor, historyParamSchema, historyQuerySchema, usernameParamSchema,
} from '../../protocol/index.js';
import { parse } from '../validation.js';
import type { RouteContext } from './index.js';

/** Friends, conversations, sending and history. */
export function conversationRoutes(app: FastifyInstance, ctx: RouteContext) {
  const { config, friends, messages, authed, me, perMinute } = ctx;
  // Friend requests tell whether a name exists (people need that answer): behind their own limit.
  const friendLimit = (req: FastifyRequest) => perMinute(req, 'friend', config.friendRateLimit);
  app.get(ROUTES.friends, { onRequest: authed }, async (req) => friends.list(me(req).user.username));
  app.get(ROUTES.friendRequests, { onRequest: authed }, async (req) => friends.requests(me(req).user.username));
  app.post('/v1/friends/:username', { onRequest: authed }, async (req) => {
    const { username } = parse(usernameParamSchema, req.params);
    await friendLimit(req);
    return friends.add(me(req).user.username, username);
  });
  app.post('/v1/friends/:username/accept', { onRequest: authed }, async (req) => {
    const { username } = parse(usernameParamSchema, req.params);
    await friendLimit(req);
    return friends.accept(me(req).user.username, username);
  });
  app.delete('/v1/friends/:username', { onRequest: authed }, async (req, reply) => {
    const { username } = parse(usernameParamSchema, req.params);
    await friendLimit(req);
    await friends.remove(me(req).user.username, username);
    return reply.status(204).send();
  });

  app.get(ROUTES.conversations, { onRequest: authed }, async (req) => {
    await perMinute(req, 'convs', config.conversationsRateLimit);
    return messages.conversations(me(req).user.username);
  });
  app.post(ROUTES.messages, { onRequest: authed, bodyLimit: httpBodyLimitFor(config.maxMessageLength) }, async (req, reply) => reply.status(201).send(await messages.send(me(req).user.username, ctx.parseSend(req.body))));
  app.get('/v1/messages/:username', { onRequest: authed }, async (req) => {
    const { peer } = parse(historyParamSchema, { peer: (req.params as { username?: string }).username });
    const q = parse(historyQuerySchema, req.query);
    await perMinute(req, 'lookup', config.lookupRateLimit);
    return messages.history(me(req).user.username, peer, q);
  });

}
