import { ChatError, SearchSyntaxError, dmPeer, isGroupConversation, parseSearch, type SearchQueryInput, type SearchResult } from '../../protocol/index.js';
import type { MessageLog, SearchIndex, SearchScope } from '../ports/index.js';
import type { GroupService } from './groups.js';

/** Hits per page unless the caller asks for another number. */
export const DEFAULT_SEARCH_LIMIT = 20;

/**
 * Server search: parses the query (src/protocol/search.ts), decides where the user may search by
 * the rules of history (every direct conversation they are in; each group they are in, and each
 * they were in up to their removal), and asks the deployment's index inside those scopes only.
 * A conversation named in `in:` that the user cannot read is the same as one without matches: the
 * answer never tells whether a user or a group exists.
 */
export class SearchService {
  constructor(
    /** The deployment's index, once it has started (null where it has none). */
    private readonly index: () => SearchIndex | null,
    private readonly log: Pick<MessageLog, 'conversations'>,
    private readonly groups: Pick<GroupService, 'searchScopes'>,
  ) {}

  async search(me: string, input: SearchQueryInput): Promise<SearchResult> {
    let query;
    try {
      query = parseSearch(input.q);
    } catch (err) {
      if (err instanceof SearchSyntaxError) throw new ChatError('CHAT_ERR_VALIDATION', `q: ${err.message}`, { details: [{ path: 'q', message: err.message }] });
      throw err;
    }
    if (input.in !== undefined && !query.in.includes(input.in.toLowerCase())) query.in.push(input.in.toLowerCase());
    const index = this.index();
    if (!index) throw new ChatError('CHAT_ERR_NOT_CONFIGURED', 'Search is off: CHAT_SEARCH_INDEX=off on this server, or a scale-out deployment without OPENSEARCH_URL');
    const [convs, groups] = await Promise.all([this.log.conversations(me), this.groups.searchScopes(me)]);
    const names = new Map<string, string>();
    const scopes: SearchScope[] = [];
    for (const c of convs) {
      if (isGroupConversation(c.conversationId)) continue;
      const peer = dmPeer(c.conversationId, me);
      if (peer === undefined) continue;
      names.set(c.conversationId, peer);
      scopes.push({ conversationId: c.conversationId, upTo: Number.MAX_SAFE_INTEGER });
    }
    for (const g of groups) {
      names.set(g.conversationId, `#${g.handle}`);
      scopes.push({ conversationId: g.conversationId, upTo: g.upTo });
    }
    const wanted = query.in.length ? scopes.filter((s) => query.in.includes(names.get(s.conversationId)!)) : scopes;
    const page = await index.search({ query, me, scopes: wanted, sort: input.sort ?? 'relevance', limit: input.limit ?? DEFAULT_SEARCH_LIMIT, cursor: input.cursor });
    return { hits: page.hits.map((h) => ({ ...h, with: names.get(h.message.conversationId) ?? '' })), next: page.next };
  }
}
