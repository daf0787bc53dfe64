/**
 * Text as search compares it, for engines that cannot fold accents themselves (OpenSearch's
 * integ-test distribution has no `asciifolding`): lower case, compatibility-decomposed, marks
 * removed. `highlight` finds a query's words in the original text with the same folding.
 */

/** Lower case without accents: "Café" and "CAFE" both become "cafe". */
export function fold(s: string): string {
  return s.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase();
}

const WORD = /[\p{L}\p{M}\p{N}]+/gu;

/** Characters of context on each side of the first match. */
const CONTEXT = 60;

/**
 * The part of `text` around the first place where one of `phrases` (each a list of words) occurs,
 * on one line, with every occurrence's [start, end) offsets in the snippet. Words compare folded.
 */
export function highlight(text: string, phrases: string[][]): { snippet: string; matches: [number, number][] } {
  const words = [...text.matchAll(WORD)].map((m) => ({ start: m.index, end: m.index + m[0].length, folded: fold(m[0]) }));
  const wanted = phrases.map((p) => p.map(fold)).filter((p) => p.length > 0);
  const found: [number, number][] = [];
  for (let i = 0; i < words.length; i++) {
    for (const p of wanted) {
      if (i + p.length <= words.length && p.every((w, k) => words[i + k]!.folded === w)) found.push([words[i]!.start, words[i + p.length - 1]!.end]);
    }
  }
  found.sort((a, b) => a[0] - b[0]);
  const first = found[0]?.[0] ?? 0;
  const from = Math.max(0, first - CONTEXT);
  const to = Math.min(text.length, (found[0]?.[1] ?? 0) + CONTEXT * 2);
  const lead = from > 0 ? '…' : '';
  const snippet = lead + text.slice(from, to).replace(/\s/gu, ' ') + (to < text.length ? '…' : '');
  const shift = lead.length - from;
  const matches = found.filter(([s, e]) => s >= from && e <= to).map(([s, e]) => [s + shift, e + shift] as [number, number]);
  return { snippet, matches };
}
