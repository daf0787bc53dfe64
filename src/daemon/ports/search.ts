import type { Message, ParsedSearch } from '../../protocol/index.js';

/** Where one user may search: a conversation and the last seq they may read in it. */
export interface SearchScope {
  conversationId: string;
  upTo: number;
}

export interface SearchRequest {
  /** The parsed query (src/protocol/search.ts): engines build their own query from its terms, never from user text. */
  query: ParsedSearch;
  /** Who searches (for is:mention). */
  me: string;
  /** Only these conversations, each up to its `upTo`: the caller has already decided what the user may read. */
  scopes: SearchScope[];
  sort: 'relevance' | 'recent';
  limit: number;
  /** The `next` of the previous page. */
  cursor?: string;
}

export interface SearchMatch {
  message: Message;
  /** The text around what matched, on one line. */
  snippet: string;
  /** The matched words in the snippet, as [start, end) offsets. */
  matches: [number, number][];
}

/**
 * Full-text search over messages: SQLite FTS5 kept in the writer's transaction on the embedded
 * deployment (sqlite-search.ts); OpenSearch fed from the Kafka topic on scale-out (not built yet).
 * The contract every implementation passes (test/daemon/ports/search.contract.ts):
 * - only messages (not change records) are found, as they now are: an edit is found by its new
 *   text and not its old one, a deleted message not at all;
 * - only inside the scopes (conversation, and seq <= upTo): nothing outside them, whatever the text;
 * - words match case- and accent-insensitively; a phrase matches its words together, in order;
 * - at most `limit` hits, best first (or newest first), with `next` while there are more.
 */
export interface SearchIndex {
  search(request: SearchRequest): Promise<{ hits: SearchMatch[]; next: string | null }>;
}
