import React from 'react';
import { Box, Text } from 'ink';
import { sanitizeLine } from '../client/sanitize.js';
import type { TuiState } from './state.js';
import type { Theme } from './theme.js';

export function StatusBar({ state, width, t }: { state: TuiState; width: number; t: Theme }) {
  const conn = state.connection === 'online' ? '● online' : state.connection === 'offline' ? '○ offline, reconnecting…' : '◌ connecting…';
  const color = state.connection === 'online' ? t.online : t.warn;
  const queued = Object.values(state.conversations).reduce((n, c) => n + c.pending.filter((p) => !p.error).length, 0);
  return (
    <Box width={width}>
      <Text inverse wrap="truncate">
        {' '}<Text color={color}>{conn}</Text>  {sanitizeLine(state.me)}@{state.server.replace(/^https?:\/\//, '')}
        {queued ? `  ${queued} queued` : ''}  {state.notice ? `  ${sanitizeLine(state.notice)}` : '  ? for keys'}{' '.repeat(width)}
      </Text>
    </Box>
  );
}
