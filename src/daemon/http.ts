import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from "fastify";
import type { Logger } from 'pino';
import client from 'prom-client';
import {
  ChatError, ROUTES, httpBodyLimitFor, maxAdminIdsBytes, maxOtherBodyBytes,
  changePasswordSchema, historyQuerySchema, idParamSchema, loginSchema, logoutSchema, refreshSchema, registerSchema, resetPasswordSchema, tokenCreateSchema, usernameParamSchema,
  adminIdsSchema, groupAddSchema, groupCreateSchema, groupMemberParamSchema, groupParamSchema, groupRoleSchema, groupUpdateSchema, historyParamSchema,
  type AdminStatus, type HealthReport,
} from '../protocol/index.js';
import type { Config } from './config.js';
import { classify, rateLimited } from './errors.js';
import { requestIdFrom } from './request-id.js';
import { SECURITY_HEADERS, originAllowed, parse, reachedHost, tokenInQuery } from './validation.js';
import type { Engines } from './engines/index.js';
import { publicUser, type AuthService, type Principal } from './services/auth.js';
import type { FriendService } from './services/friends.js';
import type { GroupService } from './services/groups.js';
import type { MessageService } from './services/messages.js';
import type { AdminService } from './services/admin.js';
import { eventsJsonSchema, openApiDocument, type SendInput } from '../protocol/index.js';
import { VERSION } from '../client/version.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route registered, HEAD aside: the test holding the OpenAPI document to the server reads it. */
    routeList: { method: string; url: string }[];
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

export interface HttpDeps {
  config: Config;
  log: Logger;
  engines: Engines;
  auth: AuthService;
  friends: FriendService;
  groups: GroupService;
  messages: MessageService;
  admin: AdminService;
  /** Validates a message:send payload (the schema, with its fast path). */
  parseSend: (value: unknown) => SendInput;
  metrics: client.Registry;
  isClosing: () => boolean;
}

/** The request failed because its client closed the connection (a body aborted mid-way). */
function clientWentAway(err: unknown, req: FastifyRequest): boolean {
  const code = (err as { code?: unknown }).code;
  return code === 'ECONNRESET' || code === 'ECONNABORTED' || code === 'ERR_STREAM_PREMATURE_CLOSE' || req.raw.errored !== null || (req.raw.aborted && !req.raw.complete);
}

/** Each engine's health; a failing probe reads as not ok. */
export async function backendHealth(engines: Engines): Promise<HealthReport['backends']> {
  const list = { store: engines.store, cache: engines.cache, log: engines.log, ...(engines.persister ? { persister: engines.persister } : {}) };
  const out: HealthReport['backends'] = {};
  for (const [name, engine] of Object.entries(list)) out[name] = await engine.health().catch((err: Error) => ({ ok: false, kind: name, detail: err.message }));
  return out;
}

export function buildHttp(deps: HttpDeps): FastifyInstance {
  const { config, log, auth, friends, groups, messages, engines } = deps;
  const app = Fastify({
    loggerInstance: log.child({ component: "http" }) as unknown as FastifyBaseLogger,
    // Our own onResponse hook logs the route pattern only; fastify's default would log full URLs.
    logController: new LogController({ disableRequestLogging: true }),
    // Each route reads at most what its schema can need: a message route raises it for itself.
    bodyLimit: maxOtherBodyBytes(),
    trustProxy: config.trustProxy,
    return503OnClosing: true,
    // x-request-id: the caller's when it is a plain token (so it cannot forge log lines), else a
    // fresh UUID; returned on every answer and in the request's log line.
    requestIdHeader: false,
    genReqId: (req) => requestIdFrom(req.headers['x-request-id']),
  });

  const httpRequests = new client.Counter({ name: 'chatd_http_requests_total', help: 'HTTP requests', labelNames: ['route', 'status'], registers: [deps.metrics] });
  // Prometheus-conventional labels: the route pattern (never the URL), the method and the status code.
  const httpDuration = new client.Histogram({ name: 'chatd_http_request_duration_seconds', help: 'HTTP request duration', labelNames: ['method', 'route', 'code'], buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: [deps.metrics] });

  const routeList: { method: string; url: string }[] = [];
  app.decorate('routeList', routeList);
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat()) if (method !== 'HEAD') routeList.push({ method, url: r.url });
  });

  app.addHook('onRequest', async (req) => {
    if (tokenInQuery(req.query)) throw new ChatError('CHAT_ERR_TOKEN_IN_QUERY');
    // Browsers send Origin on cross-site requests: only listed origins (and the server's own) may
    // call the API. CLIs send none, and stay welcome.
    if (!originAllowed(config.allowedOrigins, req.headers.origin, reachedHost(req.headers, config.trustProxy))) throw new ChatError('CHAT_ERR_ORIGIN_NOT_ALLOWED');
  });

  // Every answer is JSON for programs: never framed, sniffed, cached or given a referrer.
  app.addHook('onSend', async (req, reply, payload) => {
    void reply.headers(SECURITY_HEADERS);
    void reply.header('x-request-id', req.id);
    return payload;
  });

  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unknown';
    httpRequests.inc({ route, status: reply.statusCode });
    httpDuration.observe({ method: req.method, route, code: reply.statusCode }, reply.elapsedTime / 1000);
    // One line per request at the default level. Route pattern only: URLs never carry secrets, but
    // usernames in paths need not be logged either; the user is their id.
    req.log.info({ method: req.method, route, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10, userId: req.principal?.user.id }, 'request');
  });

  app.setErrorHandler((err, req, reply) => {
    let ce: ChatError;
    const fe = err as { code?: string; statusCode?: number; message: string };
    if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') ce = new ChatError('CHAT_ERR_PAYLOAD_TOO_LARGE');
    else if (typeof fe.code === 'string' && fe.code.startsWith('FST_') && (fe.statusCode ?? 500) < 500) ce = new ChatError('CHAT_ERR_VALIDATION', fe.message);
    else if (clientWentAway(err, req)) {
      // A client that closed its connection mid-request is not a server error: no stack, debug only,
      // so nobody can write error lines at will.
      req.log.debug({ code: fe.code, route: req.routeOptions.url }, 'client closed the request before it was read');
      ce = new ChatError('CHAT_ERR_VALIDATION', 'The request was aborted');
    } else ce = classify(err);
    if (ce.code === 'CHAT_ERR_INTERNAL') req.log.error({ err }, 'request failed');
    if (ce.retryAfterMs !== undefined) reply.header('retry-after', String(Math.ceil(ce.retryAfterMs / 1000)));
    void reply.status(ce.status).send({ error: ce.toBody() });
  });

  app.setNotFoundHandler((_req, reply) => {
    void reply.status(404).send({ error: new ChatError('CHAT_ERR_NOT_FOUND', 'No such route').toBody() });
  });

  const ipOf = (req: FastifyRequest) => req.ip || 'unknown';
  const bearer = (req: FastifyRequest) => {
    const h = req.headers.authorization;
    if (!h) return undefined;
    const m = /^Bearer\s+(\S+)$/i.exec(h);
    if (!m) throw new ChatError('CHAT_ERR_TOKEN_INVALID', 'Authorization must be "Bearer <token>"');
    return m[1];
  };
  /**
   * Every authenticated route is authenticated before its body is read (onRequest), then spends
   * from the caller's request budget: CHAT_REQUEST_RATE_LIMIT per user per minute and ten times
   * that per address, whatever the route; a route's own limit comes on top.
   */
  const authed = async (req: FastifyRequest) => {
    req.principal = await auth.authenticate(bearer(req));
    await perMinute(req, 'req', config.requestRateLimit);
  };
  const admin = async (req: FastifyRequest) => {
    await authed(req);
    if (!req.principal!.user.admin) throw new ChatError('CHAT_ERR_ADMIN_REQUIRED');
  };
  const me = (req: FastifyRequest) => req.principal!;
  /** A per-minute limit on a user and, ten times higher, on their address. */
  const perMinute = async (req: FastifyRequest, what: string, limit: number) => {
    for (const [key, n] of [[`${what}:u:${me(req).user.id}`, limit], [`${what}:ip:${ipOf(req)}`, limit * 10]] as const) {
      const r = await engines.cache.rateLimit(key, n, 60_000);
      if (!r.allowed) throw rateLimited(r);
    }
  };

  app.get(ROUTES.healthz, async () => ({ status: 'ok' }));
  // The protocol for third-party clients, generated once from the schemas requests are parsed with.
  const openapi = JSON.stringify(openApiDocument(VERSION, { maxMessageLength: config.maxMessageLength }));
  const eventsSchema = JSON.stringify(eventsJsonSchema(VERSION, { maxMessageLength: config.maxMessageLength }));
  app.get(ROUTES.openapi, async (_req, reply) => reply.type('application/json').send(openapi));
  app.get(ROUTES.eventsSchema, async (_req, reply) => reply.type('application/schema+json').send(eventsSchema));
  app.get(ROUTES.readyz, async (_req, reply) => {
    const full = await backendHealth(engines);
    const ok = !deps.isClosing() && Object.values(full).every((b) => b.ok);
    // Unauthenticated: each engine's kind and state, no details (paths, hosts, driver messages).
    const backends = Object.fromEntries(Object.entries(full).map(([k, b]) => [k, { ok: b.ok, kind: b.kind }]));
    const report: HealthReport = { status: ok ? 'ok' : 'degraded', backends };
    return reply.status(ok ? 200 : 503).send(report);
  });
  app.get(ROUTES.metrics, async (_req, reply) => {
    return reply.header('content-type', deps.metrics.contentType).send(await deps.metrics.metrics());
  });

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
  app.get(ROUTES.me, { onRequest: authed }, async (req) => publicUser(me(req).user));
  app.post(ROUTES.password, { onRequest: authed }, async (req) => {
    const body = parse(changePasswordSchema, req.body);
    return auth.changePassword(me(req), ipOf(req), body.currentPassword, body.newPassword, body.keepTokens);
  });

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
  app.post(ROUTES.messages, { onRequest: authed, bodyLimit: httpBodyLimitFor(config.maxMessageLength) }, async (req, reply) => reply.status(201).send(await messages.send(me(req).user.username, deps.parseSend(req.body))));
  app.get('/v1/messages/:username', { onRequest: authed }, async (req) => {
    const { peer } = parse(historyParamSchema, { peer: (req.params as { username?: string }).username });
    const q = parse(historyQuerySchema, req.query);
    await perMinute(req, 'lookup', config.lookupRateLimit);
    return messages.history(me(req).user.username, peer, q);
  });

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

  app.post(ROUTES.tokens, { onRequest: authed }, async (req, reply) => {
    const body = parse(tokenCreateSchema, req.body);
    return reply.status(201).send(await auth.createApiToken(me(req), ipOf(req), body.name, body.password));
  });
  app.get(ROUTES.tokens, { onRequest: authed }, async (req) => auth.listApiTokens(me(req)));
  app.delete('/v1/tokens/:id', { onRequest: authed }, async (req, reply) => {
    await auth.revokeApiToken(me(req), parse(idParamSchema, req.params).id);
    return reply.status(204).send();
  });

  app.get(ROUTES.adminUsers, { onRequest: admin }, async () => deps.admin.users());
  app.post('/v1/admin/users/:username/:action', { onRequest: admin }, async (req) => {
    const { username } = parse(usernameParamSchema, { username: (req.params as { username?: string }).username });
    return deps.admin.act(me(req).user.id, username, (req.params as { action: string }).action, () => parse(resetPasswordSchema, req.body).password);
  });
  app.get(ROUTES.adminStatus, { onRequest: admin }, async (): Promise<AdminStatus> => deps.admin.status());
  const ids = (req: FastifyRequest) => {
    const body = parse(adminIdsSchema, req.body);
    if (!body.all && !body.ids?.length) throw new ChatError('CHAT_ERR_VALIDATION', 'give ids or all: true');
    return body.all ? 'all' as const : body.ids!;
  };
  app.get(ROUTES.adminFailed, { onRequest: admin }, async () => deps.admin.failed());
  app.post(ROUTES.adminFailedReplay, { onRequest: admin, bodyLimit: maxAdminIdsBytes() }, async (req) => deps.admin.failedReplay(ids(req)));
  app.post(ROUTES.adminFailedPurge, { onRequest: admin, bodyLimit: maxAdminIdsBytes() }, async (req) => deps.admin.failedPurge(ids(req)));
  app.get(ROUTES.adminDlq, { onRequest: admin }, async () => deps.admin.deadLetters());
  app.post(ROUTES.adminDlqReplay, { onRequest: admin, bodyLimit: maxAdminIdsBytes() }, async (req) => {
    const body = parse(adminIdsSchema, req.body);
    return deps.admin.deadLetterReplay(body.ids?.length ? body.ids : 'all');
  });

  return app;
}
