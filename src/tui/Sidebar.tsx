import React from 'react';
import { Box, Text } from 'ink';
import { sanitizeLine } from '../client/sanitize.js';
import { orderedPeers, type TuiState } from './state.js';
import type { Theme } from './theme.js';

export function Sidebar({ state, width, height, t }: { state: TuiState; width: number; height: number; t: Theme }) {
  const peers = orderedPeers(state);
  const rows: React.ReactNode[] = [];
  const inner = width - 1;
  const incoming = state.requests.incoming.length;
  const outgoing = state.requests.outgoing.length;
  // Rows kept below the list for the requests: a heading and up to 3 names each (and "and N more").
  const below = (incoming ? 1 + Math.min(3, incoming) : 0) + (outgoing ? 1 + Math.min(3, outgoing) + (outgoing > 3 ? 1 : 0) : 0);
  for (const peer of peers.slice(0, Math.max(0, Math.floor((height - 2 - below) / 2)))) {
    const c = state.conversations[peer]!;
    const sel = state.selected === peer;
    const group = c.kind === 'group';
    const online = !group && state.presence[peer] === true;
    const unread = c.unread > 0 ? ` (${c.unread}${c.mentions > 0 ? ` @${c.mentions}` : ''})` : '';
    // The name gives way to the counts: they are what the sidebar is for.
    const full = group ? sanitizeLine(`${peer.slice(1)} · ${c.title}`) : sanitizeLine(peer);
    const room = Math.max(1, inner - 2 - unread.length);
    const name = full.length > room ? `${full.slice(0, Math.max(0, room - 1))}…` : full;
    const last = c.messages.at(-1);
    const preview = last ? sanitizeLine(`${last.kind === 'ai' ? 'AI' : last.from === state.me ? 'you' : last.from}: ${last.deleted ? '(deleted)' : last.text}`) : 'no messages yet';
    rows.push(
      <Box key={peer} flexDirection="column">
        <Text inverse={sel && state.focus === 'sidebar'} bold={sel || c.unread > 0} wrap="truncate">
          <Text color={online ? t.online : undefined}>{group ? '#' : online ? '●' : '○'}</Text> {name}{unread}
        </Text>
        <Text dimColor wrap="truncate">  {preview.slice(0, inner - 2)}</Text>
      </Box>,
    );
  }
  const sent = state.requests.outgoing;
  return (
    <Box flexDirection="column" width={width} height={height} borderStyle="single" borderTop={false} borderBottom={false} borderLeft={false}>
      <Text bold underline>Conversations</Text>
      {rows.length ? rows : <Text dimColor>{state.connection === 'online' ? 'none yet: Alt+A adds a friend, Alt+G makes a group' : 'waiting for chatd…'}</Text>}
      {incoming > 0 ? <Text color={t.warn} wrap="truncate">requests (Alt+Y):</Text> : null}
      {state.requests.incoming.slice(0, 3).map((u) => <Text key={`rq-${u}`} color={t.warn} wrap="truncate">  {sanitizeLine(u)}</Text>)}
      {sent.length > 0 ? <Text dimColor wrap="truncate">sent, waiting:</Text> : null}
      {sent.slice(0, 3).map((u) => <Text key={`out-${u}`} dimColor wrap="truncate">  {sanitizeLine(u)} …</Text>)}
      {sent.length > 3 ? <Text dimColor wrap="truncate">  and {sent.length - 3} more</Text> : null}
    </Box>
  );
}
