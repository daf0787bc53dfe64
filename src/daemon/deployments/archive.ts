import type { Message } from '../../protocol/index.js';
import type { Kept } from './records.js';
import type { AccountStore, ConversationRecord, FileStore, FriendStore, GroupStore, HistoryRange, Lifecycle, ReceiptStore } from '../ports/index.js';

/**
 * Where a deployment's message log keeps messages for good: the SQLite file (embedded) or the
 * MongoDB collection the persister writes (scale-out). Not a port: only the logs use it.
 */
export interface MessageArchive {
  /**
   * Inserts messages idempotently by id and by (from, clientMsgId), all or nothing: the log's
   * archive write (the persister's, in scale-out). Returns, for each input, the message as stored
   * (an earlier one on a conflict).
   */
  insertMessages(messages: Message[]): Promise<Message[]>;
  getMessageByClientId(from: string, clientMsgId: string): Promise<Message | null>;
  /** Records of a conversation in a seq range, oldest first, as stored now (see HistoryRange). */
  history(conversationId: string, range: HistoryRange): Promise<Message[]>;
  /** The records with these seqs, as stored now. */
  get(conversationId: string, seqs: number[]): Promise<Message[]>;
  /** The messages whose stored state changed after `sinceSeq`, oldest change first. */
  changed(conversationId: string, sinceSeq: number, limit: number): Promise<Message[]>;
  /** Messages (not change records) after `afterSeq`, at most `cap`. */
  countMessages(conversationId: string, afterSeq: number, cap: number): Promise<number>;
  /** Messages after `afterSeq` that mention `username` as stored, at most `cap`. */
  countMentions(conversationId: string, afterSeq: number, username: string, cap: number): Promise<number>;
  /** A record as stored, with what it keeps of its past (records.ts), read at once. */
  withPast(conversationId: string, seq: number): Promise<{ message: Message; kept: Kept } | null>;
  maxSeq(conversationId: string): Promise<number>;
  listConversations(username: string): Promise<ConversationRecord[]>;
}

/** A record's place: its conversation and seq. */
export interface MessageRef { conversationId: string; seq: number }

/**
 * One database behind several ports, as both deployments have it (SQLite, MongoDB): one part per
 * aggregate, each available once the database is started. Every implementation passes the
 * contract suites of those ports (test/daemon/ports/).
 */
export interface Database extends Lifecycle {
  readonly kind: string;
  readonly accounts: AccountStore;
  readonly friends: FriendStore;
  readonly groups: GroupStore;
  readonly receipts: ReceiptStore;
  readonly files: FileStore;
  readonly archive: MessageArchive;
}

/** The ports a database fills, each usable once the database is started. */
export function databasePorts(db: Database): { accounts: AccountStore; friends: FriendStore; groups: GroupStore; receipts: ReceiptStore; files: FileStore } {
  return { accounts: opened(() => db.accounts), friends: opened(() => db.friends), groups: opened(() => db.groups), receipts: opened(() => db.receipts), files: opened(() => db.files) };
}

/**
 * A port whose implementation exists only once its engine is open (the groups of a database that
 * `start` opens): calls go to the object `get` returns then. Its methods are bound on first use,
 * and bound again if the engine is opened anew.
 */
export function opened<T extends object>(get: () => T): T {
  let impl: T | undefined;
  const bound = new Map<PropertyKey, unknown>();
  return new Proxy({} as T, {
    get(_target, key) {
      const now = get();
      if (now !== impl) {
        impl = now;
        bound.clear();
      }
      let fn = bound.get(key);
      if (fn === undefined) {
        const value = (now as Record<PropertyKey, unknown>)[key];
        if (typeof value !== 'function') return value;
        fn = value.bind(now);
        bound.set(key, fn);
      }
      return fn;
    },
  });
}
