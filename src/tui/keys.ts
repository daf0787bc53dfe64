import type { KeyEvent } from './key-decoder.js';
import type { LineOp } from './line-editor.js';

/** Where a binding applies: everywhere, or only when that pane has focus / the input is empty. */
export type Scope = 'global' | 'sidebar' | 'input' | 'empty-input' | 'overlay' | 'picked' | 'failed';

export interface Binding {
  id: BindingId;
  /** How the help screen shows the keys. */
  keys: string;
  description: string;
  scope: Scope;
  match(k: KeyEvent): boolean;
  /** Given another key by the settings file (settings.ts). */
  rebound?: boolean;
}

export type BindingId =
  | 'quit' | 'help' | 'closeOverlay' | 'switchPane' | 'nextConversation' | 'prevConversation'
  | 'sidebarDown' | 'sidebarUp' | 'openConversation' | 'scrollUp' | 'scrollDown' | 'jumpLatest'
  | 'search' | 'searchNext' | 'addFriend' | 'acceptFriend' | 'newGroup' | 'addMembers' | 'members' | 'editor' | 'newline' | 'send' | 'edit'
  | 'pickUp' | 'pickDown' | 'editPicked' | 'replyPicked' | 'deletePicked' | 'reactPicked' | 'jumpQuoted' | 'unpick'
  | 'attach' | 'openPicked' | 'savePicked' | 'endLatest' | 'dismissFailed' | 'jump';

const plain = (k: KeyEvent) => !k.ctrl && !k.meta;
const ctrl = (ch: string) => (k: KeyEvent) => k.ctrl && !k.meta && k.name === undefined && k.ch === ch;
const alt = (ch: string) => (k: KeyEvent) => k.meta && !k.ctrl && k.name === undefined && k.ch === ch;
const named = (name: KeyEvent['name']) => (k: KeyEvent) => k.name === name && plain(k) && !k.shift;

/**
 * The line editor's keys, as readline has them. Ctrl+A/E/B/F/W/U/K/D belong to the input line;
 * the chat's own actions use other keys.
 */
export function lineOpFor(k: KeyEvent): LineOp | undefined {
  if (k.name === 'left') return k.meta || k.ctrl ? { op: 'wordLeft' } : { op: 'left' };
  if (k.name === 'right') return k.meta || k.ctrl ? { op: 'wordRight' } : { op: 'right' };
  if (k.name === 'home') return { op: 'home' };
  if (k.name === 'end') return { op: 'end' };
  if (k.name === 'up' && plain(k)) return { op: 'historyPrev' };
  if (k.name === 'down' && plain(k)) return { op: 'historyNext' };
  if (k.name === 'backspace') return k.meta || k.ctrl ? { op: 'killWordBack' } : { op: 'backspace' };
  if (k.name === 'delete') return { op: 'delete' };
  if (k.name !== undefined) return undefined;
  if (k.ctrl && !k.meta) {
    const ops: Record<string, LineOp> = { a: { op: 'home' }, e: { op: 'end' }, b: { op: 'left' }, f: { op: 'right' }, w: { op: 'killWordBack' }, u: { op: 'killToStart' }, k: { op: 'killToEnd' }, d: { op: 'delete' } };
    return ops[k.ch];
  }
  if (k.meta && !k.ctrl) return k.ch === 'b' ? { op: 'wordLeft' } : k.ch === 'f' ? { op: 'wordRight' } : k.ch === 'd' ? { op: 'killToEnd' } : undefined;
  return undefined;
}

/**
 * The one key-binding registry: it drives the behaviour (App), the help overlay and the tests.
 * Printable keys and readline's editing keys belong to the input line; the chat's actions use
 * Ctrl+N/P/O/R/G/L/C/Q, Alt+A/Y/G/I/M, Tab, paging keys and F1.
 */
export const BINDINGS: readonly Binding[] = [
  { id: 'quit', keys: 'Ctrl+C, Ctrl+Q', description: 'quit (the terminal is restored)', scope: 'global', match: (k) => ctrl('c')(k) || ctrl('q')(k) },
  { id: 'help', keys: '? (empty input), F1', description: 'show or hide this help', scope: 'empty-input', match: (k) => (plain(k) && k.name === undefined && k.ch === '?') || k.name === 'f1' },
  { id: 'closeOverlay', keys: 'Esc', description: 'close help, prompt, member list or search hits (back where the search began)', scope: 'overlay', match: named('escape') },
  { id: 'switchPane', keys: 'Tab', description: 'switch focus between conversations and input', scope: 'global', match: (k) => k.name === 'tab' || k.name === 'backtab' },
  { id: 'nextConversation', keys: 'Ctrl+N', description: 'next conversation', scope: 'global', match: ctrl('n') },
  { id: 'prevConversation', keys: 'Ctrl+P', description: 'previous conversation', scope: 'global', match: ctrl('p') },
  { id: 'jump', keys: 'Alt+K', description: 'jump to a conversation or friend by name: type a few letters, ↑/↓, Enter', scope: 'global', match: alt('k') },
  { id: 'sidebarDown', keys: '↓, j', description: 'move down the conversation list', scope: 'sidebar', match: (k) => named('down')(k) || (plain(k) && k.ch === 'j') },
  { id: 'sidebarUp', keys: '↑, k', description: 'move up the conversation list', scope: 'sidebar', match: (k) => named('up')(k) || (plain(k) && k.ch === 'k') },
  { id: 'openConversation', keys: 'Enter', description: 'open the selected conversation and type', scope: 'sidebar', match: named('return') },
  { id: 'scrollUp', keys: 'PgUp', description: 'scroll up (older messages load on demand)', scope: 'global', match: (k) => k.name === 'pageUp' },
  { id: 'scrollDown', keys: 'PgDn', description: 'scroll down', scope: 'global', match: (k) => k.name === 'pageDown' },
  { id: 'jumpLatest', keys: 'Ctrl+L', description: 'redraw and jump to the latest message', scope: 'global', match: ctrl('l') },
  { id: 'endLatest', keys: 'End (empty input)', description: 'jump to the latest message', scope: 'empty-input', match: named('end') },
  { id: 'search', keys: 'Ctrl+R', description: 'search the server: this conversation, or everywhere (Tab); the hits in a list (Enter on an empty query: the last ones again)', scope: 'global', match: ctrl('r') },
  { id: 'searchNext', keys: 'Ctrl+G', description: 'the next hit, shown in its conversation', scope: 'global', match: ctrl('g') },
  { id: 'addFriend', keys: 'Alt+A', description: 'add a friend by name', scope: 'global', match: alt('a') },
  { id: 'acceptFriend', keys: 'Alt+Y', description: 'accept the oldest pending friend request', scope: 'global', match: alt('y') },
  { id: 'newGroup', keys: 'Alt+G', description: 'create a group: its name, then friends to add', scope: 'global', match: alt('g') },
  { id: 'addMembers', keys: 'Alt+I', description: 'add friends to the open group', scope: 'global', match: alt('i') },
  { id: 'members', keys: 'Alt+M', description: 'show the open group\'s members (Esc closes)', scope: 'global', match: alt('m') },
  { id: 'pickUp', keys: 'Alt+↑', description: 'pick a message: the last, then older ones', scope: 'global', match: (k) => k.name === 'up' && k.meta && !k.ctrl },
  { id: 'pickDown', keys: 'Alt+↓', description: 'pick a newer message (past the last: none)', scope: 'global', match: (k) => k.name === 'down' && k.meta && !k.ctrl },
  { id: 'editPicked', keys: 'Alt+E', description: 'edit the picked message (yours) in the input line', scope: 'picked', match: alt('e') },
  { id: 'replyPicked', keys: 'Alt+R', description: 'reply to the picked message (its quote above the input)', scope: 'picked', match: alt('r') },
  { id: 'reactPicked', keys: 'Alt+.', description: 'react to the picked message: pick an emoji or type one', scope: 'picked', match: alt('.') },
  { id: 'deletePicked', keys: 'Alt+X', description: 'delete the picked message (asks first)', scope: 'picked', match: alt('x') },
  { id: 'jumpQuoted', keys: 'Alt+J', description: 'jump to the message the picked reply quotes', scope: 'picked', match: alt('j') },
  { id: 'unpick', keys: 'Esc', description: 'drop the pick, the edit or the reply, or a search hit\'s highlight', scope: 'picked', match: named('escape') },
  { id: 'dismissFailed', keys: 'Esc', description: 'dismiss the open conversation\'s sends that were refused', scope: 'failed', match: named('escape') },
  { id: 'attach', keys: 'Alt+F', description: 'send a file: its path (Tab completes; paste one), sent with the line as its text', scope: 'global', match: alt('f') },
  { id: 'openPicked', keys: 'Alt+O', description: 'open the picked message\'s file (xdg-open / open)', scope: 'picked', match: alt('o') },
  { id: 'savePicked', keys: 'Alt+S', description: 'save the picked message\'s files to the downloads folder', scope: 'picked', match: alt('s') },
  { id: 'editor', keys: 'Ctrl+O', description: 'edit the draft in $EDITOR (it comes back to the input line)', scope: 'global', match: ctrl('o') },
  { id: 'newline', keys: 'Alt+Enter, Shift+Enter', description: 'a new line in the message', scope: 'input', match: (k) => k.name === 'return' && (k.meta || k.shift) },
  { id: 'send', keys: 'Enter', description: 'send the message (queued while offline)', scope: 'input', match: named('return') },
  { id: 'edit', keys: '←/→, Home/End, Ctrl+A/E/B/F/W/U/K/D, Alt+B/F, ↑/↓', description: 'edit the line as in readline; ↑/↓ recall sent lines', scope: 'input', match: (k) => lineOpFor(k) !== undefined },
];

export interface KeyContext {
  focus: 'sidebar' | 'input';
  overlay: null | 'help' | 'prompt' | 'members' | 'results';
  inputEmpty: boolean;
  /** A message is picked, an edit or reply is being written, or a search hit is highlighted. */
  picking?: boolean;
  /** The open conversation shows sends that were refused. */
  failed?: boolean;
}

/** The binding a key press means in this context, if any. */
export function bindingFor(k: KeyEvent, c: KeyContext, bindings: readonly Binding[] = BINDINGS): Binding | undefined {
  for (const b of bindings) {
    const applies =
      b.scope === 'global' ||
      (b.scope === 'overlay' && c.overlay !== null) ||
      (b.scope === 'picked' && c.picking === true && c.overlay === null) ||
      (b.scope === 'failed' && c.failed === true && c.overlay === null) ||
      (b.scope === 'sidebar' && c.focus === 'sidebar' && !c.overlay) ||
      (b.scope === 'input' && c.focus === 'input' && !c.overlay) ||
      // "?" toggles help, so it also closes it.
      (b.scope === 'empty-input' && (c.focus === 'sidebar' || c.inputEmpty) && c.overlay !== 'prompt');
    if (applies && b.match(k)) return b;
  }
  return undefined;
}
