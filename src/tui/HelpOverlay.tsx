import React from 'react';
import { Box, Text } from 'ink';
import { BINDINGS } from './keys.js';

/** The help screen, generated from the key-binding registry. */
export function HelpOverlay({ width }: { width: number }) {
  const w = Math.max(...BINDINGS.map((b) => b.keys.length));
  return (
    <Box flexDirection="column" borderStyle="round" paddingX={1} width={Math.min(width, 78)}>
      <Text bold>Keys (Esc or ? closes)</Text>
      {BINDINGS.map((b) => (
        <Text key={b.id} wrap="truncate">{b.keys.padEnd(w)}  {b.description}</Text>
      ))}
      <Text dimColor>Messages starting with "/ai " are answered by Gemini.</Text>
    </Box>
  );
}
