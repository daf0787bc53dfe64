import React, { useEffect, useMemo, useReducer, useRef, useState } from 'react';
import { Box, Text, useApp, useStdout } from 'ink';
import type { ApiClient } from '../client/api.js';
import type { Message } from '../protocol/index.js';
import type { Connection } from '../client/socket.js';
import { ChatController } from './controller.js';
import { HelpOverlay } from './HelpOverlay.js';
import { bindingFor, lineOpFor, type BindingId } from './keys.js';
import type { KeyEvent } from './key-decoder.js';
import { applyLine, emptyLine, viewport, type LineOp, type LineState } from './line-editor.js';
import { useKeys } from './use-keys.js';
import { conversationLines, newMessagesScroll, scrollTo } from './layout.js';
import { MessagePane } from './MessagePane.js';
import { Sidebar } from './Sidebar.js';
import { initialState, reducer, type PromptPurpose, type TuiState } from './state.js';
import { MembersOverlay } from './MembersOverlay.js';
import { StatusBar } from './StatusBar.js';
import { theme } from './theme.js';

const PROMPT_LABELS: Record<PromptPurpose, string> = {
  search: 'search: ',
  addFriend: 'add friend: ',
  newGroup: 'new group (name, then friends): ',
  addMembers: 'add to the group (friends): ',
};

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
  const [state, dispatch] = useReducer(reducer, initialState(props.me, props.server));
  const stateRef = useRef<TuiState>(state);
  stateRef.current = state;
  const controller = useMemo(() => new ChatController(props.api, props.conn, dispatch, props.log, props.notify), [props.api, props.conn]);
  const size = useTerminalSize(props.size);
  const t = useMemo(() => theme(props.noColor), [props.noColor]);
  const [, tick] = useState(0);
  // Keys can arrive faster than renders, so the line being edited lives in a ref that every key
  // updates at once; the reducer gets a copy for rendering.
  const lineRef = useRef<LineState>(emptyLine());
  const promptRef = useRef('');
  const setLine = (l: LineState) => { lineRef.current = l; dispatch({ type: 'line', line: l }); };
  const lineOp = (o: LineOp) => setLine(applyLine(lineRef.current, o));
  const openPrompt = (purpose: PromptPurpose) => { promptRef.current = ''; dispatch({ type: 'overlay', overlay: { kind: 'prompt', purpose, value: '' } }); };
  const setPrompt = (purpose: PromptPurpose, v: string) => { promptRef.current = v; dispatch({ type: 'overlay', overlay: { kind: 'prompt', purpose, value: v } }); };

  useEffect(() => {
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
  const paneHeight = height - 2;

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
    if (at >= 0) dispatch({ type: 'scroll', delta: newMessagesScroll(lines.length, at, paneHeight - 1) - conv.scroll });
  }, [selected, conv?.messages.length, conv?.newFrom]);

  const run = (id: BindingId, k?: KeyEvent) => {
    const s = stateRef.current;
    switch (id) {
      case 'quit':
        controller.close();
        exit();
        return;
      case 'help':
        dispatch({ type: 'overlay', overlay: s.overlay?.kind === 'help' ? null : { kind: 'help' } });
        return;
      case 'closeOverlay':
        dispatch({ type: 'overlay', overlay: null });
        if (s.overlay?.kind === 'prompt' && s.overlay.purpose === 'search') dispatch({ type: 'jumpLatest' });
        return;
      case 'switchPane':
        dispatch({ type: 'focus', focus: s.focus === 'input' ? 'sidebar' : 'input' });
        return;
      case 'nextConversation':
      case 'sidebarDown':
        dispatch({ type: 'move', delta: 1 });
        return;
      case 'prevConversation':
      case 'sidebarUp':
        dispatch({ type: 'move', delta: -1 });
        return;
      case 'openConversation':
        dispatch({ type: 'focus', focus: 'input' });
        return;
      case 'scrollUp': {
        if (!s.selected) return;
        const c = s.conversations[s.selected]!;
        const lines = conversationLines(s, c, paneWidth - 1);
        const step = Math.max(1, paneHeight - 3);
        if (c.scroll + step >= lines.length - paneHeight && c.hasOlder) void controller.loadOlder(s.selected);
        dispatch({ type: 'scroll', delta: Math.min(step, Math.max(0, lines.length - paneHeight - c.scroll)) });
        return;
      }
      case 'scrollDown':
        dispatch({ type: 'scroll', delta: -Math.max(1, paneHeight - 3) });
        return;
      case 'jumpLatest':
        dispatch({ type: 'jumpLatest' });
        return;
      case 'search':
        openPrompt('search');
        return;
      case 'searchNext':
        dispatch({ type: 'searchNext' });
        return;
      case 'addFriend':
        openPrompt('addFriend');
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
          dispatch({ type: 'notice', text: 'open a group first (Alt+G makes one)' });
          return;
        }
        if (id === 'addMembers') openPrompt('addMembers');
        else void controller.showMembers(s.selected);
        return;
      case 'editor': {
        // The draft goes to $EDITOR and comes back to the input line, to be reviewed and sent with Enter.
        if (!props.runEditor) return;
        const text = props.runEditor(lineRef.current.text);
        // Either way a new frame is drawn (the screen was the editor's): cancelled, the draft stays.
        if (text !== null) lineOp({ op: 'set', text: text.replace(/\n+$/, '') });
        else setLine({ ...lineRef.current });
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
        const text = lineRef.current.text.trim();
        if (!text || !s.selected) return;
        controller.send(s.selected, text);
        lineOp({ op: 'submitted' });
        dispatch({ type: 'jumpLatest' });
        return;
      }
    }
  };

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
    if (idx >= 0) dispatch({ type: 'scroll', delta: scrollTo(lines, paneHeight - 1, idx) - c.scroll });
  }, [state.search]);

  /** Typed or pasted text into the line: control characters never reach the screen or the server. */
  const insertText = (text: string) => {
    const clean = text.replace(/\r\n?/g, '\n').replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '').replace(/\t/g, '  ');
    if (!clean) return;
    lineOp({ op: 'insert', text: clean });
    const sel = stateRef.current.selected;
    if (sel) controller.typing(sel);
  };

  useKeys((k) => {
    if (k.name === 'focusIn' || k.name === 'focusOut') return controller.setFocused(k.name === 'focusIn');
    const s = stateRef.current;
    if (s.overlay?.kind === 'prompt') {
      const o = s.overlay;
      if (k.ctrl && (k.ch === 'c' || k.ch === 'q')) return run('quit');
      if (k.name === 'escape') return run('closeOverlay');
      if (k.name === 'return') {
        const value = promptRef.current;
        dispatch({ type: 'overlay', overlay: null });
        if (o.purpose === 'addFriend' && value.trim()) void controller.addFriend(value.trim());
        if (o.purpose === 'newGroup' && value.trim()) void controller.createGroup(value.trim());
        if (o.purpose === 'addMembers' && value.trim() && s.selected) void controller.addMembers(s.selected, value.trim());
        if (o.purpose === 'search' && value) {
          dispatch({ type: 'search', query: value });
        }
        return;
      }
      if (k.name === 'backspace') return setPrompt(o.purpose, [...promptRef.current].slice(0, -1).join(''));
      if (k.name === undefined && !k.ctrl && !k.meta) setPrompt(o.purpose, promptRef.current + k.ch.replace(/[\u0000-\u001f\u007f-\u009f]/g, ''));
      return;
    }
    const b = bindingFor(k, { focus: s.focus, overlay: s.overlay?.kind ?? null, inputEmpty: lineRef.current.text.length === 0 });
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
  const promptLabel = state.selected ? `to ${state.selected}> ` : '> ';
  const view = viewport(state.line, size.columns - promptLabel.length - 1);
  return (
    <Box flexDirection="column" width={size.columns} height={height}>
      <Box height={paneHeight}>
        <Sidebar state={state} width={sidebarWidth} height={paneHeight} t={t} />
        {state.overlay?.kind === 'help' ? <HelpOverlay width={paneWidth} /> : state.overlay?.kind === 'members' ? <MembersOverlay overlay={state.overlay} state={state} width={paneWidth} height={paneHeight} t={t} /> : <MessagePane state={state} width={paneWidth} height={paneHeight} t={t} />}
      </Box>
      <Box width={size.columns}>
        {prompt ? (
          <Text wrap="truncate">{PROMPT_LABELS[prompt.purpose]}{prompt.value}<Text inverse> </Text></Text>
        ) : (
          <Text wrap="truncate" dimColor={state.focus !== 'input'}>
            {promptLabel}{view.before}{state.focus === 'input' ? <Text inverse>{view.at}</Text> : view.at}{view.after}
          </Text>
        )}
      </Box>
      <StatusBar state={state} width={size.columns} t={t} />
    </Box>
  );
}
