import React from 'react';
import { Box, Text } from 'ink';
import { sanitizeLine } from '../client/sanitize.js';
import type { Overlay, TuiState } from './state.js';
import type { Theme } from './theme.js';

/** A group's members with their role, presence and how far each has read (Esc closes). */
export function MembersOverlay({ overlay, state, width, height, t }: { overlay: Extract<Overlay, { kind: 'members' }>; state: TuiState; width: number; height: number; t: Theme }) {
  const c = state.conversations[overlay.peer];
  const last = c?.messages.at(-1)?.seq ?? 0;
  const rows = overlay.list.slice(0, Math.max(0, height - 3));
  return (
    <Box flexDirection="column" width={width} height={height} paddingLeft={1}>
      <Text bold wrap="truncate">{sanitizeLine(`${overlay.peer} · ${c?.title ?? ''} · ${overlay.list.length} members`)}</Text>
      {rows.map((m) => {
        const online = state.presence[m.username] ?? m.online;
        const read = m.username === state.me ? last : c?.reads[m.username] ?? 0;
        return (
          <Text key={m.username} wrap="truncate">
            <Text color={online ? t.online : undefined}>{online ? '●' : '○'}</Text> {sanitizeLine(m.username)} <Text dimColor>({m.role}{last > 0 ? `, ${read >= last ? 'read all' : `read to #${read}`}` : ''})</Text>
          </Text>
        );
      })}
      {overlay.list.length > rows.length ? <Text dimColor>… and {overlay.list.length - rows.length} more</Text> : null}
      <Text dimColor>Esc closes</Text>
    </Box>
  );
}
