import { Server } from 'socket.io';
import { createAdapter } from '@socket.io/redis-adapter';
import type { Redis } from 'ioredis';
import type { AddressInfo } from 'node:net';
import fs from 'node:fs';
import { securePrivateDir } from './files.js';
import type { Logger } from 'pino';
import client from 'prom-client';
import { makeSendSchema, socketBufferSizeFor, wellFormedSend, type SendInput } from '../protocol/index.js';
import type { Config } from './config.js';
import { createEngines, lifecycleOf, type Engines } from './engines/index.js';
import { attachGateway, type ChatServer } from './gateway.js';
import { backendHealth, buildHttp } from './http.js';
import { AdminService } from './services/admin.js';
import { parse } from './validation.js';
import { createLogger } from './logger.js';
import { TypingService } from './services/typing.js';
import { FairWebSocketServer } from './ws-engine.js';
import { AiService } from './services/ai.js';
import { AuthService } from './services/auth.js';
import { FriendService } from './services/friends.js';
import { GroupService } from './services/groups.js';
import { MessageService } from './services/messages.js';
import { VERSION } from '../client/version.js';
import type { FastifyInstance } from 'fastify';

export interface Daemon {
  readonly config: Config;
  readonly engines: Engines;
  readonly io: ChatServer;
  readonly auth: AuthService;
  readonly messages: MessageService;
  /** The REST side (its routeList is every registered route). */
  readonly http: FastifyInstance;
  /** Starts engines and listens; resolves with the bound address. */
  start(): Promise<{ host: string; port: number; url: string }>;
  /** Stops accepting, flushes pending writes, closes engines in reverse order. Idempotent. */
  close(): Promise<void>;
}

export interface DaemonOptions {
  log?: Logger;
  engines?: Engines;
}

function bounded<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<T>((_, reject) => { t = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms); })]).finally(() => clearTimeout(t));
}

/** The composition root: builds everything, listens only in start(). */
export function createDaemon(config: Config, opts: DaemonOptions = {}): Daemon {
  const log = opts.log ?? createLogger(config.logLevel);
  const engines = opts.engines ?? createEngines(config, log);
  const metrics = new client.Registry();
  client.collectDefaultMetrics({ register: metrics });
  new client.Gauge({ name: 'chatd_build_info', help: 'Always 1: the chatd version, the Node version and the engines in use', labelNames: ['version', 'node', 'store', 'log', 'cache'], registers: [metrics] })
    .set({ version: VERSION, node: process.version, store: engines.store.kind, log: engines.log.kind, cache: engines.cache.kind }, 1);
  if (engines.log.kind === 'scaleout') {
    // The scale-out pipeline's backlog, read on each scrape (what `chat admin status` shows).
    const ops = engines.ops;
    new client.Gauge({
      name: 'chatd_pipeline_backlog', help: 'Scale-out backlog: consumer_lag (Kafka records not yet stored), failed_publishes (acknowledged while Kafka was down), dead_letters (pending replay)', labelNames: ['kind'], registers: [metrics],
      async collect() {
        const st = await ops.status().catch(() => null);
        if (!st) return;
        if (st.consumerLag !== null) this.set({ kind: 'consumer_lag' }, st.consumerLag);
        if (st.failedStore !== null) this.set({ kind: 'failed_publishes' }, st.failedStore);
        if (st.dlq) this.set({ kind: 'dead_letters' }, st.dlq.pending);
      },
    });
  }
  // Group commit (embedded) or produce (Kafka): how many messages go together and how long it takes.
  const groupSize = new client.Histogram({ name: 'chatd_pipeline_group_size', help: 'Messages per group commit or produce request', buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000], registers: [metrics] });
  const groupTime = new client.Histogram({ name: 'chatd_pipeline_group_seconds', help: 'Time to commit or produce one group', buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 1, 5], registers: [metrics] });
  engines.log.observe((size, ms) => { groupSize.observe(size); groupTime.observe(ms / 1000); });
  if (engines.observeCheckpoints) {
    // The embedded store's checkpoints (on their own thread): how long each takes and how long the WAL was.
    const checkpointTime = new client.Histogram({ name: 'chatd_sqlite_checkpoint_seconds', help: 'Time to copy the WAL into the database file, per checkpoint', buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5], registers: [metrics] });
    const walPages = new client.Gauge({ name: 'chatd_sqlite_wal_pages', help: 'WAL length in pages at the last checkpoint', registers: [metrics] });
    engines.observeCheckpoints((c) => {
      if ('error' in c) return log.warn({ err: c.error }, 'SQLite checkpoint failed');
      checkpointTime.observe(c.ms / 1000);
      walPages.set(c.walPages);
    });
  }
  const sendSchema = makeSendSchema(config.maxMessageLength);
  // Well-formed payloads skip building zod's result (the busiest event); the schema decides the rest.
  const parseSend = (value: unknown): SendInput => wellFormedSend(value, config.maxMessageLength) ?? parse(sendSchema, value);
  const auth = new AuthService(engines.store, engines.cache, config);
  const friends = new FriendService(engines.store, engines.cache);
  const messages = new MessageService(engines.store, engines.cache, engines.log, friends, config, Date.now, (err) => log.warn({ err }, 'could not store read markers; retrying'));
  const groups = new GroupService(engines.store, engines.cache, messages, friends, config);
  messages.setGroups(groups);
  const typing = new TypingService(engines.cache, friends, groups, config);
  const ai = new AiService(messages, engines.cache, config, log.child({ component: 'ai' }));
  let closing = false;
  const admin = new AdminService(engines.store, auth, engines.ops, { store: engines.store.kind, log: engines.log.kind, cache: engines.cache.kind }, () => backendHealth(engines));
  const app = buildHttp({ config, log, engines, auth, friends, groups, messages, admin, parseSend, metrics, isClosing: () => closing });
  const io: ChatServer = new Server(app.server, {
    maxHttpBufferSize: socketBufferSizeFor(config.maxMessageLength),
    serveClient: false,
    perMessageDeflate: false,
    wsEngine: FairWebSocketServer,
    connectionStateRecovery: undefined,
    // A connection that has not authenticated by then is closed (the default is 45 s).
    connectTimeout: config.handshakeTimeoutMs,
  });
  let adapterClients: Redis[] = [];
  const gateway = attachGateway(io, {
    log: log.child({ component: 'gateway' }), cache: engines.cache, auth, friends, groups, messages, typing, parseSend, metrics, isClosing: () => closing,
    trustProxy: config.trustProxy, allowedOrigins: config.allowedOrigins, maxSocketsPerUser: config.maxSocketsPerUser, maxPendingConnections: config.maxPendingConnections,
    cluster: () => adapterClients.length > 0,
  });

  const lifecycle = lifecycleOf(engines);
  let started = false;
  let closed: Promise<void> | undefined;

  return {
    config, engines, io, auth, messages, http: app,
    async start() {
      started = true;
      if (config.store === 'sqlite' || fs.existsSync(config.dataDir)) securePrivateDir(config.dataDir, (msg, detail) => log.warn(detail, msg));
      for (const r of lifecycle) await r.start();
      if (engines.redis) {
        // Cross-node fan-out: rooms, broadcasts and disconnects reach sockets on every node.
        // The publisher auto-pipelines: the fan-outs of one event-loop turn leave in one write
        // (one syscall per message before). The subscriber cannot (it is in subscribe mode).
        const pub = engines.redis.duplicate({ connectionName: 'chatd-adapter-pub', enableAutoPipelining: true });
        const sub = engines.redis.duplicate({ connectionName: 'chatd-adapter-sub', enableAutoPipelining: false });
        adapterClients = [pub, sub];
        for (const c of adapterClients) c.on('error', (err: Error) => log.warn({ err: err.message }, 'redis adapter connection error'));
        await Promise.all([pub.connect(), sub.connect()]);
        io.adapter(createAdapter(pub, sub, { key: `${config.redisPrefix}socket.io` }));
      }
      gateway.start();
      await app.listen({ host: config.host, port: config.port });
      const addr = app.server.address() as AddressInfo;
      const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
      const url = `http://${host}:${addr.port}`;
      log.info({ url, store: engines.store.kind, log: engines.log.kind, cache: engines.cache.kind, ai: ai.configured ? config.geminiModel : 'not configured' }, `chatd listening on ${url}`);
      return { host: addr.address, port: addr.port, url };
    },
    close() {
      closed ??= (async () => {
        // New sends are refused with CHAT_ERR_SHUTTING_DOWN (clients retry them elsewhere or later);
        // what was accepted is committed and acknowledged before the sockets go.
        closing = true;
        await ai.close(2_000);
        if (started) await bounded(engines.log.flush(), 15_000, 'message log flush').catch((err) => log.error({ err }, 'flush failed'));
        if (started) await bounded(messages.flushReceipts(), 5_000, 'read markers flush').catch((err) => log.error({ err }, 'read markers flush failed'));
        await new Promise((r) => setTimeout(r, 50));
        gateway.stop();
        typing.close();
        io.local.disconnectSockets(true);
        await new Promise<void>((r) => io.close(() => r()));
        await app.close();
        if (started) {
          // A dead engine must not hold shutdown hostage: each close gets 10 s.
          for (const r of [...lifecycle].reverse()) await bounded(r.close(), 10_000, `${r.constructor.name} close`).catch((err) => log.error({ err }, 'close failed'));
        }
        for (const c of adapterClients) await c.quit().catch(() => c.disconnect());
        log.info('chatd stopped');
      })();
      return closed;
    },
  };
}
