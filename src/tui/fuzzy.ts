/**
 * The conversation finder's matching (Alt+K, as weechat's Alt+J or irssi's /win): a query
 * matches a name when its letters appear in it in order. Better matches come first: the start
 * of the name, then a run anywhere, then letters spread out (fewer gaps first); ties keep the
 * order given (the conversation list's: latest activity first).
 */
export function fuzzyScore(query: string, name: string): number | null {
  const q = query.trim().toLowerCase().replace(/^[#@]/, '');
  const n = name.toLowerCase().replace(/^#/, '');
  if (q === '') return 0;
  if (n.startsWith(q)) return 3000 - n.length;
  const at = n.indexOf(q);
  if (at >= 0) return 2000 - at;
  let from = 0;
  let gaps = 0;
  for (const ch of q) {
    const i = n.indexOf(ch, from);
    if (i < 0) return null;
    if (i > from) gaps += i - from;
    from = i + 1;
  }
  return 1000 - gaps;
}

/** The candidates a query matches, best first; each matched on its key and on its label (a group's name). */
export function fuzzyRank<T extends { key: string; label: string }>(query: string, candidates: T[]): T[] {
  const scored: { c: T; score: number; i: number }[] = [];
  candidates.forEach((c, i) => {
    const a = fuzzyScore(query, c.key);
    const b = fuzzyScore(query, c.label);
    const score = Math.max(a ?? -1, b ?? -1);
    if (score >= 0) scored.push({ c, score, i });
  });
  return scored.sort((x, y) => y.score - x.score || x.i - y.i).map((s) => s.c);
}
