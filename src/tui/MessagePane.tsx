import React from 'react';
import { Box, Text } from 'ink';
import { sanitizeLine } from '../client/sanitize.js';
import { conversationLines, visible } from './layout.js';
import type { TuiState } from './state.js';
import type { Theme } from './theme.js';

export function MessagePane({ state, width, height, t }: { state: TuiState; width: number; height: number; t: Theme }) {
  const c = state.selected ? state.conversations[state.selected] : undefined;
  if (!c) {
    return (
      <Box flexDirection="column" width={width} height={height} paddingLeft={1}>
        <Text dimColor>No conversation selected. Alt+A adds a friend, ? shows the keys.</Text>
      </Box>
    );
  }
  const typing = state.typing[c.conversationId];
  const typingLine = typing && typing.until > Date.now() ? `${sanitizeLine(typing.username)} is typing…` : '';
  const paneHeight = height - 1;
  const lines = conversationLines(state, c, width - 1);
  const view = visible(lines, paneHeight, c.scroll);
  const top = view.atTop && c.hasOlder ? '↑ older messages: PgUp loads them' : view.atTop ? '(beginning of conversation)' : '';
  return (
    <Box flexDirection="column" width={width} height={height} paddingLeft={1}>
      {view.lines.length < paneHeight ? <Text dimColor>{top}</Text> : null}
      {Array.from({ length: Math.max(0, paneHeight - view.lines.length - 1) }, (_, i) => <Text key={`pad${i}`}> </Text>)}
      {view.lines.map((l, i) => <Text key={i} {...t.tones[l.tone]} wrap="truncate">{l.text}</Text>)}
      <Text dimColor wrap="truncate">{typingLine || (view.scroll > 0 ? `— ${view.scroll} lines below: End jumps to the latest —` : ' ')}</Text>
    </Box>
  );
}
