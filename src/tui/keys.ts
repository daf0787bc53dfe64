import type { Key } from 'ink';

/** Where a binding applies: everywhere, or only when that pane has focus / the input is empty. */
export type Scope = 'global' | 'sidebar' | 'input' | 'empty-input' | 'overlay';

export interface Binding {
  id: BindingId;
  /** How the help screen shows the keys. */
  keys: string;
  description: string;
  scope: Scope;
  match(input: string, key: Key): boolean;
}

export type BindingId =
  | 'quit' | 'help' | 'closeOverlay' | 'switchPane' | 'nextConversation' | 'prevConversation'
  | 'sidebarDown' | 'sidebarUp' | 'openConversation' | 'scrollUp' | 'scrollDown' | 'jumpLatest'
  | 'search' | 'searchNext' | 'addFriend' | 'acceptFriend' | 'editor' | 'send';

const ctrl = (ch: string) => (input: string, key: Key) => key.ctrl && input === ch;

/**
 * The one key-binding registry: it drives the behaviour (App), the help overlay and the tests.
 * Printable keys are left to the input line; commands use Ctrl, arrows and paging keys.
 */
export const BINDINGS: readonly Binding[] = [
  { id: 'quit', keys: 'Ctrl+C, Ctrl+Q', description: 'quit (the terminal is restored)', scope: 'global', match: (i, k) => k.ctrl && (i === 'c' || i === 'q') },
  { id: 'help', keys: '? (empty input)', description: 'show or hide this help', scope: 'empty-input', match: (i) => i === '?' },
  { id: 'closeOverlay', keys: 'Esc', description: 'close help, prompt or search', scope: 'overlay', match: (_i, k) => k.escape },
  { id: 'switchPane', keys: 'Tab', description: 'switch focus between conversations and input', scope: 'global', match: (_i, k) => k.tab },
  { id: 'nextConversation', keys: 'Ctrl+N', description: 'next conversation', scope: 'global', match: ctrl('n') },
  { id: 'prevConversation', keys: 'Ctrl+P', description: 'previous conversation', scope: 'global', match: ctrl('p') },
  { id: 'sidebarDown', keys: '↓, j', description: 'move down the conversation list', scope: 'sidebar', match: (i, k) => k.downArrow || i === 'j' },
  { id: 'sidebarUp', keys: '↑, k', description: 'move up the conversation list', scope: 'sidebar', match: (i, k) => k.upArrow || i === 'k' },
  { id: 'openConversation', keys: 'Enter', description: 'open the selected conversation and type', scope: 'sidebar', match: (_i, k) => k.return },
  { id: 'scrollUp', keys: 'PgUp, Ctrl+U', description: 'scroll up (older messages load on demand)', scope: 'global', match: (i, k) => k.pageUp || (k.ctrl && i === 'u') },
  { id: 'scrollDown', keys: 'PgDn, Ctrl+D', description: 'scroll down', scope: 'global', match: (i, k) => k.pageDown || (k.ctrl && i === 'd') },
  { id: 'jumpLatest', keys: 'End, Ctrl+L', description: 'jump to the latest message', scope: 'global', match: (i, k) => k.end || (k.ctrl && i === 'l') },
  { id: 'search', keys: 'Ctrl+F', description: 'search in this conversation', scope: 'global', match: ctrl('f') },
  { id: 'searchNext', keys: 'Ctrl+G', description: 'next (older) search match', scope: 'global', match: ctrl('g') },
  { id: 'addFriend', keys: 'Ctrl+A', description: 'add a friend by name', scope: 'global', match: ctrl('a') },
  { id: 'acceptFriend', keys: 'Ctrl+Y', description: 'accept the oldest pending friend request', scope: 'global', match: ctrl('y') },
  { id: 'editor', keys: 'Ctrl+O', description: 'write a long message in $EDITOR', scope: 'global', match: ctrl('o') },
  { id: 'send', keys: 'Enter', description: 'send the message (queued while offline)', scope: 'input', match: (_i, k) => k.return },
];

export interface KeyContext {
  focus: 'sidebar' | 'input';
  overlay: null | 'help' | 'prompt';
  inputEmpty: boolean;
}

/** The binding a key press means in this context, if any. */
export function bindingFor(input: string, key: Key, c: KeyContext): Binding | undefined {
  for (const b of BINDINGS) {
    const applies =
      b.scope === 'global' ||
      (b.scope === 'overlay' && c.overlay !== null) ||
      (b.scope === 'sidebar' && c.focus === 'sidebar' && !c.overlay) ||
      (b.scope === 'input' && c.focus === 'input' && !c.overlay) ||
      // "?" toggles help, so it also closes it.
      (b.scope === 'empty-input' && (c.focus === 'sidebar' || c.inputEmpty) && c.overlay !== 'prompt');
    if (applies && b.match(input, key)) return b;
  }
  return undefined;
}
