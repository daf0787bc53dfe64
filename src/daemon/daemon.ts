import { Server } from 'socket.io';
import { Decoder } from 'socket.io-parser';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import http from 'node:http';
import client from 'prom-client';
import { sendMetrics } from './services/send-metrics.js';
import { makeSendSchema, socketBufferSizeFor, wellFormedSend, type SendInput } from '../protocol/index.js';
import type { Config } from './config.js';
import { createDeployment } from './deployments/index.js';
import { bounded } from './deployments/parts.js';
import type { Deployment } from './ports/index.js';
import { attachGateway, type ChatServer } from './gateway/index.js';
import { JsonEncoder } from './gateway/json-encoder.js';
import { buildHttp } from './http/index.js';
import { SearchService } from './services/search.js';
import { FileService } from './services/files.js';
import { AdminService } from './services/admin.js';
import { parse } from './validation.js';
import { createLogger } from './logger.js';
import { TypingService } from './services/typing.js';
import { FairWebSocketServer, flushesPerTick, oneWritePerFlushOf } from './ws-engine.js';
import { AiService } from './services/ai.js';
import { AuthService } from './services/auth.js';
import { FanoutService } from './services/fanout.js';
import { FriendService } from './services/friends.js';
import { GroupService } from './services/groups.js';
import { MessageService } from './services/messages.js';
import { PresenceService } from './services/presence.js';
import { RequestBudget } from './services/requests.js';
import { VERSION } from '../shared/version.js';
import type { FastifyInstance } from 'fastify';

export interface Daemon {
  readonly config: Config;
  readonly deployment: Deployment;
  readonly io: ChatServer;
  readonly auth: AuthService;
  readonly messages: MessageService;
  /** The REST side (its routeList is every registered route). */
  readonly http: FastifyInstance;
  /** Starts the deployment and listens; resolves with the bound address. */
  start(): Promise<{ host: string; port: number; url: string; metricsUrl?: string }>;
  /** Stops accepting, flushes pending writes, closes the deployment. Idempotent. */
  close(): Promise<void>;
}

export interface DaemonOptions {
  log?: Logger;
  deployment?: Deployment;
}

/** The composition root: builds everything, listens only in start(). */
export function createDaemon(config: Config, opts: DaemonOptions = {}): Daemon {
  const log = opts.log ?? createLogger(config.logLevel);
  const deployment = opts.deployment ?? createDeployment(config, log);
  const { engines } = deployment;
  const metrics = new client.Registry();
  client.collectDefaultMetrics({ register: metrics });
  // prom-client's gauges named *_total break the exposition format's rule (a _total suffix is a
  // counter's; `promtool check metrics` refuses them); their values are the *_handles and
  // *_requests gauges' without the suffix, which stay.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) metrics.removeSingleMetric(name);
  const sends = sendMetrics(metrics);
  new client.Gauge({ name: 'chatd_build_info', help: 'Always 1: the chatd version, the Node version and the engines in use', labelNames: ['version', 'node', 'store', 'log', 'cache'], registers: [metrics] })
    .set({ version: VERSION, node: process.version, ...engines }, 1);
  deployment.registerMetrics(metrics);
  // Batched commits (embedded) or produces (scale-out): how many messages go together and how long it takes.
  const batchSize = new client.Histogram({ name: 'chatd_pipeline_batch_size', help: 'Messages per batch the message log commits or produces', buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000], registers: [metrics] });
  const batchTime = new client.Histogram({ name: 'chatd_pipeline_batch_seconds', help: 'Time to commit or produce one batch', buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 1, 5], registers: [metrics] });
  deployment.log.observeBatches((size, ms) => { batchSize.observe(size); batchTime.observe(ms / 1000); });
  const sendSchema = makeSendSchema(config.maxMessageLength);
  // Well-formed payloads skip building zod's result (the busiest event); the schema decides the rest.
  const parseSend = (value: unknown): SendInput => wellFormedSend(value, config.maxMessageLength) ?? parse(sendSchema, value);
  const d = deployment;
  const auth = new AuthService(d.accounts, d.limits, config);
  const friends = new FriendService(d.accounts, d.friends, d.presence);
  const messages = new MessageService(d.receipts, d.limits, d.log, friends, config, Date.now, (err) => log.warn({ err }, 'could not store read markers; retrying'));
  const groups = new GroupService(d.groups, d.limits, d.presence, messages, friends, config);
  messages.setGroups(groups);
  const files = new FileService(d.files, d.blobs, config, log.child({ component: 'files' }));
  files.setGroups(groups);
  messages.setAttachments(files);
  groups.onDeleted((conversationId) => files.conversationDeleted(conversationId));
  const typing = new TypingService(d.limits, friends, groups, config);
  const ai = new AiService(messages, d.limits, config, log.child({ component: 'ai' }));
  ai.setFiles(files);
  const fanout = new FanoutService(d.broker, { auth, friends, groups, messages, typing }, log.child({ component: 'fanout' }));
  let closing = false;
  const isClosing = () => closing;
  const presence = new PresenceService(d.presence, friends, fanout, { maxSocketsPerUser: config.maxSocketsPerUser, isClosing }, log.child({ component: 'presence' }));
  const admin = new AdminService(d.accounts, auth, d.operations, engines, () => d.health());
  const search = new SearchService(() => d.search, d.log, groups);
  const app = buildHttp({ config, log, budget: new RequestBudget(d.limits), auth, friends, groups, messages, admin, search, files, parseSend, metrics, sends, isClosing });
  const io: ChatServer = new Server(app.server, {
    maxHttpBufferSize: socketBufferSizeFor(config.maxMessageLength),
    serveClient: false,
    perMessageDeflate: false,
    wsEngine: FairWebSocketServer,
    // JSON only: no binary walk, and a message's JSON made once for its event and its ack.
    parser: { Encoder: JsonEncoder, Decoder },
    connectionStateRecovery: undefined,
    // A connection that has not authenticated by then is closed (the default is 45 s).
    connectTimeout: config.handshakeTimeoutMs,
  });
  // Each connection sends a tick's packets together, in one write (see ws-engine.ts).
  io.engine.on('connection', (conn) => {
    flushesPerTick(conn);
    oneWritePerFlushOf(conn);
  });
  const gateway = attachGateway(io, {
    log: log.child({ component: 'gateway' }), auth, messages, typing, presence, fanout, parseSend, maxMessageLength: config.maxMessageLength, metrics, sends, isClosing,
    trustProxy: config.trustProxy, allowedOrigins: config.allowedOrigins, maxPendingConnections: config.maxPendingConnections,
  });

  let started = false;
  let closed: Promise<void> | undefined;
  let metricsServer: http.Server | undefined;
  let metricsUrl: string | undefined;

  return {
    config, deployment, io, auth, messages, http: app,
    async start() {
      started = true;
      await deployment.start();
      files.start();
      // Cross-node fan-out: rooms, broadcasts and disconnects reach sockets on every node.
      await fanout.bind(io);
      gateway.start();
      await app.listen({ host: config.host, port: config.port });
      const addr = app.server.address() as AddressInfo;
      const url = urlOf(addr);
      if (config.metricsPort !== undefined) {
        metricsServer = await listenMetrics(metrics, config.metricsHost, config.metricsPort);
        metricsUrl = `${urlOf(metricsServer.address() as AddressInfo)}/metrics`;
      }
      log.info({ url, deployment: deployment.name, ...engines, ai: ai.configured ? config.geminiModel : 'not configured', ...(metricsUrl ? { metrics: metricsUrl } : {}) }, `chatd listening on ${url}`);
      return { host: addr.address, port: addr.port, url, ...(metricsUrl ? { metricsUrl } : {}) };
    },
    close() {
      closed ??= (async () => {
        // New sends are refused with CHAT_ERR_SHUTTING_DOWN (clients retry them elsewhere or later);
        // what was accepted is committed and acknowledged before the sockets go.
        closing = true;
        await ai.close(2_000);
        if (started) await bounded(deployment.log.flush(), 15_000, 'message log flush').catch((err) => log.error({ err }, 'flush failed'));
        if (started) await bounded(messages.flushReceipts(), 5_000, 'read markers flush').catch((err) => log.error({ err }, 'read markers flush failed'));
        await new Promise((r) => setTimeout(r, 50));
        gateway.stop();
        typing.close();
        io.local.disconnectSockets(true);
        await new Promise<void>((r) => io.close(() => r()));
        await app.close();
        if (metricsServer) await new Promise((r) => metricsServer!.close(r));
        await files.stop();
        if (started) await deployment.close();
        log.info('chatd stopped');
      })();
      return closed;
    },
  };
}

const urlOf = (addr: AddressInfo) => `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`;

/**
 * The metrics listener of its own (CHAT_METRICS_PORT), as Mattermost has: GET /metrics and nothing
 * else, so a scraper's port need not be the public one and the public one need not show metrics.
 */
function listenMetrics(registry: client.Registry, host: string, port: number): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: this listener serves GET /metrics\n');
      return;
    }
    registry.metrics().then((body) => {
      res.writeHead(200, { 'content-type': registry.contentType }).end(req.method === 'HEAD' ? undefined : body);
    }, () => res.writeHead(500).end());
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
