import type { AdminStatus, DeadLetter, FailedPublish, ReplayResult } from '../../protocol/index.js';

/**
 * Admin operations on the message log's durable path. Failed publishes and dead letters exist
 * only where the log has a pipeline behind it (scale-out); elsewhere these answer
 * CHAT_ERR_NOT_CONFIGURED, and `status` reports nulls.
 */
export interface Operations {
  failedList(): Promise<FailedPublish[]>;
  failedReplay(ids?: string[]): Promise<ReplayResult>;
  failedPurge(ids?: string[]): Promise<{ purged: string[] }>;
  dlqList(): Promise<DeadLetter[]>;
  dlqReplay(ids?: string[]): Promise<ReplayResult>;
  status(): Promise<Omit<AdminStatus, 'node' | 'backends'>>;
  /** Rebuilds the search index from the stored messages (scale-out with OpenSearch). */
  searchReindex(): Promise<{ indexed: number }>;
}
