import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from "fastify";
import type { Logger } from 'pino';
import client from 'prom-client';
import type { SendMetrics } from '../services/send-metrics.js';
import { ChatError, ROUTES, maxOtherBodyBytes, type HealthReport } from '../../protocol/index.js';
import type { Config } from '../config.js';
import { classify } from '../errors.js';
import { requestIdFrom } from '../request-id.js';
import { SECURITY_HEADERS, originAllowed, reachedHost, tokenInQuery } from '../validation.js';
import type { AuthService, Principal } from '../services/auth.js';
import type { FriendService } from '../services/friends.js';
import type { GroupService } from '../services/groups.js';
import type { MessageService } from '../services/messages.js';
import type { AdminService } from '../services/admin.js';
import type { SearchService } from '../services/search.js';
import type { FileService } from '../services/files.js';
import { fileRoutes } from './files.js';
import type { RequestBudget } from '../services/requests.js';
import { accountRoutes } from './accounts.js';
import { adminRoutes } from './admin.js';
import { groupRoutes } from './groups.js';
import { conversationRoutes } from './conversations.js';
import { eventsJsonSchema, openApiDocument, type SendInput } from '../../protocol/index.js';
import { VERSION } from '../../shared/version.js';

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
  budget: RequestBudget;
  auth: AuthService;
  friends: FriendService;
  groups: GroupService;
  messages: MessageService;
  admin: AdminService;
  search: SearchService;
  files: FileService;
  /** Validates a message:send payload (the schema, with its fast path). */
  parseSend: (value: unknown) => SendInput;
  metrics: client.Registry;
  sends: SendMetrics;
  isClosing: () => boolean;
}

/** The request failed because its client closed the connection (a body aborted mid-way). */
function clientWentAway(err: unknown, req: FastifyRequest): boolean {
  const code = (err as { code?: unknown }).code;
  return code === 'ECONNRESET' || code === 'ECONNABORTED' || code === 'ERR_STREAM_PREMATURE_CLOSE' || req.raw.errored !== null || (req.raw.aborted && !req.raw.complete);
}

/** What every route module gets: the services, and the guards that authenticate and spend budgets. */
export interface RouteContext extends Pick<HttpDeps, 'config' | 'auth' | 'friends' | 'groups' | 'messages' | 'admin' | 'search' | 'files' | 'parseSend' | 'sends'> {
  /** onRequest guard: a valid credential, and one request of the caller's budget. */
  authed: (req: FastifyRequest) => Promise<void>;
  /** onRequest guard: authed, and an admin. */
  adminOnly: (req: FastifyRequest) => Promise<void>;
  me: (req: FastifyRequest) => Principal;
  ipOf: (req: FastifyRequest) => string;
  /** A per-minute limit on a user and, ten times higher, on their address. */
  perMinute: (req: FastifyRequest, what: string, limit: number) => Promise<void>;
}

export function buildHttp(deps: HttpDeps): FastifyInstance {
  const { config, log, auth } = deps;
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

  const httpRequests = new client.Counter({ name: 'chatd_http_requests_total', help: 'HTTP requests', labelNames: ['method', 'route', 'code'], registers: [deps.metrics] });
  // Both with the same Prometheus-conventional labels: the route pattern (never the URL), the method and the status code.
  const httpDuration = new client.Histogram({ name: 'chatd_http_request_duration_seconds', help: 'HTTP request duration', labelNames: ['method', 'route', 'code'], buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: [deps.metrics] });

  const routeList: { method: string; url: string }[] = [];
  app.decorate('routeList', routeList);
  app.addHook('onRoute', (r) => {
    // A HEAD fastify derives from a GET is not a route of its own; one declared (before its GET) is.
    for (const method of [r.method].flat()) if (method !== 'HEAD' || !routeList.some((x) => x.method === 'GET' && x.url === r.url)) routeList.push({ method, url: r.url });
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
    httpRequests.inc({ method: req.method, route, code: reply.statusCode });
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
    await deps.budget.spend(what, me(req).user.id, ipOf(req), limit);
  };

  app.get(ROUTES.healthz, async () => ({ status: 'ok' }));
  // The protocol for third-party clients, generated once from the schemas requests are parsed with.
  const openapi = JSON.stringify(openApiDocument(VERSION, { maxMessageLength: config.maxMessageLength }));
  const eventsSchema = JSON.stringify(eventsJsonSchema(VERSION, { maxMessageLength: config.maxMessageLength }));
  app.get(ROUTES.openapi, async (_req, reply) => reply.type('application/json').send(openapi));
  app.get(ROUTES.eventsSchema, async (_req, reply) => reply.type('application/schema+json').send(eventsSchema));
  app.get(ROUTES.readyz, async (_req, reply) => {
    const full = await deps.admin.health();
    const ok = !deps.isClosing() && Object.values(full).every((b) => b.ok);
    // Unauthenticated: each engine's kind and state, no details (paths, hosts, driver messages).
    const backends = Object.fromEntries(Object.entries(full).map(([k, b]) => [k, { ok: b.ok, kind: b.kind }]));
    const report: HealthReport = { status: ok ? 'ok' : 'degraded', backends };
    return reply.status(ok ? 200 : 503).send(report);
  });
  // With a metrics listener of its own (CHAT_METRICS_PORT), the public port has no /metrics.
  if (config.metricsPort === undefined) {
    app.get(ROUTES.metrics, async (_req, reply) => {
      return reply.header('content-type', deps.metrics.contentType).send(await deps.metrics.metrics());
    });
  }

  const ctx: RouteContext = { config, auth, friends: deps.friends, groups: deps.groups, messages: deps.messages, admin: deps.admin, search: deps.search, files: deps.files, parseSend: deps.parseSend, sends: deps.sends, authed, adminOnly: admin, me, ipOf, perMinute };
  accountRoutes(app, ctx);
  conversationRoutes(app, ctx);
  groupRoutes(app, ctx);
  adminRoutes(app, ctx);
  fileRoutes(app, ctx);
  return app;
}
