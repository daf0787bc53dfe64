/**
 * The ports: what the daemon's services need of a deployment, as small interfaces (the model is
 * Centrifuge's Broker and PresenceManager). Read this first:
 *
 *   front doors (http/, gateway/)  ->  services/  ->  ports/  <-  deployments/{embedded,scaleout}/
 *
 * - A front door parses a request and calls a service; it never sees a port or an engine.
 * - A service holds the rules (who may do what, limits, fan-out) and talks to ports only.
 * - A deployment fills every port from one folder: `embedded` with SQLite and this process's
 *   memory, `scaleout` with MongoDB, Redis and Kafka. `deployments/index.ts` picks one from the
 *   configuration; nothing else asks which deployment it runs on.
 * - Each port has a contract suite in test/daemon/ports/ that both deployments pass.
 *
 * Ports: the message log (append, read, sync's reads), the broker (cross-node fan-out), presence,
 * limits (rate limits, failure counters, holds), accounts, friends, groups, receipts, files (their
 * metadata) and blobs (their bytes), the log's admin operations, and the search index.
 */
export type * from './accounts.js';
export type * from './files.js';
export { BlobError, uuidv7Time } from './files.js';
export type * from './broker.js';
export type * from './deployment.js';
export type * from './friends.js';
export type * from './groups.js';
export type * from './lifecycle.js';
export type * from './limits.js';
export type * from './log.js';
export type * from './operations.js';
export type * from './presence.js';
export type * from './receipts.js';
export type * from './search.js';
export * from './errors.js';
