import React from 'react';
import { Box, Text } from 'ink';
import { sanitizeLine } from '../client/sanitize.js';
import type { SearchResults } from './state.js';
import type { Theme } from './theme.js';

/** One hit on one line: its conversation, seq and author, then the snippet with the matches in bold. */
function HitLine({ hit, picked, t }: { hit: SearchResults['hits'][number]; picked: boolean; t: Theme }) {
  const parts: { text: string; match: boolean }[] = [];
  let at = 0;
  for (const [s, e] of hit.matches) {
    if (s < at || e > hit.snippet.length) continue;
    parts.push({ text: hit.snippet.slice(at, s), match: false }, { text: hit.snippet.slice(s, e), match: true });
    at = e;
  }
  parts.push({ text: hit.snippet.slice(at), match: false });
  const day = hit.message.createdAt.slice(5, 16).replace('T', ' ');
  return (
    <Text wrap="truncate" inverse={picked}>
      <Text dimColor={!picked}>{day} </Text>
      <Text color={picked ? undefined : t.accent}>{sanitizeLine(hit.with)}</Text> #{hit.message.seq} {sanitizeLine(hit.message.from)}: {parts.map((p, i) => <Text key={i} bold={p.match}>{sanitizeLine(p.text)}</Text>)}
    </Text>
  );
}

/** The hits of a server search (Ctrl+R): ↑/↓ to pick, Enter shows it in its conversation, Esc goes back. */
export function ResultsOverlay({ results, width, height, t }: { results: SearchResults; width: number; height: number; t: Theme }) {
  const room = Math.max(1, height - 2);
  const start = Math.max(0, Math.min(results.index - Math.floor(room / 2), results.hits.length - room));
  const rows = results.hits.slice(start, start + room);
  return (
    <Box flexDirection="column" width={width} height={height} paddingLeft={1}>
      <Text bold wrap="truncate">{sanitizeLine(`${results.hits.length}${results.hits.length === 50 ? '+' : ''} found for ${results.query} ${results.scope ? `in ${results.scope}` : 'everywhere'}`)}</Text>
      {rows.map((h, i) => <HitLine key={h.message.id} hit={h} picked={start + i === results.index} t={t} />)}
      <Text dimColor wrap="truncate">↑/↓ pick · Enter shows it in its conversation · Esc goes back · Ctrl+G next hit</Text>
    </Box>
  );
}
