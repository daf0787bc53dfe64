import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  ROUTES, changesQuerySchema, httpBodyLimitFor, historyParamSchema, historyQuerySchema, makeEditBodySchema, messageParamSchema, reactBodySchema, searchQuerySchema, usernameParamSchema,
} from '../../protocol/index.js';
import { parse } from '../validation.js';
import type { RouteContext } from './index.js';

/** Friends, conversations, sending and history. */
export function conversationRoutes(app: FastifyInstance, ctx: RouteContext) {
  const { config, friends, messages, search, authed, me, perMinute } = ctx;
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
  app.post(ROUTES.messages, { onRequest: authed, bodyLimit: httpBodyLimitFor(config.maxMessageLength) }, async (req, reply) => {
    const started = performance.now();
    const message = await messages.send(me(req).user.username, ctx.parseSend(req.body));
    ctx.sends.sent('http', (performance.now() - started) / 1000);
    return reply.status(201).send(message);
  });
  app.get(ROUTES.search, { onRequest: authed }, async (req) => {
    const q = parse(searchQuerySchema, req.query);
    await perMinute(req, 'search', config.searchRateLimit);
    return search.search(me(req).user.username, q);
  });
  app.get('/v1/messages/:username', { onRequest: authed }, async (req) => {
    const { peer } = parse(historyParamSchema, { peer: (req.params as { username?: string }).username });
    const q = parse(historyQuerySchema, req.query);
    await perMinute(req, 'lookup', config.lookupRateLimit);
    return messages.history(me(req).user.username, peer, q);
  });

  // Changes to a message: the conversation as in a send (friend or #group, URL-encoded), then its seq.
  const editBody = makeEditBodySchema(config.maxMessageLength);
  const messageRef = (req: FastifyRequest) => {
    const p = req.params as { username?: string; seq?: string };
    return parse(messageParamSchema, { peer: p.username, seq: p.seq });
  };
  app.get('/v1/messages/:username/changes', { onRequest: authed }, async (req) => {
    const { peer } = parse(historyParamSchema, { peer: (req.params as { username?: string }).username });
    const q = parse(changesQuerySchema, req.query);
    await perMinute(req, 'lookup', config.lookupRateLimit);
    return messages.changes(me(req).user.username, peer, q);
  });
  app.patch('/v1/messages/:username/:seq', { onRequest: authed, bodyLimit: httpBodyLimitFor(config.maxMessageLength) }, async (req) => {
    const { peer, seq } = messageRef(req);
    const body = parse(editBody, req.body);
    return messages.edit(me(req).user.username, { to: peer, seq, ...body });
  });
  app.delete('/v1/messages/:username/:seq', { onRequest: authed }, async (req) => {
    const { peer, seq } = messageRef(req);
    return messages.delete(me(req).user.username, { to: peer, seq });
  });
  app.post('/v1/messages/:username/:seq/reactions', { onRequest: authed }, async (req) => {
    const { peer, seq } = messageRef(req);
    const body = parse(reactBodySchema, req.body);
    return messages.react(me(req).user.username, { to: peer, seq, ...body });
  });
  app.get('/v1/messages/:username/:seq/edits', { onRequest: authed }, async (req) => {
    const { peer, seq } = messageRef(req);
    await perMinute(req, 'lookup', config.lookupRateLimit);
    return messages.edits(me(req).user.username, peer, seq);
  });

}
