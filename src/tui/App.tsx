import React, { useEffect, useMemo, useReducer, useRef, useState } from 'react';
import { Box, Text, useApp, useStdout } from 'ink';
import type { ApiClient } from '../client/api.js';
import type { KnownNames } from '../client/names-cache.js';
import { isOneEmoji, snippet, type Message } from '../protocol/index.js';
import { sanitizeLine } from '../client/sanitize.js';
import type { Connection } from '../client/socket.js';
import { ChatController } from './controller.js';
import { HelpOverlay } from './HelpOverlay.js';
import { bindingFor, lineOpFor, type BindingId } from './keys.js';
import type { KeyEvent } from './key-decoder.js';
import { applyLine, boxView, emptyLine, type LineOp, type LineState } from './line-editor.js';
import { useKeys } from './use-keys.js';
import { conversationLines, newMessagesScroll, scrollTo } from './layout.js';
import { MessagePane } from './MessagePane.js';
import { Sidebar } from './Sidebar.js';
import { initialState, orderedPeers, reducer, type Action, type PromptPurpose, type TuiState } from './state.js';
import { MembersOverlay } from './MembersOverlay.js';
import { ResultsOverlay } from './ResultsOverlay.js';
import { StatusBar } from './StatusBar.js';
import { theme } from './theme.js';
import { completePath } from './files.js';
import { fuzzyRank } from './fuzzy.js';
import { completeSlash, parseSlash } from './slash.js';
import { rawUrls } from './links.js';
import { DEFAULT_SETTINGS, withKeys, type TuiSettings } from './settings.js';
import type { Pictures } from './image.js';

const PROMPT_LABELS: Record<PromptPurpose, string> = {
  search: 'search: ',
  addFriend: 'add friend: ',
  newGroup: 'new group (name, then friends): ',
  addMembers: 'add to the group (friends): ',
  react: `react (Enter): ${'1👍 2❤️ 3😂 4🎉 5😮 6😢 7👀 8🙏'}, or type one: `,
  confirmDelete: 'delete it? y then Enter (Esc keeps it): ',
  attach: 'send file (Tab completes): ',
  jump: 'jump to (a few letters; ↑/↓, Enter): ',
};

/** The conversations (friends among them) a finder query matches, best first. */
export function jumpMatches(s: TuiState, query: string): string[] {
  return fuzzyRank(query, orderedPeers(s).map((p) => ({ key: p, label: s.conversations[p]!.title }))).map((c) => c.key);
}

/** The finder's list, in the message pane's place while Alt+K's prompt is open. */
function JumpList({ state, query, index, width, height }: { state: TuiState; query: string; index: number; width: number; height: number }) {
  const matches = jumpMatches(state, query);
  const first = Math.max(0, index - (height - 2));
  return (
    <Box flexDirection="column" width={width} height={height} paddingLeft={1}>
      <Text bold wrap="truncate">{matches.length ? `${matches.length} conversation${matches.length === 1 ? '' : 's'} match` : `nothing matches "${sanitizeLine(query)}"`}</Text>
      {matches.slice(first, first + height - 1).map((p, i) => {
        const c = state.conversations[p]!;
        const what = c.kind === 'group' ? `${sanitizeLine(p)} · ${sanitizeLine(c.title)}` : `${sanitizeLine(p)} ${state.presence[p] ? '● online' : '○ offline'}`;
        const on = first + i === index;
        return <Text key={p} inverse={on} wrap="truncate">{on ? '▶ ' : '  '}{what}{c.unread ? ` (${c.unread})` : ''}</Text>;
      })}
    </Box>
  );
}

/** The most rows the input box grows to for a draft of several lines. */
export const MAX_INPUT_ROWS = 5;

/** The reaction picker's choices, by their number. */
export const QUICK_REACTIONS = ['👍', '❤️', '😂', '🎉', '😮', '😢', '👀', '🙏'];

export interface AppProps {
  api: ApiClient;
  conn: Connection;
  me: string;
  server: string;
  noColor: boolean;
  log: (m: string, e?: unknown) => void;
  /** Opens $EDITOR on the text and returns the result (null when cancelled). */
  runEditor?: (text: string) => string | null;
  /** Rings for a message that is not on screen or arrives while the terminal is not focused. */
  notify?: (m: Message) => void;
  /** Fixed size for tests; otherwise the terminal's, following resizes. */
  size?: { columns: number; rows: number };
  /** Image previews inline (half blocks): from CHAT_IMAGES and colours (image.ts). */
  images?: boolean;
  /** Pictures instead of half blocks: kitty's, sixel or iTerm2's (CHAT_IMAGES, or detected). */
  pictures?: Pictures;
  /** The settings file's (settings.ts), and what was wrong in it. */
  settings?: TuiSettings;
  settingsProblems?: string[];
  /** Links as OSC 8 hyperlinks (links.ts: the terminal takes them, or CHAT_LINKS=on). */
  links?: boolean;
  /** Keeps the names shell completion offers (names-cache.ts); tests leave it out. */
  remember?: (names: KnownNames) => void;
  /** The environment for the opener and the downloads folder (tests pass their own). */
  env?: NodeJS.ProcessEnv;
}

function useTerminalSize(fixed?: { columns: number; rows: number }) {
  const { stdout } = useStdout();
  const read = () => fixed ?? { columns: stdout.columns || 80, rows: stdout.rows || 24 };
  const [size, setSize] = useState(read);
  useEffect(() => {
    if (fixed) return;
    const on = () => setSize(read());
    stdout.on('resize', on);
    return () => { stdout.off('resize', on); };
  }, [stdout]);
  return size;
}

export function App(props: AppProps) {
  const { exit } = useApp();
  const settings = props.settings ?? DEFAULT_SETTINGS;
  const bindings = useMemo(() => withKeys(settings.keys), [settings]);
  const [state, dispatch] = useReducer(reducer, initialState(props.me, props.server, settings.timestamps));
  const stateRef = useRef<TuiState>(state);
  stateRef.current = state;
  const controller = useMemo(() => new ChatController(props.api, props.conn, dispatch, props.log, props.notify, props.remember, props.pictures), [props.api, props.conn]);
  const size = useTerminalSize(props.size);
  const t = useMemo(() => theme(props.noColor ? 'none' : settings.theme), [props.noColor, settings.theme]);
  const [, tick] = useState(0);
  // Keys can arrive faster than renders, so the line being edited lives in a ref that every key
  // updates at once; the reducer gets a copy for rendering.
  const lineRef = useRef<LineState>(emptyLine());
  const promptRef = useRef('');
  const setLine = (l: LineState) => { lineRef.current = l; dispatch({ type: 'line', line: l }); };
  // Keys of one burst are handled before the next render: what a key does is seen at once by the
  // keys after it (Alt+↑ then Alt+E in one read edits the message just picked).
  const act = (a: Action) => { stateRef.current = reducer(stateRef.current, a); dispatch(a); };
  const lineOp = (o: LineOp) => setLine(applyLine(lineRef.current, o));
  const openPrompt = (purpose: PromptPurpose) => { promptRef.current = ''; act({ type: 'overlay', overlay: { kind: 'prompt', purpose, value: '' } }); };
  const setPrompt = (purpose: PromptPurpose, v: string) => {
    promptRef.current = v;
    const o = stateRef.current.overlay;
    act({ type: 'overlay', overlay: { kind: 'prompt', purpose, value: v, ...(o?.kind === 'prompt' && o.everywhere ? { everywhere: true } : {}) } });
  };
  /** Shows the picked hit of the last server search in its conversation, loaded back to it. */
  const showHit = async () => {
    const r = stateRef.current.results;
    const hit = r?.hits[r.index];
    if (!r || !hit) return;
    act({ type: 'overlay', overlay: null });
    act({ type: 'select', peer: hit.with });
    act({ type: 'focus', focus: 'input' });
    if (!(await controller.reveal(hit.with, hit.message.seq))) {
      act({ type: 'notice', text: `#${hit.message.seq} is further back than the TUI loads: chat history ${hit.with} --around ${hit.message.seq}` });
      return;
    }
    act({ type: 'searchHit', peer: hit.with, query: r.query, id: hit.message.id });
    act({ type: 'notice', search: true, text: `search "${r.query}": ${r.index + 1} of ${r.hits.length}${r.hits.length === 50 ? '+' : ''}${r.index + 1 < r.hits.length ? ' (Ctrl+G next)' : ''}` });
  };

  useEffect(() => {
    if (props.images) act({ type: 'images', on: true });
    // What was wrong in the settings file: said at start (each such setting kept its default).
    if (props.settingsProblems?.length) act({ type: 'notice', text: props.settingsProblems.join('; ') });
    controller.start(() => stateRef.current).catch((err: Error) => dispatch({ type: 'notice', text: err.message }));
    // Typing indicators expire: re-render now and then.
    const timer = setInterval(() => tick((n) => n + 1), 1000);
    return () => { clearInterval(timer); controller.close(); };
  }, [controller]);

  // Opening a conversation loads its latest page and marks it read.
  const selected = state.selected;
  const conv = selected ? state.conversations[selected] : undefined;
  useEffect(() => {
    if (!selected) return;
    if ((conv?.messages.length ?? 0) <= 1) void controller.loadOlder(selected);
    if (conv?.kind === 'group') void controller.loadReads(selected);
  }, [selected]);
  useEffect(() => {
    if (selected && conv && conv.scroll === 0) controller.markRead(selected);
  }, [selected, conv?.messages.length, conv?.scroll]);

  const sidebarWidth = Math.min(28, Math.max(18, Math.floor(size.columns / 4)));
  const paneWidth = size.columns - sidebarWidth;
  // One row short of the terminal: ink clears the whole terminal (scrollback included) and
  // repaints everything when a frame fills it; below that it rewrites only the changed lines.
  const height = Math.max(4, size.rows - 1);
  // An edit or a reply takes one line above the input, for what it edits or answers.
  const composing = state.compose !== null && state.compose.peer === state.selected;
  // A draft of several lines grows the input box, up to MAX_INPUT_ROWS rows (then it scrolls).
  const inputRows = state.overlay?.kind === 'prompt' ? 1 : Math.min(MAX_INPUT_ROWS, state.line.text.split('\n').length);
  const paneHeight = height - 1 - inputRows - (composing ? 1 : 0);
  // The message lines the pane shows: below its header row, above its typing row.
  const viewRows = paneHeight - 2;

  // Opened with more unread than fit: start at the "new messages" line (once it is loaded), not at
  // the bottom, so nothing unread scrolls past unseen. Once per opening.
  const positioned = useRef('');
  useEffect(() => {
    if (!selected || !conv || conv.newFrom === undefined) return;
    const key = `${selected}:${conv.newFrom}`;
    if (positioned.current === key) return;
    if (conv.hasOlder && (conv.messages[0]?.seq ?? Infinity) > conv.newFrom + 1) return; // still loading
    positioned.current = key;
    const lines = conversationLines(stateRef.current, conv, paneWidth - 1);
    const at = lines.findIndex((l) => l.tone === 'separator' && l.text.includes(' new messages '));
    if (at >= 0) dispatch({ type: 'scroll', delta: newMessagesScroll(lines.length, at, viewRows) - conv.scroll });
  }, [selected, conv?.messages.length, conv?.newFrom]);

  const run = (id: BindingId, k?: KeyEvent) => {
    const s = stateRef.current;
    switch (id) {
      case 'quit':
        controller.close();
        exit();
        return;
      case 'help':
        act({ type: 'overlay', overlay: s.overlay?.kind === 'help' ? null : { kind: 'help' } });
        return;
      case 'closeOverlay':
        act({ type: 'overlay', overlay: null });
        if (s.overlay?.kind === 'results' && s.results && s.results.from !== s.selected) act({ type: 'select', peer: s.results.from });
        if (s.overlay?.kind === 'prompt' && s.overlay.purpose === 'search') act({ type: 'jumpLatest' });
        return;
      case 'switchPane':
        act({ type: 'focus', focus: s.focus === 'input' ? 'sidebar' : 'input' });
        return;
      case 'nextConversation':
      case 'sidebarDown':
        act({ type: 'move', delta: 1 });
        return;
      case 'prevConversation':
      case 'sidebarUp':
        act({ type: 'move', delta: -1 });
        return;
      case 'openConversation':
        act({ type: 'focus', focus: 'input' });
        return;
      case 'scrollUp': {
        if (!s.selected) return;
        const c = s.conversations[s.selected]!;
        const lines = conversationLines(s, c, paneWidth - 1);
        const step = Math.max(1, viewRows - 2);
        if (c.scroll + step >= lines.length - viewRows && c.hasOlder) void controller.loadOlder(s.selected);
        act({ type: 'scroll', delta: Math.min(step, Math.max(0, lines.length - viewRows - c.scroll)) });
        return;
      }
      case 'scrollDown':
        act({ type: 'scroll', delta: -Math.max(1, viewRows - 2) });
        return;
      case 'jumpLatest':
      case 'endLatest':
        act({ type: 'jumpLatest' });
        return;
      case 'dismissFailed':
        act({ type: 'dismissFailed' });
        return;
      case 'search':
        openPrompt('search');
        return;
      case 'jump':
        openPrompt('jump');
        return;
      case 'searchNext':
        if (s.results) {
          if (s.results.index + 1 >= s.results.hits.length) act({ type: 'notice', text: 'that was the last hit' });
          else {
            act({ type: 'resultsMove', delta: 1 });
            void showHit();
          }
        } else act({ type: 'notice', text: 'Ctrl+R searches first' });
        return;
      case 'addFriend':
        openPrompt('addFriend');
        return;
      case 'attach':
        if (!s.selected) { act({ type: 'notice', text: 'open a conversation first' }); return; }
        openPrompt('attach');
        return;
      case 'acceptFriend':
        void controller.acceptOldest();
        return;
      case 'newGroup':
        openPrompt('newGroup');
        return;
      case 'addMembers':
      case 'members':
        if (!s.selected || s.conversations[s.selected]?.kind !== 'group') {
          act({ type: 'notice', text: 'open a group first (Alt+G makes one)' });
          return;
        }
        if (id === 'addMembers') openPrompt('addMembers');
        else void controller.showMembers(s.selected);
        return;
      case 'editor': {
        // The draft goes to $EDITOR and comes back to the input line, to be reviewed and sent with Enter.
        if (!props.runEditor) return;
        // Either way a new frame is drawn (the screen was the editor's): cancelled or failed, the draft stays.
        try {
          const text = props.runEditor(lineRef.current.text);
          if (text !== null) lineOp({ op: 'set', text: text.replace(/\n+$/, '') });
          else setLine({ ...lineRef.current });
        } catch (err) {
          setLine({ ...lineRef.current });
          act({ type: 'notice', text: (err as Error).message });
        }
        return;
      }
      case 'newline':
        lineOp({ op: 'insert', text: '\n' });
        return;
      case 'edit': {
        const o = k && lineOpFor(k);
        if (o) lineOp(o);
        return;
      }
      case 'send': {
        let text = lineRef.current.text.trim();
        if (!text || !s.selected) return;
        const c = s.compose?.peer === s.selected ? s.compose : null;
        // A slash command runs (a misused one says how, the draft kept); an edit or a reply is text.
        if (!c) {
          const line = parseSlash(text, s.conversations[s.selected]?.kind === 'group');
          if (line.kind === 'error') { act({ type: 'notice', text: line.message }); return; }
          if (line.kind === 'command') {
            if (line.name === 'help') act({ type: 'overlay', overlay: { kind: 'help' } });
            else void controller.slash(s.selected, line.name, line.args, line.rest);
            lineOp({ op: 'submitted' });
            return;
          }
          text = line.text;
        }
        // What the server would refuse is refused here, the draft kept to be cut down.
        if (text.length > s.maxMessageLength) {
          act({ type: 'notice', text: `too long to send: ${text.length} of at most ${s.maxMessageLength} characters (Ctrl+O edits it in $EDITOR)` });
          return;
        }
        act({ type: 'unfreeze' });
        if (c?.kind === 'edit') void controller.change('message:edit', { to: s.selected, seq: c.seq, text });
        else controller.send(s.selected, text, c?.kind === 'reply' ? c.seq : undefined);
        if (c) act({ type: 'unpick' });
        lineOp({ op: 'submitted' });
        act({ type: 'jumpLatest' });
        return;
      }
      case 'pickUp':
      case 'pickDown':
        act({ type: 'pick', delta: id === 'pickUp' ? -1 : 1 });
        return;
      case 'unpick':
        if (s.compose?.kind === 'edit') lineOp({ op: 'set', text: '' });
        act({ type: 'unpick' });
        return;
      case 'openPicked':
      case 'savePicked': {
        const m = picked(s);
        if (!m) return;
        const files = m.deleted ? [] : m.files ?? [];
        // Alt+O opens the message's file, or else its first link.
        const url = m.deleted ? undefined : rawUrls(m.text)[0];
        if (id === 'openPicked' && files.length === 0 && url) { void controller.openLink(url, props.env); return; }
        if (files.length === 0) { act({ type: 'notice', text: id === 'openPicked' ? 'the picked message has no file or link' : 'the picked message has no file' }); return; }
        if (id === 'openPicked') void controller.openFile(files[0]!, props.env);
        else void controller.saveFiles(files, props.env);
        return;
      }
      case 'editPicked':
      case 'replyPicked':
      case 'reactPicked':
      case 'deletePicked':
      case 'jumpQuoted': {
        const m = picked(s);
        if (!m) return;
        if (m.deleted) { act({ type: 'notice', text: 'that message was deleted' }); return; }
        if (id === 'editPicked') {
          if (m.from !== s.me || m.kind !== 'user') { act({ type: 'notice', text: 'only your own messages can be edited' }); return; }
          lineOp({ op: 'set', text: m.text });
          act({ type: 'compose', compose: { kind: 'edit', peer: s.selected!, seq: m.seq } });
          act({ type: 'focus', focus: 'input' });
        } else if (id === 'replyPicked') {
          act({ type: 'compose', compose: { kind: 'reply', peer: s.selected!, seq: m.seq } });
          act({ type: 'focus', focus: 'input' });
        } else if (id === 'reactPicked') openPrompt('react');
        else if (id === 'deletePicked') openPrompt('confirmDelete');
        else if (m.replyTo === undefined) act({ type: 'notice', text: 'the picked message is not a reply' });
        else if (!s.conversations[s.selected!]?.messages.some((x) => x.seq === m.replyTo)) act({ type: 'notice', text: `#${m.replyTo} is not loaded: PgUp loads older messages` });
        else act({ type: 'pickSeq', seq: m.replyTo });
        return;
      }
    }
  };

  /** Keeps the picked message in view as the pick moves. */
  useEffect(() => {
    const s = stateRef.current;
    if (!s.pick || !s.selected) return;
    const c = s.conversations[s.selected]!;
    const lines = conversationLines(s, c, paneWidth - 1);
    const idx = lines.findIndex((l) => l.tone === 'picked');
    if (idx >= 0) dispatch({ type: 'scroll', delta: scrollTo(lines, viewRows, idx) - c.scroll });
  }, [state.pick]);

  /**
   * Scrolls so the current search hit is in view: after each search or searchNext has been
   * rendered (a timer set at dispatch could run before the render and centre the old hit).
   */
  useEffect(() => {
    const s = stateRef.current;
    if (!s.search?.hit || !s.selected) return;
    const c = s.conversations[s.selected]!;
    const lines = conversationLines(s, c, paneWidth - 1);
    const idx = lines.findIndex((l) => l.tone === 'hit');
    if (idx >= 0) dispatch({ type: 'scroll', delta: scrollTo(lines, viewRows, idx) - c.scroll });
  }, [state.search]);

  /** Typed or pasted text into the line: control characters never reach the screen or the server. */
  const insertText = (text: string) => {
    const clean = text.replace(/\r\n?/g, '\n').replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '').replace(/\t/g, '  ');
    if (!clean) return;
    lineOp({ op: 'insert', text: clean });
    if (stateRef.current.frozenOrder) act({ type: 'unfreeze' });
    const sel = stateRef.current.selected;
    if (sel) controller.typing(sel);
  };

  /** The mouse (when the settings turn it on): the wheel scrolls the pane, a click opens a conversation of the list. */
  const onMouse = (m: NonNullable<KeyEvent['mouse']>) => {
    const s = stateRef.current;
    if (s.overlay || m.release) return;
    if (m.button === 64 || m.button === 65) {
      if (!s.selected) return;
      if (m.button === 65) return act({ type: 'scroll', delta: -3 });
      const c = s.conversations[s.selected]!;
      const lines = conversationLines(s, c, paneWidth - 1);
      if (c.scroll + 3 >= lines.length - viewRows && c.hasOlder) void controller.loadOlder(s.selected);
      return act({ type: 'scroll', delta: Math.min(3, Math.max(0, lines.length - viewRows - c.scroll)) });
    }
    // A left click in the list: its first row is the heading, then two rows per conversation.
    if (m.button === 0 && m.x <= sidebarWidth && m.y >= 2) {
      const peer = orderedPeers(s)[Math.floor((m.y - 2) / 2)];
      if (peer && (m.y - 2) / 2 < Math.floor((paneHeight - 2) / 2)) {
        act({ type: 'select', peer });
        act({ type: 'focus', focus: 'input' });
      }
    }
  };

  useKeys((k) => {
    if (k.name === 'focusIn' || k.name === 'focusOut') return controller.setFocused(k.name === 'focusIn');
    if (k.name === 'mouse') return k.mouse ? onMouse(k.mouse) : undefined;
    const s = stateRef.current;
    if (s.overlay?.kind === 'prompt') {
      const o = s.overlay;
      if (k.ctrl && (k.ch === 'c' || k.ch === 'q')) return run('quit');
      if (k.name === 'escape') return run('closeOverlay');
      if (o.purpose === 'jump' && (k.name === 'up' || k.name === 'down')) {
        const n = jumpMatches(s, promptRef.current).length;
        return act({ type: 'overlay', overlay: { ...o, index: Math.max(0, Math.min(n - 1, (o.index ?? 0) + (k.name === 'up' ? -1 : 1))) } });
      }
      if (k.name === 'return') {
        const value = promptRef.current;
        act({ type: 'overlay', overlay: null });
        if (o.purpose === 'jump') {
          const to = jumpMatches(s, value)[o.index ?? 0];
          if (!to) act({ type: 'notice', text: `no conversation matches "${value.trim()}"` });
          else {
            act({ type: 'select', peer: to });
            act({ type: 'focus', focus: 'input' });
          }
          return;
        }
        if (o.purpose === 'addFriend' && value.trim()) void controller.addFriend(value.trim());
        if (o.purpose === 'newGroup' && value.trim()) void controller.createGroup(value.trim());
        if (o.purpose === 'addMembers' && value.trim() && s.selected) void controller.addMembers(s.selected, value.trim());
        if (o.purpose === 'search') {
          if (value.trim()) void controller.searchServer(value.trim(), o.everywhere || !s.selected ? null : s.selected);
          else if (s.results) act({ type: 'overlay', overlay: { kind: 'results' } });
        }
        const m = picked(s);
        if (o.purpose === 'react' && m && value.trim()) {
          const v = value.trim();
          const emoji = /^[1-8]$/.test(v) ? QUICK_REACTIONS[Number(v) - 1]! : v;
          if (!isOneEmoji(emoji)) act({ type: 'notice', text: 'a reaction is one emoji (or 1-8 from the list)' });
          else void controller.change('message:react', { to: s.selected, seq: m.seq, emoji });
        }
        if (o.purpose === 'attach' && value.trim() && s.selected) {
          // The line goes with the file as its text; it is cleared once sent, unless typed over meanwhile.
          const text = lineRef.current.text;
          void controller.attach(value, s.selected, text).then((sent) => { if (sent && text && lineRef.current.text === text) lineOp({ op: 'set', text: '' }); });
        }
        if (o.purpose === 'confirmDelete' && m && value.trim().toLowerCase() === 'y') {
          void controller.change('message:delete', { to: s.selected, seq: m.seq });
          act({ type: 'unpick' });
        }
        return;
      }
      if (k.name === 'tab' && o.purpose === 'search') return act({ type: 'overlay', overlay: { ...o, everywhere: !o.everywhere } });
      if (k.name === 'tab' && o.purpose === 'attach') {
        const done = completePath(promptRef.current);
        if (done.candidates.length) act({ type: 'notice', text: done.candidates.slice(0, 12).join('  ') + (done.candidates.length > 12 ? `  … ${done.candidates.length - 12} more` : '') });
        return setPrompt(o.purpose, done.value);
      }
      if (k.name === 'backspace') return setPrompt(o.purpose, [...promptRef.current].slice(0, -1).join(''));
      if (k.name === undefined && !k.ctrl && !k.meta) setPrompt(o.purpose, promptRef.current + k.ch.replace(/[\u0000-\u001f\u007f-\u009f]/g, ''));
      return;
    }
    if (s.overlay?.kind === 'results') {
      if (k.name === 'up' || k.name === 'down') return act({ type: 'resultsMove', delta: k.name === 'up' ? -1 : 1 });
      if (k.name === 'return') return void showHit();
    }
    const open = s.selected ? s.conversations[s.selected] : undefined;
    // Tab on a slash command completes it (its name, then friends, members or roles).
    if (k.name === 'tab' && !s.overlay && s.focus === 'input' && open && /^\/[^\n]*$/.test(lineRef.current.text)) {
      const friends = Object.keys(s.presence);
      const members = [...new Set([...friends, ...open.messages.filter((m) => m.kind === 'user').map((m) => m.from)])].filter((u) => u !== s.me);
      const done = completeSlash(lineRef.current.text, { friends, members });
      if (done.candidates.length) act({ type: 'notice', text: done.candidates.slice(0, 12).join('  ') });
      return lineOp({ op: 'set', text: done.value });
    }
    const b = bindingFor(k, { focus: s.focus, overlay: s.overlay?.kind ?? null, inputEmpty: lineRef.current.text.length === 0, picking: s.pick !== null || s.compose !== null || s.search !== null, failed: open?.pending.some((p) => p.error) ?? false }, bindings);
    if (b) return run(b.id, k);
    if (s.overlay) return;
    if (s.focus !== 'input') return;
    if (k.name === undefined && !k.ctrl && !k.meta) insertText(k.ch);
  }, (pasted) => {
    // A paste is one draft, line breaks and all: it is sent with Enter, not line by line.
    const s = stateRef.current;
    if (s.overlay?.kind === 'prompt') return setPrompt(s.overlay.purpose, promptRef.current + pasted.replace(/[\u0000-\u001f\u007f-\u009f]/g, ' '));
    if (s.focus === 'input' && !s.overlay) insertText(pasted);
  });

  const prompt = state.overlay?.kind === 'prompt' ? state.overlay : null;
  const promptLabel = !state.selected ? '> ' : state.compose?.kind === 'edit' && composing ? `edit #${state.compose.seq}> ` : `to ${state.selected}> `;
  // Near the server's limit, how many characters the draft has of how many it may.
  const count = state.line.text.length >= state.maxMessageLength * 0.8 ? `${state.line.text.length}/${state.maxMessageLength}` : '';
  const over = state.line.text.length > state.maxMessageLength;
  // Lines scrolled out of the box, and the count near the limit, at the right of its last row.
  const shape = boxView(state.line, size.columns, MAX_INPUT_ROWS);
  const lineInfo = shape.total > shape.rows.length ? `lines ${shape.first + 1}-${shape.first + shape.rows.length} of ${shape.total}` : '';
  const counter = [lineInfo, count].filter(Boolean).join(' · ');
  const box = boxView(state.line, size.columns - promptLabel.length - 1 - (counter ? counter.length + 1 : 0), MAX_INPUT_ROWS);
  return (
    <Box flexDirection="column" width={size.columns} height={height}>
      <Box height={paneHeight}>
        {state.overlay?.kind === 'help' ? <HelpOverlay width={size.columns} bindings={bindings} /> : <Sidebar state={state} width={sidebarWidth} height={paneHeight} t={t} />}
        {state.overlay?.kind === 'help' ? null : prompt?.purpose === 'jump' ? <JumpList state={state} query={prompt.value} index={prompt.index ?? 0} width={paneWidth} height={paneHeight} /> : state.overlay?.kind === 'members' ? <MembersOverlay overlay={state.overlay} state={state} width={paneWidth} height={paneHeight} t={t} /> : state.overlay?.kind === 'results' && state.results ? <ResultsOverlay results={state.results} width={paneWidth} height={paneHeight} t={t} /> : <MessagePane state={state} width={paneWidth} height={paneHeight} t={t} links={props.links} />}
      </Box>
      {composing ? <Box width={size.columns}><Text wrap="truncate" dimColor>{composeLine(state)}</Text></Box> : null}
      {prompt ? (
        <Box width={size.columns}>
          <Text wrap="truncate">{prompt.purpose === 'search' ? `search ${prompt.everywhere || !state.selected ? 'everywhere' : state.selected} (Tab: ${prompt.everywhere || !state.selected ? 'this conversation' : 'everywhere'}; empty: the last hits): ` : PROMPT_LABELS[prompt.purpose]}{prompt.value}<Text inverse> </Text></Text>
        </Box>
      ) : box.rows.map((r, i) => (
        <Box key={`in${i}`} width={size.columns}>
          <Text wrap="truncate" dimColor={state.focus !== 'input'}>
            {i === 0 ? promptLabel : ' '.repeat(promptLabel.length)}{r.before}{r.at === null ? '' : state.focus === 'input' ? <Text inverse>{r.at}</Text> : r.at}{r.after}
          </Text>
          {i === box.rows.length - 1 && counter ? <Box flexGrow={1} justifyContent="flex-end"><Text color={over ? t.warn : undefined} dimColor={!over}>{` ${counter}`}</Text></Box> : null}
        </Box>
      ))}
      <StatusBar state={state} width={size.columns} t={t} />
    </Box>
  );
}

/** The message picked in the open conversation, if it is loaded. */
function picked(s: TuiState): Message | undefined {
  if (!s.pick || s.pick.peer !== s.selected) return undefined;
  return s.conversations[s.selected]?.messages.find((m) => m.seq === s.pick!.seq);
}

/** The line above the input while editing or answering: what, and how to drop it. */
function composeLine(s: TuiState): string {
  const c = s.compose!;
  const m = s.conversations[c.peer]?.messages.find((x) => x.seq === c.seq);
  const quote = m ? `${sanitizeLine(m.from)}: ${m.deleted ? '(deleted)' : sanitizeLine(snippet(m.text))}` : `#${c.seq}`;
  return c.kind === 'edit' ? `editing #${c.seq} (Enter saves, Esc cancels)` : `↪ replying to ${quote}  (Esc cancels)`;
}
