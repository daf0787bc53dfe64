import React from 'react';
import { Box, Text } from 'ink';
import { BINDINGS } from './keys.js';

/**
 * The help screen, generated from the key-binding registry: one row per binding, no border,
 * so every binding fits a 24-row terminal.
 */
export function HelpOverlay({ width }: { width: number }) {
  const w = Math.min(22, Math.max(...BINDINGS.map((b) => b.keys.length)));
  return (
    <Box flexDirection="column" paddingX={1} width={width}>
      <Text bold wrap="truncate">Keys (Esc or ? closes; &quot;/ai …&quot; asks Gemini)</Text>
      {BINDINGS.map((b) => (
        <Text key={b.id} wrap="truncate">{b.keys.padEnd(w)}  <Text dimColor>{b.description}</Text></Text>
      ))}
    </Box>
  );
}
