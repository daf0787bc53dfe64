import React from 'react';
import { Box, Text } from 'ink';
import { BINDINGS, type Binding, type BindingId } from './keys.js';

/** Bindings that share a row on the help screen, with the row's wording. */
const PAIRS: [BindingId, BindingId, string][] = [
  ['nextConversation', 'prevConversation', 'next / previous conversation'],
  ['sidebarDown', 'sidebarUp', 'move down / up the conversation list'],
  ['scrollUp', 'scrollDown', 'scroll up (older messages load on demand) / down'],
  ['search', 'searchNext', 'search in this conversation / next (older) match'],
];

/** The help screen's rows: one per binding, or per pair. */
export function helpRows(): { keys: string; description: string; id: string }[] {
  const rows: { keys: string; description: string; id: string }[] = [];
  const byId = new Map<BindingId, Binding>(BINDINGS.map((b) => [b.id, b]));
  const paired = new Set(PAIRS.flatMap(([a, b]) => [a, b]));
  for (const b of BINDINGS) {
    const pair = PAIRS.find(([a]) => a === b.id);
    if (pair) rows.push({ id: b.id, keys: `${b.keys} / ${byId.get(pair[1])!.keys}`, description: pair[2] });
    else if (!paired.has(b.id)) rows.push({ id: b.id, keys: b.keys, description: b.description });
  }
  return rows;
}

/**
 * The help screen, generated from the key-binding registry: one row per binding (related ones
 * share a row), no border, so every binding fits a 24-row terminal.
 */
export function HelpOverlay({ width }: { width: number }) {
  const rows = helpRows();
  const w = Math.min(22, Math.max(...rows.map((r) => r.keys.length)));
  return (
    <Box flexDirection="column" paddingX={1} width={width}>
      <Text bold wrap="truncate">Keys (Esc or ? closes; &quot;/ai …&quot; asks Gemini)</Text>
      {rows.map((r) => (
        <Text key={r.id} wrap="truncate">{r.keys.padEnd(w)}  <Text dimColor>{r.description}</Text></Text>
      ))}
    </Box>
  );
}
