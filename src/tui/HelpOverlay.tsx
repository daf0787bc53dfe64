import React from 'react';
import { Box, Text } from 'ink';
import { BINDINGS, type BindingId } from './keys.js';

/** Bindings that share a row on the help screen: their keys, and the row's wording. */
const GROUPS: [BindingId[], string, string][] = [
  [['closeOverlay', 'unpick'], 'Esc', 'close help, a prompt, members or hits; drop a pick, edit or reply'],
  [['nextConversation', 'prevConversation'], 'Ctrl+N / Ctrl+P', 'next / previous conversation'],
  [['sidebarDown', 'sidebarUp'], '↓, j / ↑, k', 'move down / up the conversation list'],
  [['scrollUp', 'scrollDown'], 'PgUp / PgDn', 'scroll up (older messages load on demand) / down'],
  [['search', 'searchNext'], 'Ctrl+R / Ctrl+G', 'search the server (Tab: all; empty: last hits) / next hit'],
  [['addFriend', 'acceptFriend'], 'Alt+A / Alt+Y', 'add a friend by name / accept the oldest request'],
  [['newGroup', 'addMembers', 'members'], 'Alt+G / I / M', 'new group (name, then friends) / add friends / members'],
  [['pickUp', 'pickDown'], 'Alt+↑ / Alt+↓', 'pick an older / newer message (past the last: none)'],
  [['editPicked', 'replyPicked', 'reactPicked', 'deletePicked', 'jumpQuoted'], 'Alt+E R . X J', 'picked: edit (yours), reply, react, delete (asks), go to its quote'],
  [['attach', 'openPicked', 'savePicked'], 'Alt+F / O / S', 'send a file (Tab completes) / picked: open its file / save its files'],
];

/** The help screen's rows: one per binding, or per group, each with the bindings it stands for. */
export function helpRows(): { keys: string; description: string; id: string; ids: BindingId[] }[] {
  const rows: { keys: string; description: string; id: string; ids: BindingId[] }[] = [];
  const grouped = new Set(GROUPS.flatMap(([ids]) => ids));
  for (const b of BINDINGS) {
    const group = GROUPS.find(([ids]) => ids[0] === b.id);
    if (group) rows.push({ id: b.id, ids: group[0], keys: group[1], description: group[2] });
    else if (!grouped.has(b.id)) rows.push({ id: b.id, ids: [b.id], keys: b.keys, description: b.description });
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
