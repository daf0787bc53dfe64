import type { Message } from '../../protocol/index.js';
import type { Lifecycle } from './lifecycle.js';

/** Where one user may search: a conversation and the last seq they may read in it. */
export interface SearchScope {
  conversationId: string;
  upTo: number;
}

export interface SearchQuery {
  /** The user's words, as typed: an implementation parses them itself and never fails on syntax. */
  text: string;
  /** Only these conversations, each up to its `upTo`: the caller has already decided what the user may read. */
  scopes: SearchScope[];
  limit: number;
  /** The page token of the previous answer. */
  after?: string;
}

export interface SearchHit {
  message: Message;
  /** The matched words in the text, as [start, end) character offsets, for highlighting. */
  matches: [number, number][];
}

/**
 * Full-text search over messages (filled by the search issue: FTS5 on the embedded deployment,
 * OpenSearch on scale-out). The contract every implementation passes:
 * - `index` is idempotent by message id, and a later version of a message (an edit) replaces the
 *   earlier; `remove` takes a message out (a delete); both are eventually visible to `search`.
 * - `search` returns only messages inside the scopes (conversation and seq <= upTo): a message
 *   outside them is never returned, whatever the text.
 * - Hits are newest first, at most `limit`, with `next` to continue when there are more.
 * - Text is matched by words, case- and accent-insensitively; any input is a valid query.
 */
export interface SearchIndex extends Lifecycle {
  index(messages: Message[]): Promise<void>;
  remove(messageIds: string[]): Promise<void>;
  search(query: SearchQuery): Promise<{ hits: SearchHit[]; next: string | null }>;
}
