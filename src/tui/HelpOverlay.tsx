import React from 'react';
import { Box, Text } from 'ink';
import { BINDINGS, type Binding, type BindingId } from './keys.js';
import { SLASH_COMMANDS } from './slash.js';

/** The help's last row: the slash commands of the input line. */
export const SLASH_HELP = `${SLASH_COMMANDS.map((c) => `/${c.name}`).join(' ')}  (Tab completes)`;

/** The help screen's widest keys column: at 80 columns a row of it and a description of at most 54 characters fits whole (1 + 22 + 2 + 54 + 1). */
export const HELP_KEYS_WIDTH = 22;

/** Bindings that share a row on the help screen: their keys, and the row's wording (or one binding's shorter wording). */
const GROUPS: [BindingId[], string, string][] = [
  [['closeOverlay', 'unpick', 'dismissFailed'], 'Esc', 'close; drop a pick, edit, reply, hit or refused send'],
  [['switchPane', 'openConversation'], 'Tab / Enter (list)', 'switch list ↔ input / open the selected conversation'],
  [['nextConversation', 'prevConversation', 'jump'], 'Ctrl+N / P, Alt+K', 'next / previous conversation; find one by name'],
  [['sidebarDown', 'sidebarUp'], '↓, j / ↑, k', 'move down / up the list (it wraps; it holds still)'],
  [['scrollUp', 'scrollDown'], 'PgUp / PgDn', 'scroll up (older messages load) / down'],
  [['jumpLatest', 'endLatest'], 'Ctrl+L, End (empty)', 'jump to the latest message (Ctrl+L also redraws)'],
  [['search', 'searchNext'], 'Ctrl+R / Ctrl+G', 'search the server (Tab: everywhere) / next hit'],
  [['addFriend', 'acceptFriend'], 'Alt+A / Alt+Y', 'add a friend / accept the oldest request'],
  [['newGroup', 'addMembers', 'members'], 'Alt+G / I / M', 'new group (name, friends) / add friends / members'],
  [['pickUp', 'pickDown'], 'Alt+↑ / Alt+↓', 'pick an older / newer message'],
  [['editPicked', 'replyPicked', 'reactPicked', 'deletePicked', 'jumpQuoted'], 'Alt+E R . X J', 'picked: edit, reply, react, delete, go to its quote'],
  [['attach', 'openPicked', 'savePicked'], 'Alt+F / O / S', 'send a file / open the picked file / save its files'],
  [['send', 'newline'], 'Enter / Alt+Enter', 'send (queued while offline) / a new line'],
  [['editor'], 'Ctrl+O', 'edit the draft in $EDITOR (back to the input line)'],
  [['edit'], 'Ctrl+A E B F W U K D', 'readline keys, ←/→, Home/End, Alt+B/F; ↑/↓: sent lines'],
];

/** The help screen's rows: one per binding, or per group, each with the bindings it stands for. */
export function helpRows(bindings: readonly Binding[] = BINDINGS): { keys: string; description: string; id: string; ids: BindingId[] }[] {
  const rows: { keys: string; description: string; id: string; ids: BindingId[] }[] = [];
  const placed = new Set<(typeof GROUPS)[number]>();
  // A group's row stands where its first binding is in the registry; keys given by the settings
  // file are shown as they were given.
  for (const b of bindings) {
    const group = GROUPS.find(([ids]) => ids.includes(b.id));
    if (!group) rows.push({ id: b.id, ids: [b.id], keys: b.keys, description: b.description });
    else if (!placed.has(group)) {
      placed.add(group);
      const members = bindings.filter((x) => group[0].includes(x.id));
      const keys = members.some((x) => x.rebound) ? [...new Set(members.map((x) => x.keys))].join(' / ') : group[1];
      rows.push({ id: b.id, ids: group[0], keys, description: group[2] });
    }
  }
  return rows;
}

/**
 * The help screen, generated from the key-binding registry: one row per binding (related ones
 * share a row), no border, across the whole width: every row fits an 80×24 terminal whole.
 */
export function HelpOverlay({ width, bindings = BINDINGS }: { width: number; bindings?: readonly Binding[] }) {
  const rows = helpRows(bindings);
  const w = Math.min(HELP_KEYS_WIDTH, Math.max(...rows.map((r) => r.keys.length)));
  return (
    <Box flexDirection="column" paddingX={1} width={width}>
      <Text bold wrap="truncate">Keys (Esc or ? closes; &quot;/ai …&quot; asks Gemini)</Text>
      {rows.map((r) => (
        <Text key={r.id} wrap="truncate">{r.keys.padEnd(w)}  <Text dimColor>{r.description}</Text></Text>
      ))}
      <Text wrap="truncate">{SLASH_HELP}</Text>
    </Box>
  );
}
