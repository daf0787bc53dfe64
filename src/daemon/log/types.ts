import type { Message } from '../../protocol/index.js';
import type { ConversationRecord, GroupObserver, HistoryRange, Lifecycle, MessageDraft } from '../engines/types.js';

/** What `append` made of a draft: the message as the log holds it, and whether it is new. */
export interface Appended {
  message: Message;
  /** False when the log already had this (from, clientMsgId): `message` is the original, and nothing is delivered again. */
  fresh: boolean;
}

/**
 * The message log: it owns each conversation's order. Every send, of every kind and on every
 * engine, goes through `append`; history and catch-up come from `read`.
 * - EmbeddedLog: SQLite group commit on the writer thread.
 * - ScaleOutLog: seq, dedupe and the recent buffer in Redis, Kafka as the durable log (with the
 *   failed-publish store behind it), MongoDB written by the persister; reads merge the recent
 *   buffer with MongoDB.
 * Every implementation passes test/daemon/log/log.contract.ts.
 */
export interface MessageLog extends Lifecycle {
  readonly kind: 'embedded' | 'scaleout';
  /**
   * Assigns the conversation's next seq (dense, increasing), dedupes by (from, clientMsgId) across
   * restarts and nodes, and resolves once the message is durable and readable through `read`.
   * Rejects with a ChatError: CHAT_ERR_SHUTTING_DOWN, CHAT_ERR_UNAVAILABLE, CHAT_ERR_STORAGE_FULL.
   */
  append(draft: MessageDraft): Promise<Appended>;
  /** The message a (from, clientMsgId) was accepted as, if any. */
  lookup(from: string, clientMsgId: string): Promise<Message | null>;
  /** A seq range of a conversation, oldest first (see HistoryRange). */
  read(conversationId: string, range: HistoryRange): Promise<Message[]>;
  /** A user's conversations with messages, most recent first, with their last seq. */
  conversations(username: string): Promise<ConversationRecord[]>;
  /** Resolves when everything appended so far is durable (at shutdown). */
  flush(): Promise<void>;
  /** Calls `fn` after each group (commit or produce) with its size and duration. */
  observe(fn: GroupObserver): void;
}
