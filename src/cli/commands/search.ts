import type { Command } from 'commander';
import { MAX_SEARCH_LIMIT, SearchSyntaxError, parseSearch } from '../../protocol/search.js';
import type { SearchHitView, SearchResult } from '../../protocol/types.js';
import { sanitizeLine } from '../../client/sanitize.js';
import type { Context } from '../context.js';
import { UsageError } from '../errors.js';
import { parseIntArg, parseTarget } from '../input.js';

interface SearchOpts { in?: string; limit?: number; sort?: string; cursor?: string }

const BOLD = '\x1b[1m';
const PLAIN = '\x1b[22m';

/**
 * One hit for people: "2026-12-05 10:00:01 #ops #12 alice: …the matched words…". On a terminal the
 * matched words are bold (each piece of text is sanitized first, so only our codes reach it).
 */
export function formatHit(h: SearchHitView, bold: boolean): string {
  const t = h.message.createdAt.replace('T', ' ').replace(/\.\d+Z$/, '');
  let snippet = '';
  let at = 0;
  for (const [s, e] of h.matches) {
    if (s < at || e > h.snippet.length) continue;
    snippet += sanitizeLine(h.snippet.slice(at, s)) + (bold ? BOLD : '') + sanitizeLine(h.snippet.slice(s, e)) + (bold ? PLAIN : '');
    at = e;
  }
  snippet += sanitizeLine(h.snippet.slice(at));
  return `${t} ${sanitizeLine(h.with)} #${h.message.seq} ${sanitizeLine(h.message.from)}: ${snippet}`;
}

export async function runSearch(ctx: Context, words: string[], o: SearchOpts): Promise<SearchResult> {
  const q = words.join(' ');
  // A malformed query is a bad argument (exit 2), found before any request.
  try {
    parseSearch(q);
  } catch (err) {
    if (err instanceof SearchSyntaxError) throw new UsageError(`invalid search: ${err.message}`);
    throw err;
  }
  if (o.sort !== undefined && o.sort !== 'relevance' && o.sort !== 'recent') throw new UsageError(`--sort must be relevance or recent, got ${JSON.stringify(o.sort)}`);
  const r = await ctx.api().search(q, { in: o.in === undefined ? undefined : parseTarget(o.in), limit: o.limit, sort: o.sort as 'relevance' | 'recent' | undefined, cursor: o.cursor });
  if (ctx.json) ctx.print(r);
  else {
    const bold = process.stdout.isTTY === true && ctx.env.NO_COLOR === undefined;
    if (r.hits.length) ctx.io.out(r.hits.map((h) => formatHit(h, bold)).join('\n') + '\n');
    ctx.note(r.hits.length === 0 ? 'no messages found' : r.next ? `more: add --cursor ${r.next}` : `${r.hits.length} found`);
  }
  return r;
}

export function register(program: Command, ctx: () => Context) {
  program.command('search <query...>').description('search every message you may read: words, "phrases", -excluded, from:user, in:user, in:#group, is:mention, has:file, before:/after:YYYY-MM-DD')
    .option('--in <to>', 'only with this friend or in this #group (as in:)')
    .option('--limit <n>', `hits per page (default 20, max ${MAX_SEARCH_LIMIT})`, parseIntArg('--limit', 1, MAX_SEARCH_LIMIT))
    .option('--sort <order>', 'relevance (the default) or recent')
    .option('--cursor <c>', 'the next page (printed after a full page)')
    .action(async (words: string[], o: SearchOpts) => { await runSearch(ctx(), words, o); });
}
