import { Client } from '@opensearch-project/opensearch';
import { MESSAGE_KINDS, type Message } from '../../../protocol/index.js';
import type { SearchIndex, SearchMatch, SearchRequest } from '../../ports/index.js';
import type { MessageRef } from '../archive.js';
import { decodeSearchCursor, nextSearchCursor } from '../search-cursor.js';
import { fold, highlight } from '../search-text.js';

/**
 * Search on the scale-out deployment: an OpenSearch index fed from the message topic by the
 * search feeder (search-feeder.ts). Each message is one document, id `<conversationId>#<seq>`, holding what
 * the query filters on and its text folded (lower case, accents removed: the integ-test
 * distribution has no `asciifolding`), never stored (`_source` excludes it). Hits are read back from
 * the message log, so an answer shows each message as it now is.
 *
 * Idempotent by the record's seq: a document's version is the seq of the last record applied to
 * it (external versioning), so a replayed message or edit never undoes a later one, and a delete
 * leaves a versioned tombstone (kept `index.gc_deletes`, 7 days) that refuses older records.
 */

const KINDS = new Set<string>(MESSAGE_KINDS);

/** Where hits are read back from: the scale-out log (ScaleoutLog.getAcross). */
export interface HitReader { getAcross(refs: MessageRef[]): Promise<Message[]> }
export const docId = (conversationId: string, seq: number) => `${conversationId}#${seq}`;

interface Doc { conversationId: string; seq: number; from: string; createdAt: string; text: string; mentions?: string[]; names?: string }

/** A message's files' names, folded, for `names` (kept in the source: an edit rewrites the document from it). */
const namesOf = (m: Pick<Message, 'files'>) => (m.files?.length ? { names: splitNames(m.files.map((f) => f.name).join(' ')) } : {});
/**
 * Names split at every character that is not a letter, a mark or a digit, as FTS5's tokenizer
 * splits them: the standard analyzer would keep `resume.pdf` as one token, so `resume` would not
 * find it.
 */
const splitNames = (names: string) => fold(names).replace(/[^\p{L}\p{M}\p{N}]+/gu, ' ').trim();

export class OpenSearchIndex implements SearchIndex {
  constructor(private readonly client: Client, private readonly index: string, private readonly log: HitReader) {}

  static connect(url: string, index: string, log: HitReader) {
    return new OpenSearchIndex(new Client({ node: url }), index, log);
  }

  /**
   * Creates the index with its mapping unless it exists. An index template with the same mapping
   * comes first: should a write reach the index while it is missing (deleted by hand, say),
   * OpenSearch creates it with this mapping rather than a guessed one.
   */
  async ensureIndex() {
    const template = {
      // expunge_deletes_allowed 0: an expunge rewrites every segment holding a deleted document (the default, 10%, keeps those below it).
      settings: { number_of_shards: 1, number_of_replicas: 0, 'index.gc_deletes': '7d', refresh_interval: '1s', 'index.merge.policy.expunge_deletes_allowed': 0 },
      mappings: {
        dynamic: 'strict',
        _source: { excludes: ['text'] },
        properties: {
          conversationId: { type: 'keyword' }, seq: { type: 'long' }, from: { type: 'keyword' }, createdAt: { type: 'date' },
          text: { type: 'text', analyzer: 'standard' }, mentions: { type: 'keyword' }, names: { type: 'text', analyzer: 'standard' },
        },
      },
    };
    await this.client.indices.putIndexTemplate({ name: this.index, body: { index_patterns: [this.index], template } } as never);
    const exists = await this.client.indices.exists({ index: this.index });
    if (exists.body) {
      // An index from before files gains the names field (adding a field is allowed in place).
      await this.client.indices.putMapping({ index: this.index, body: { properties: { names: { type: 'text', analyzer: 'standard' } } } } as never);
      return;
    }
    await this.client.indices.create({ index: this.index, body: template } as never).catch((err: { meta?: { body?: { error?: { type?: string } } } }) => {
      if (err.meta?.body?.error?.type !== 'resource_already_exists_exception') throw err;
    });
  }

  /**
   * Applies records of the log in seq order per conversation: messages are indexed, an edit
   * replaces its target's text (read back from the index), a delete removes it; reactions change
   * nothing searchable. Version conflicts (a record already applied, or older than the state) are
   * expected on replays and ignored. Returns how many operations were applied.
   */
  async apply(records: Message[]): Promise<{ applied: number; skipped: number }> {
    const docs = new Map<string, Doc | null>();
    const edits = records.filter((r) => r.kind === 'edit');
    if (edits.length) {
      const ids = [...new Set(edits.map((e) => docId(e.conversationId, e.target!)))].filter((id) => !records.some((r) => KINDS.has(r.kind) && docId(r.conversationId, r.seq) === id));
      if (ids.length) {
        const got = await this.client.mget({ index: this.index, body: { ids }, _source: true, stored_fields: [] as string[] } as never);
        for (const d of (got.body as { docs: { _id: string; found: boolean; _source?: Omit<Doc, 'text'> }[] }).docs) docs.set(d._id, d.found && d._source ? { ...d._source, text: '' } : null);
      }
    }
    const body: unknown[] = [];
    for (const r of records) {
      if (KINDS.has(r.kind)) {
        const doc: Doc = { conversationId: r.conversationId, seq: r.seq, from: r.from, createdAt: r.createdAt, text: fold(r.text), ...(r.mentions?.length ? { mentions: r.mentions } : {}), ...namesOf(r) };
        docs.set(docId(r.conversationId, r.seq), doc);
        body.push({ index: { _index: this.index, _id: docId(r.conversationId, r.seq), version: r.seq, version_type: 'external' } }, doc);
      } else if (r.kind === 'edit') {
        const id = docId(r.conversationId, r.target!);
        const before = docs.get(id);
        if (!before) continue; // deleted, or never indexed: nothing to replace
        const doc: Doc = { ...before, text: fold(r.text), ...(r.mentions?.length ? { mentions: r.mentions } : {}) };
        if (!r.mentions?.length) delete doc.mentions;
        docs.set(id, doc);
        body.push({ index: { _index: this.index, _id: id, version: r.seq, version_type: 'external' } }, doc);
      } else if (r.kind === 'delete') {
        const id = docId(r.conversationId, r.target!);
        docs.set(id, null);
        body.push({ delete: { _index: this.index, _id: id, version: r.seq, version_type: 'external' } });
      }
    }
    if (body.length === 0) return { applied: 0, skipped: 0 };
    const res = await this.client.bulk({ body: body as never, refresh: false });
    let applied = 0;
    let skipped = 0;
    for (const item of (res.body as { items: Record<string, { status: number; error?: { type: string; reason: string } }>[] }).items) {
      const op = Object.values(item)[0]!;
      if (op.status < 300 || (op.status === 404 && 'delete' in item)) applied++;
      else if (op.status === 409) skipped++;
      else throw new Error(`OpenSearch refused a document: ${op.error?.type}: ${op.error?.reason}`);
    }
    return { applied, skipped };
  }

  /** Rewrites the segments that hold deleted documents, so their tokens leave the disk (when there are any). */
  async expungeDeletes(): Promise<number> {
    const stats = await this.client.indices.stats({ index: this.index, metric: 'docs' });
    const deleted = (stats.body as { _all: { primaries: { docs?: { deleted: number } } } })._all.primaries.docs?.deleted ?? 0;
    if (deleted > 0) await this.client.indices.forcemerge({ index: this.index, only_expunge_deletes: true });
    return deleted;
  }

  /**
   * Indexes messages as they are stored now (`chat admin reindex`, from MongoDB): a message's text,
   * or, deleted, its removal; each at the version of its last change, so the feeder's records
   * neither undo nor repeat it.
   */
  async indexCurrent(messages: Message[]): Promise<number> {
    const body: unknown[] = [];
    for (const m of messages) {
      if (!KINDS.has(m.kind)) continue;
      const id = docId(m.conversationId, m.seq);
      const version = m.changedSeq ?? m.seq;
      if (m.deleted) body.push({ delete: { _index: this.index, _id: id, version, version_type: 'external' } });
      else body.push({ index: { _index: this.index, _id: id, version, version_type: 'external_gte' } }, { conversationId: m.conversationId, seq: m.seq, from: m.from, createdAt: m.createdAt, text: fold(m.text), ...(m.mentions?.length ? { mentions: m.mentions } : {}), ...namesOf(m) });
    }
    if (body.length === 0) return 0;
    const res = await this.client.bulk({ body: body as never });
    return (res.body as { items: Record<string, { status: number }>[] }).items.filter((i) => Object.values(i)[0]!.status < 300).length;
  }

  async refresh() {
    await this.client.indices.refresh({ index: this.index });
  }

  async search(r: SearchRequest): Promise<{ hits: SearchMatch[]; next: string | null }> {
    const q = r.query;
    // Newest first, a page starts after the last hit's sort values.
    const start = decodeSearchCursor(r.cursor, r.sort, (v) => Array.isArray(v) && v.length === 3);
    if (r.scopes.length === 0) return { hits: [], next: null };
    const whole = r.scopes.filter((s) => s.upTo === Number.MAX_SAFE_INTEGER).map((s) => s.conversationId);
    const cut = r.scopes.filter((s) => s.upTo !== Number.MAX_SAFE_INTEGER);
    const scope = { bool: { minimum_should_match: 1, should: [
      ...(whole.length ? [{ terms: { conversationId: whole } }] : []),
      ...cut.map((s) => ({ bool: { filter: [{ term: { conversationId: s.conversationId } }, { range: { seq: { lte: s.upTo } } }] } })),
    ] } };
    // Words are looked for in the text and in the names of the message's files.
    const phrase = (words: string[]) => ({ multi_match: { query: fold(words.join(' ')), type: 'phrase', fields: ['text', 'names'] } });
    const filter: unknown[] = [scope];
    if (q.from.length) filter.push({ terms: { from: q.from } });
    if (q.before !== undefined || q.after !== undefined) filter.push({ range: { createdAt: { ...(q.before ? { lt: q.before } : {}), ...(q.after ? { gt: `${q.after}||/d` } : {}) } } });
    if (q.isMention) filter.push({ term: { mentions: r.me } });
    if (q.hasFile) filter.push({ exists: { field: 'names' } });
    const must = q.terms.filter((t) => !t.excluded).map((t) => phrase(t.words));
    const mustNot = q.terms.filter((t) => t.excluded).map((t) => phrase(t.words));
    const sort = r.sort === 'recent' ? [{ createdAt: 'desc' }, { conversationId: 'asc' }, { seq: 'desc' }] : ['_score', { createdAt: 'desc' }];
    const res = await this.client.search({
      index: this.index,
      body: { query: { bool: { filter, must, must_not: mustNot } }, sort, size: r.limit + 1, ...(start.offset ? { from: start.offset } : {}), ...(start.after !== undefined ? { search_after: start.after } : {}), _source: ['conversationId', 'seq'], track_total_hits: false },
    } as never);
    const raw = (res.body as { hits: { hits: { _source: { conversationId: string; seq: number }; sort: unknown[] }[] } }).hits.hits;
    const more = raw.length > r.limit;
    const page = raw.slice(0, r.limit);
    // The messages as they now are, from the log (one read); one deleted since it was indexed is left out.
    const current = new Map<string, Message>();
    for (const m of await this.log.getAcross(page.map((h) => h._source))) current.set(docId(m.conversationId, m.seq), m);
    const words = q.terms.filter((t) => !t.excluded).map((t) => t.words);
    const hits: SearchMatch[] = [];
    for (const h of page) {
      const m = current.get(docId(h._source.conversationId, h._source.seq));
      if (!m || m.deleted) continue;
      const inText = highlight(m.text, words);
      const names = (m.files ?? []).map((f) => f.name).join(' ');
      const inNames = inText.matches.length === 0 && names ? highlight(names, words) : null;
      hits.push({ message: m, ...(inNames?.matches.length ? inNames : inText) });
    }
    return { hits, next: nextSearchCursor(more, r.sort, start.offset, r.limit, page[page.length - 1]?.sort) };
  }
}
