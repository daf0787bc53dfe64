import type { Registry } from 'prom-client';
import type { AccountStore } from './accounts.js';
import type { Broker } from './broker.js';
import type { BlobStore, FileStore } from './files.js';
import type { FriendStore } from './friends.js';
import type { GroupStore } from './groups.js';
import type { BackendHealth, Lifecycle } from './lifecycle.js';
import type { Limits } from './limits.js';
import type { MessageLog } from './log.js';
import type { Operations } from './operations.js';
import type { Presence } from './presence.js';
import type { ReceiptStore } from './receipts.js';
import type { SearchIndex } from './search.js';

export type DeploymentName = 'embedded' | 'scaleout';

/**
 * One deployment: every port filled by one folder's `create(config, log)`
 * (src/daemon/deployments/embedded or scaleout). The daemon composes services on these ports and
 * knows nothing else of the engines behind them.
 */
export interface Deployment {
  readonly name: DeploymentName;
  /** The engines behind the ports, by role (the build_info metric, admin status). */
  readonly engines: { store: string; log: string; cache: string };
  readonly accounts: AccountStore;
  readonly friends: FriendStore;
  readonly groups: GroupStore;
  readonly receipts: ReceiptStore;
  /** Files' metadata. */
  readonly files: FileStore;
  /** Files' bytes. */
  readonly blobs: BlobStore;
  readonly log: MessageLog;
  readonly presence: Presence;
  readonly limits: Limits;
  readonly broker: Broker;
  readonly operations: Operations;
  /** Full-text search; null where there is none (CHAT_SEARCH_INDEX=off; scale-out without OPENSEARCH_URL). */
  readonly search: SearchIndex | null;
  /** Registers what only this deployment can measure (WAL checkpoints, the pipeline's backlog). */
  registerMetrics(registry: Registry): void;
  /** Starts every engine in order. */
  start(): Promise<void>;
  /** Closes every engine in reverse order, each bounded in time (the log is flushed before). */
  close(): Promise<void>;
  /** Each backend's health by role; a failing probe reads as not ok. */
  health(): Promise<Record<string, BackendHealth>>;
  /** The engines `chatd check` starts and probes one by one, by role in start order (no consumer that would join a live group). */
  parts(): [role: string, part: Lifecycle][];
}
