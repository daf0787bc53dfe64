import type { Message } from '../../protocol/index.js';
import type { Lifecycle } from './lifecycle.js';

/** The fields of a message's state after its changes: the log computes them, a draft never has them. */
export type StateField = 'reply' | 'editedAt' | 'edits' | 'deleted' | 'reactions' | 'changedSeq';
/** A record (a message, or a change to one) before the log gives it a seq. */
export type MessageDraft = Omit<Message, 'seq' | StateField>;

/** A message's texts, the first one first; the last is the current one. */
export type EditVersions = { text: string; at: string }[];

/** What `append` made of a draft: the message as the log holds it, and whether it is new. */
export interface Appended {
  message: Message;
  /** False when the log already had this (from, clientMsgId): `message` is the original, and nothing is delivered again. */
  fresh: boolean;
}

/**
 * A seq range. Without cursors: the most recent `limit`. With beforeSeq: the `limit` just before it.
 * With afterSeq: the `limit` just after it. `messagesOnly` leaves change records out (what people
 * page through); without it every record is returned (what catch-up applies).
 */
export interface HistoryRange {
  limit: number;
  beforeSeq?: number;
  afterSeq?: number;
  messagesOnly?: boolean;
}

/** A direct conversation with messages: its two members, its last seq and when it last moved. */
export interface ConversationRecord {
  conversationId: string;
  members: [string, string];
  lastSeq: number;
  updatedAt: string;
}

/** Told after each batch the log commits (embedded) or produces (scale-out): its size and time. */
export type BatchObserver = (size: number, ms: number) => void;

/**
 * The message log: it owns each conversation's order. Every send, of every kind on either
 * deployment, goes through `append`; history and catch-up come from `read`.
 * Every implementation passes test/daemon/ports/log.contract.ts.
 */
export interface MessageLog extends Lifecycle {
  /**
   * Assigns the conversation's next seq (dense, increasing), dedupes by (from, clientMsgId) across
   * restarts and nodes, and resolves once the message is durable and readable through `read`.
   * Rejects with a ChatError: CHAT_ERR_SHUTTING_DOWN, CHAT_ERR_UNAVAILABLE, CHAT_ERR_STORAGE_FULL.
   */
  append(draft: MessageDraft): Promise<Appended>;
  /** The message a (from, clientMsgId) was accepted as, if any. */
  lookup(from: string, clientMsgId: string): Promise<Message | null>;
  /**
   * A seq range of a conversation, oldest first (see HistoryRange), each message as it now is (its
   * changes applied: changes.ts). A change record's target always has a lower seq than the record,
   * and the log applies each change in the append's durable step.
   */
  read(conversationId: string, range: HistoryRange): Promise<Message[]>;
  /** The records with these seqs, as they now are; missing ones are left out. */
  get(conversationId: string, seqs: number[]): Promise<Message[]>;
  /**
   * The record with this seq as it now is, when the log holds it in memory and knows it is exact
   * (undefined otherwise: ask `get`). Lets a change be checked without a promise.
   */
  recent?(conversationId: string, seq: number): Message | undefined;
  /** The messages whose state changed after `sinceSeq` (changedSeq > sinceSeq), oldest change first. */
  changed(conversationId: string, sinceSeq: number, limit: number): Promise<Message[]>;
  /** How many messages (not change records) come after `afterSeq`, counting at most `cap`: what is unread. */
  countMessages(conversationId: string, afterSeq: number, cap: number): Promise<number>;
  /** How many messages after `afterSeq` mention `username` now (edits count; deleted ones do not), at most `cap`. */
  countMentions(conversationId: string, afterSeq: number, username: string, cap: number): Promise<number>;
  /** A message's edit history, or null when it has none kept (never edited, deleted or missing). */
  edits(conversationId: string, seq: number): Promise<EditVersions | null>;
  /** A user's direct conversations with messages, most recent first, with their last seq. */
  conversations(username: string): Promise<ConversationRecord[]>;
  /** Resolves when everything appended so far is durable (at shutdown). */
  flush(): Promise<void>;
  /** Calls `fn` after each batch with its size and duration. */
  observeBatches(fn: BatchObserver): void;
}
