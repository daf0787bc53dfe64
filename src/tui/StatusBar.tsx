import React from 'react';
import { Box, Text } from 'ink';
import { sanitizeLine } from '../client/sanitize.js';
import { liveNotice, type TuiState } from './state.js';
import type { Theme } from './theme.js';

export function StatusBar({ state, width, t }: { state: TuiState; width: number; t: Theme }) {
  const conn = state.connection === 'online' ? '● online' : state.connection === 'offline' ? '○ offline, reconnecting…' : '◌ connecting…';
  const color = state.connection === 'online' ? t.online : t.warn;
  const queued = Object.values(state.conversations).reduce((n, c) => n + c.pending.filter((p) => !p.error).length, 0);
  const notice = liveNotice(state);
  // Padded to the width, and cut with … only when it really does not fit.
  const rest = `  ${sanitizeLine(state.me)}@${state.server.replace(/^https?:\/\//, '')}${queued ? `  ${queued} queued` : ''}  ${notice ? `  ${sanitizeLine(notice)}` : '  ? for keys'}`;
  const room = Math.max(0, width - conn.length - 1);
  const shown = rest.length > room ? `${rest.slice(0, Math.max(0, room - 1))}…` : rest.padEnd(room);
  return (
    <Box width={width}>
      <Text inverse wrap="truncate">{' '}<Text color={color}>{conn}</Text>{shown}</Text>
    </Box>
  );
}
