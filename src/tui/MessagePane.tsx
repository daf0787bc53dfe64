import React from 'react';
import { Box, Text } from 'ink';
import { sanitizeLine } from '../client/sanitize.js';
import { conversationLines, visible, type Line } from './layout.js';
import { osc8 } from './links.js';
import type { ConversationState, TuiState } from './state.js';
import type { Theme } from './theme.js';

export function MessagePane({ state, width, height, t, links = false }: { state: TuiState; width: number; height: number; t: Theme; links?: boolean }) {
  const c = state.selected ? state.conversations[state.selected] : undefined;
  if (!c) {
    // Started while chatd is down: not an empty account, an unreachable server.
    const down = state.connection !== 'online' && Object.keys(state.conversations).length === 0;
    return (
      <Box flexDirection="column" width={width} height={height} paddingLeft={1}>
        {down ? (
          <Text color={t.warn} wrap="wrap">Cannot reach chatd at {sanitizeLine(state.server)}. Retrying every few seconds; your conversations appear once it answers.</Text>
        ) : (
          <Text dimColor>No conversation selected. Alt+A adds a friend, ? shows the keys.</Text>
        )}
      </Box>
    );
  }
  const typing = state.typing[c.conversationId];
  const typingLine = typing && typing.until > Date.now() ? `${sanitizeLine(typing.username)} is typing…` : '';
  // A header row and the typing row take two of the pane's rows.
  const paneHeight = height - 2;
  const lines = conversationLines(state, c, width - 1);
  const view = visible(lines, paneHeight, c.scroll);
  // Nothing is older than seq 1, whatever the last page said.
  const older = c.hasOlder && (c.messages[0]?.seq ?? 0) > 1;
  const top = view.atTop && older ? '↑ older messages: PgUp loads them' : view.atTop ? '(beginning of conversation)' : '';
  return (
    <Box flexDirection="column" width={width} height={height} paddingLeft={1}>
      <Text bold wrap="truncate">{header(state, c)}</Text>
      {view.lines.length < paneHeight ? <Text dimColor>{top}</Text> : null}
      {Array.from({ length: Math.max(0, paneHeight - view.lines.length - 1) }, (_, i) => <Text key={`pad${i}`}> </Text>)}
      {view.lines.map((l, i) => <Text key={i} {...t.tones[l.tone]} wrap="truncate">{l.links ? withLinks(l, t, links) : l.text}</Text>)}
      <Text dimColor wrap="truncate">{typingLine || (view.scroll > 0 ? `— ${view.scroll} lines below: End or Ctrl+L jumps to the latest —` : ' ')}</Text>
    </Box>
  );
}

/** A line's links underlined (and coloured), each an OSC 8 hyperlink when the terminal takes them. */
function withLinks(l: Line, t: Theme, osc: boolean): React.ReactNode[] {
  const out: React.ReactNode[] = [];
  let at = 0;
  for (const [i, s] of l.links!.entries()) {
    if (s.start > at) out.push(l.text.slice(at, s.start));
    const shown = l.text.slice(s.start, s.end);
    out.push(<Text key={i} underline color={t.link}>{osc ? osc8(s.url, shown) : shown}</Text>);
    at = s.end;
  }
  out.push(l.text.slice(at));
  return out;
}

/** The open conversation's header: a friend and their presence, or a group, its members and topic. */
export function header(s: TuiState, c: ConversationState): string {
  if (c.kind === 'dm') return `${sanitizeLine(c.peer)} · ${s.presence[c.peer] ? '● online' : '○ offline'}`;
  const name = c.title && c.title !== c.peer.slice(1) ? ` · ${sanitizeLine(c.title)}` : '';
  const topic = c.topic ? ` · ${sanitizeLine(c.topic)}` : '';
  return `${sanitizeLine(c.peer)}${name} · ${c.members} member${c.members === 1 ? '' : 's'}${topic}`;
}
