/**
 * The embedded deployment: one node, one SQLite file in the data dir, and this process's memory
 * for presence, limits and fan-out. Nothing to install: `chatd start` runs it.
 */
import path from 'node:path';
import type { Logger } from 'pino';
import client from 'prom-client';
import { ChatError } from '../../../protocol/index.js';
import type { Config } from '../../config.js';
import { securePrivateDir } from '../../files.js';
import type { Deployment, Operations } from '../../ports/index.js';
import { databasePorts, type Database } from '../archive.js';
import { Parts } from '../parts.js';
import { EmbeddedLog } from './embedded-log.js';
import { FileBlobs } from './file-blobs.js';
import { LocalBroker } from './local-broker.js';
import { MemoryCache } from './memory-cache.js';
import { sqliteDriver } from './sqlite-driver.js';
import { SqliteStore } from './sqlite-store.js';
import { SearchUpkeep } from './search-upkeep.js';

const notConfigured = () => { throw new ChatError('CHAT_ERR_NOT_CONFIGURED', 'Failed publishes and dead letters exist only with the scale-out log (KAFKA_BROKERS)'); };

/** The embedded log commits straight to SQLite: nothing fails over to a store, nothing dead-letters. */
const OPERATIONS: Operations = {
  failedList: notConfigured, failedReplay: notConfigured, failedPurge: notConfigured, dlqList: notConfigured, dlqReplay: notConfigured,
  // The embedded index is kept by chatd itself (CHAT_SEARCH_INDEX off, then on, rebuilds it).
  searchReindex: () => { throw new ChatError('CHAT_ERR_NOT_CONFIGURED', 'Reindexing is for the scale-out OpenSearch index; the embedded index is kept by chatd (CHAT_SEARCH_INDEX=off, then on, rebuilds it)'); },
  status: async () => ({ consumerLag: null, failedStore: null, dlq: null }),
};

/** The deployment, and (for tests that seed or count rows, never for the daemon) its database. */
export function create(config: Config, log: Logger): Deployment & { readonly database: Database } {
  const db = new SqliteStore(path.join(config.dataDir, 'chat.db'), { search: config.searchIndex === 'on', driver: sqliteDriver(config.sqliteDriver) });
  const cache = new MemoryCache();
  const messageLog = new EmbeddedLog(db, config.commitBatchMax, config.maxQueuedMessages);
  const blobs = new FileBlobs(path.join(config.dataDir, 'files'));
  const parts = new Parts({ store: db, cache, log: messageLog, files: blobs }, log);
  const broker = new LocalBroker();
  const upkeep = new SearchUpkeep(db, config.searchPurgeSeconds * 1000, log);
  return {
    name: 'embedded',
    database: db,
    engines: { store: 'sqlite', log: 'embedded', cache: 'memory' },
    ...databasePorts(db),
    log: messageLog,
    blobs,
    presence: cache,
    limits: cache,
    broker,
    operations: OPERATIONS,
    get search() { return db.search; },
    registerMetrics(registry) {
      // The store's WAL checkpoints (on their own thread): how long each takes and how long the WAL was.
      const checkpointTime = new client.Histogram({ name: 'chatd_sqlite_checkpoint_seconds', help: 'Time to copy the WAL into the database file, per checkpoint', buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5], registers: [registry] });
      const walPages = new client.Gauge({ name: 'chatd_sqlite_wal_pages', help: 'WAL length in pages at the last checkpoint', registers: [registry] });
      db.observeCheckpoints((c) => {
        if ('error' in c) return log.warn({ err: c.error }, 'SQLite checkpoint failed');
        checkpointTime.observe(c.ms / 1000);
        walPages.set(c.walPages);
      });
    },
    async start() {
      securePrivateDir(config.dataDir, (msg, detail) => log.warn(detail, msg));
      await parts.start();
      if (db.search) upkeep.start();
    },
    async close() {
      await upkeep.stop();
      await parts.close();
      await broker.close();
    },
    health: () => parts.health(),
    parts: () => parts.list(),
  };
}
