import { emptyLine, type LineState } from './line-editor.js';
import { LIMITS, applyRecord, dmPeer, isChange, type AiChunkEvent, type ConversationView, type FriendRequests, type GroupMemberView, type Message, type ReceiptEvent, type SearchHitView, type TypingEvent } from '../protocol/index.js';

export interface PendingMessage {
  clientMsgId: string;
  to: string;
  text: string;
  createdAt: string;
  /** The seq of the message it answers. */
  replyTo?: number;
  error?: string;
}

/** What Enter does with the line besides sending it: edit a message, or answer one. */
export interface Compose { kind: 'edit' | 'reply'; peer: string; seq: number }

export interface ConversationState {
  /** The key: a friend's username, or a group's `#handle`. */
  peer: string;
  kind: 'dm' | 'group';
  /** A group's display name (untrusted text). */
  title: string;
  /** A group's member count. */
  members: number;
  /** A group's topic (untrusted text). */
  topic: string;
  /** A group's other members' read markers (for "read by N"). */
  reads: Record<string, number>;
  conversationId: string;
  /** Sorted by seq, no duplicates. */
  messages: Message[];
  pending: PendingMessage[];
  unread: number;
  /** Of the unread, those that mention me. */
  mentions: number;
  myRead: number;
  peerDelivered: number;
  peerRead: number;
  lastActivity: string;
  /** False once history reached seq 1. */
  hasOlder: boolean;
  /** Lines scrolled up from the bottom. */
  scroll: number;
  /** Set while open: messages after this seq were unread when it was opened. */
  newFrom?: number;
}

export type PromptPurpose = 'addFriend' | 'search' | 'newGroup' | 'addMembers' | 'react' | 'confirmDelete' | 'attach' | 'jump';
/** A prompt: what it is for, the text typed; a search's scope; the finder's highlighted match. */
export type Overlay = null | { kind: 'help' } | { kind: 'prompt'; purpose: PromptPurpose; value: string; everywhere?: boolean; index?: number } | { kind: 'members'; peer: string; list: GroupMemberView[] } | { kind: 'results' };

/** The last server search: its hits (the list Ctrl+R shows), the one picked, and where the search started. */
export interface SearchResults { query: string; scope: string | null; hits: SearchHitView[]; index: number; from: string | null }

export interface TuiState {
  me: string;
  server: string;
  connection: 'connecting' | 'online' | 'offline';
  conversations: Record<string, ConversationState>;
  selected: string | null;
  focus: 'sidebar' | 'input';
  overlay: Overlay;
  /** The input line being edited (text, cursor, history of sent lines). */
  line: LineState;
  presence: Record<string, boolean>;
  /** Per conversation: who is typing and until when (epoch ms). */
  typing: Record<string, { username: string; until: number }>;
  requests: FriendRequests;
  ai: Record<string, { conversationId: string; text: string; error?: string; done: boolean }>;
  search: { peer: string; query: string; hit: string | null } | null;
  results: SearchResults | null;
  /** The message picked in the open conversation (Alt+↑/↓), to edit, delete, answer or react to. */
  pick: { peer: string; seq: number } | null;
  compose: Compose | null;
  /** A notice for the status bar, until it expires (epoch ms); `connection` ones end when back online. */
  notice: { text: string; until: number; connection: boolean; search?: boolean } | null;
  /**
   * The conversation list's order while the user moves through it (the sidebar has focus, or
   * Ctrl+N/P was pressed): activity does not re-sort it under them until they type or leave it.
   */
  frozenOrder: string[] | null;
  /** The longest message text the server takes (its CHAT_MAX_MESSAGE_LENGTH, from GET /v1/me). */
  maxMessageLength: number;
  /** Image previews by file id: their lines (half blocks), or none when it cannot be shown. */
  previews: Record<string, string[] | null>;
  /** Whether images are previewed (CHAT_IMAGES, and colours on). */
  images: boolean;
  /** How message times read (the settings file): 14:05, 14:05:09, or "5m". */
  timestamps: 'HH:MM' | 'HH:MM:SS' | 'relative';
}

/** How long a notice stays in the status bar. */
export const NOTICE_MS = 8000;

/** The notice to show now, if any. */
export const liveNotice = (s: TuiState, now = Date.now()) => (s.notice && s.notice.until > now ? s.notice.text : null);

export const initialState = (me: string, server: string, timestamps: TuiState['timestamps'] = 'HH:MM'): TuiState => ({
  me, server, connection: 'connecting', conversations: {}, selected: null, focus: 'input', overlay: null, line: emptyLine(),
  presence: {}, typing: {}, requests: { incoming: [], outgoing: [] }, ai: {}, search: null, results: null, notice: null, pick: null, compose: null,
  previews: {}, images: false, timestamps, frozenOrder: null, maxMessageLength: LIMITS.maxMessageLength,
});

export type Action =
  | { type: 'connection'; state: TuiState['connection'] }
  | { type: 'conversations'; list: ConversationView[] }
  | { type: 'friends'; friends: { username: string; online: boolean }[]; requests: FriendRequests }
  | { type: 'history'; peer: string; messages: Message[]; older: boolean }
  | { type: 'message'; message: Message }
  | { type: 'pending:add'; pending: PendingMessage }
  | { type: 'pending:done'; peer: string; clientMsgId: string; message?: Message; error?: string }
  | { type: 'presence'; username: string; online: boolean }
  | { type: 'typing'; event: TypingEvent; now: number; ttlMs: number }
  | { type: 'receipt'; event: ReceiptEvent }
  | { type: 'ai'; event: AiChunkEvent }
  | { type: 'select'; peer: string | null }
  | { type: 'move'; delta: number }
  | { type: 'focus'; focus: TuiState['focus'] }
  | { type: 'line'; line: LineState }

  | { type: 'overlay'; overlay: Overlay }
  | { type: 'scroll'; delta: number }
  | { type: 'jumpLatest' }
  | { type: 'results'; results: SearchResults | null }
  | { type: 'resultsMove'; delta: number }
  /** A server search hit, shown where it is in its conversation (loaded by then). */
  | { type: 'searchHit'; peer: string; query: string; id: string }
  | { type: 'notice'; text: string | null; now?: number; connection?: boolean; search?: boolean }
  /** Lets the conversation list follow activity again (the user typed, or left the list). */
  | { type: 'unfreeze' }
  /** Drops the open conversation's failed sends (they were shown until dismissed). */
  | { type: 'dismissFailed' }
  | { type: 'limits'; maxMessageLength: number }
  | { type: 'read'; peer: string; seq: number }
  | { type: 'groupReads'; peer: string; reads: Record<string, number> }
  | { type: 'drop'; peer: string }
  /** Moves the pick among the open conversation's messages (from none, -1 picks the last); past the last, none. */
  | { type: 'pick'; delta: number }
  | { type: 'pickSeq'; seq: number }
  | { type: 'unpick' }
  | { type: 'compose'; compose: Compose | null }
  | { type: 'images'; on: boolean }
  | { type: 'preview'; id: string; lines: string[] | null };

function emptyConversation(me: string, peer: string): ConversationState {
  const group = peer.startsWith('#');
  // A group's id comes with its conversation view; until then it matches no message.
  const conversationId = group ? '' : me < peer ? `dm:${me}:${peer}` : `dm:${peer}:${me}`;
  return { peer, kind: group ? 'group' : 'dm', title: peer, members: group ? 0 : 2, topic: '', reads: {}, conversationId, messages: [], pending: [], unread: 0, mentions: 0, myRead: 0, peerDelivered: 0, peerRead: 0, lastActivity: '', hasOlder: true, scroll: 0 };
}

/** The conversation key of a conversation id: the DM's other user, or the group's `#handle` once known. */
export function peerOf(s: TuiState, conversationId: string): string | undefined {
  const dm = dmPeer(conversationId, s.me);
  if (dm) return dm;
  for (const c of Object.values(s.conversations)) if (c.conversationId === conversationId) return c.peer;
  return undefined;
}

/** Merges messages by seq (later copies of a seq replace earlier ones). */
export function mergeMessages(a: Message[], b: Message[]): Message[] {
  const bySeq = new Map<number, Message>();
  for (const m of a) bySeq.set(m.seq, m);
  for (const m of b) bySeq.set(m.seq, m);
  return [...bySeq.values()].sort((x, y) => x.seq - y.seq);
}

/**
 * Conversations by last activity, newest first; while the list is frozen (the user is moving
 * through it), in the order it had then, with conversations new since then at the end.
 */
export function orderedPeers(s: TuiState): string[] {
  const byActivity = Object.values(s.conversations).sort((a, b) => b.lastActivity.localeCompare(a.lastActivity) || a.peer.localeCompare(b.peer)).map((c) => c.peer);
  if (!s.frozenOrder) return byActivity;
  const kept = s.frozenOrder.filter((p) => p in s.conversations);
  const known = new Set(kept);
  return [...kept, ...byActivity.filter((p) => !known.has(p))];
}

function withConv(s: TuiState, peer: string, f: (c: ConversationState) => ConversationState): TuiState {
  const c = s.conversations[peer] ?? emptyConversation(s.me, peer);
  return { ...s, conversations: { ...s.conversations, [peer]: f(c) } };
}

function step(s: TuiState, a: Action): TuiState {
  switch (a.type) {
    case 'connection':
      // Back online: a notice about the connection no longer holds (the bar must not say both).
      return { ...s, connection: a.state, notice: a.state === 'online' && s.notice?.connection ? null : s.notice };
    case 'conversations': {
      let next = s;
      for (const v of a.list) {
        next = withConv(next, v.with, (c) => {
          // A view read before this client's own read receipt arrived must not bring the count back:
          // what this client already read up to stays read.
          const myRead = Math.max(c.myRead, v.myRead);
          const caughtUp = myRead >= (v.lastMessage?.seq ?? v.lastSeq ?? 0);
          return {
            ...c, conversationId: v.conversationId, kind: v.kind, title: v.title, members: v.members ?? 2, topic: v.topic ?? '', unread: caughtUp ? 0 : v.unread, mentions: caughtUp ? 0 : v.mentions, myRead, peerDelivered: v.peerDelivered, peerRead: v.peerRead,
            lastActivity: v.lastMessage?.createdAt ?? c.lastActivity, messages: v.lastMessage ? mergeMessages(c.messages, [v.lastMessage]) : c.messages,
          };
        });
      }
      if (next.selected === null) next = { ...next, selected: orderedPeers(next)[0] ?? null };
      return next;
    }
    case 'friends': {
      let next: TuiState = { ...s, requests: a.requests, presence: { ...s.presence } };
      for (const f of a.friends) {
        next.presence[f.username] = f.online;
        if (!next.conversations[f.username]) next = withConv(next, f.username, (c) => c);
      }
      if (next.selected === null) next = { ...next, selected: orderedPeers(next)[0] ?? null };
      return next;
    }
    case 'history':
      return withConv(s, a.peer, (c) => ({ ...c, messages: mergeMessages(c.messages, a.messages), hasOlder: a.older ? a.messages.length > 0 && a.messages[0]!.seq > 1 : c.hasOlder && (c.messages[0]?.seq ?? a.messages[0]?.seq ?? 1) > 1 }));
    case 'message': {
      const peer = peerOf(s, a.message.conversationId);
      if (!peer) return s;
      // A change (edit, delete, reaction) updates the message it targets, and the quotes of replies to it.
      if (isChange(a.message)) return withConv(s, peer, (c) => ({ ...c, messages: applyToList(c.messages, a.message) }));
      const mine = a.message.from === s.me;
      let next = withConv(s, peer, (c) => {
        if (c.messages.some((m) => m.seq === a.message.seq)) return c;
        const isOpen = s.selected === peer;
        return {
          ...c,
          messages: mergeMessages(c.messages, [a.message]),
          pending: c.pending.filter((p) => p.clientMsgId !== a.message.clientMsgId),
          lastActivity: a.message.createdAt,
          unread: mine || isOpen ? c.unread : c.unread + 1,
          mentions: !mine && !isOpen && a.message.mentions?.includes(s.me) ? c.mentions + 1 : c.mentions,
        };
      });
      // The final answer replaces its stream.
      if (a.message.kind !== 'user' && a.message.clientMsgId?.startsWith('ai:')) {
        const ai = { ...next.ai };
        delete ai[a.message.clientMsgId.slice(3)];
        next = { ...next, ai };
      }
      if (next.typing[a.message.conversationId]?.username === a.message.from) {
        const typing = { ...next.typing };
        delete typing[a.message.conversationId];
        next = { ...next, typing };
      }
      if (next.selected === null) next = { ...next, selected: peer };
      return next;
    }
    case 'pending:add':
      return withConv(s, a.pending.to, (c) => ({ ...c, pending: [...c.pending, a.pending], lastActivity: a.pending.createdAt }));
    case 'pending:done':
      return withConv(s, a.peer, (c) => ({
        ...c,
        messages: a.message ? mergeMessages(c.messages, [a.message]) : c.messages,
        pending: a.error ? c.pending.map((p) => (p.clientMsgId === a.clientMsgId ? { ...p, error: a.error } : p)) : c.pending.filter((p) => p.clientMsgId !== a.clientMsgId),
      }));
    case 'presence':
      return { ...s, presence: { ...s.presence, [a.username]: a.online } };
    case 'typing': {
      const typing = { ...s.typing };
      if (a.event.typing) typing[a.event.conversationId] = { username: a.event.username, until: a.now + a.ttlMs };
      else delete typing[a.event.conversationId];
      return { ...s, typing };
    }
    case 'receipt': {
      const peer = peerOf(s, a.event.conversationId);
      if (!peer) return s;
      return withConv(s, peer, (c) => (a.event.username === s.me
        ? { ...c, myRead: Math.max(c.myRead, a.event.read) }
        : c.kind === 'group'
          ? { ...c, reads: { ...c.reads, [a.event.username]: Math.max(c.reads[a.event.username] ?? 0, a.event.read) } }
          : { ...c, peerDelivered: Math.max(c.peerDelivered, a.event.delivered), peerRead: Math.max(c.peerRead, a.event.read) }));
    }
    case 'groupReads':
      return withConv(s, a.peer, (c) => ({ ...c, reads: { ...c.reads, ...a.reads } }));
    case 'drop': {
      const conversations = { ...s.conversations };
      delete conversations[a.peer];
      const next = { ...s, conversations };
      return s.selected === a.peer ? { ...next, selected: orderedPeers(next)[0] ?? null } : next;
    }
    case 'ai': {
      const e = a.event;
      const prev = s.ai[e.requestId];
      const text = e.restart || !prev ? e.text : prev.text + e.text;
      return { ...s, ai: { ...s.ai, [e.requestId]: { conversationId: e.conversationId, text, done: e.done, ...(e.error ? { error: e.error } : {}) } } };
    }
    case 'select':
      return a.peer === null ? { ...s, selected: null } : withConv({ ...s, selected: a.peer }, a.peer, (c) => ({ ...c, unread: 0, mentions: 0 }));
    case 'move': {
      // The list holds still while the user moves through it; past an end it wraps (as irssi's Ctrl+N/P do).
      const peers = orderedPeers(s);
      if (peers.length === 0) return s;
      const i = Math.max(0, peers.indexOf(s.selected ?? ''));
      const next = peers[(i + a.delta + peers.length) % peers.length]!;
      return reducer({ ...s, frozenOrder: peers }, { type: 'select', peer: next });
    }
    case 'focus':
      return { ...s, focus: a.focus, frozenOrder: a.focus === 'sidebar' ? orderedPeers(s) : null };
    case 'unfreeze':
      return s.frozenOrder ? { ...s, frozenOrder: null } : s;
    case 'dismissFailed':
      return s.selected ? withConv(s, s.selected, (c) => ({ ...c, pending: c.pending.filter((p) => !p.error) })) : s;
    case 'limits':
      return { ...s, maxMessageLength: a.maxMessageLength };
    case 'line':
      return { ...s, line: a.line };

    case 'overlay':
      return { ...s, overlay: a.overlay };
    case 'scroll':
      return s.selected ? withConv(s, s.selected, (c) => ({ ...c, scroll: Math.max(0, c.scroll + a.delta) })) : s;
    case 'jumpLatest':
      return s.selected ? withConv({ ...s, search: null, notice: s.notice?.search ? null : s.notice }, s.selected, (c) => ({ ...c, scroll: 0 })) : s;
    case 'results':
      return { ...s, results: a.results };
    case 'resultsMove':
      return s.results ? { ...s, results: { ...s.results, index: Math.max(0, Math.min(s.results.hits.length - 1, s.results.index + a.delta)) } } : s;
    case 'searchHit':
      return { ...s, search: { peer: a.peer, query: a.query, hit: a.id } };
    case 'notice':
      return { ...s, notice: a.text === null ? null : { text: a.text, until: (a.now ?? Date.now()) + NOTICE_MS, connection: a.connection ?? false, ...(a.search ? { search: true } : {}) } };
    case 'read':
      return withConv(s, a.peer, (c) => ({ ...c, myRead: Math.max(c.myRead, a.seq), unread: 0, mentions: 0 }));
    case 'pick': {
      if (!s.selected) return s;
      const msgs = (s.conversations[s.selected]?.messages ?? []).filter((m) => !isChange(m));
      if (msgs.length === 0) return s;
      const at = s.pick?.peer === s.selected ? msgs.findIndex((m) => m.seq === s.pick!.seq) : -1;
      const i = at < 0 ? (a.delta < 0 ? msgs.length - 1 : -1) : at + a.delta;
      if (i < 0 && at < 0) return s;
      if (i >= msgs.length) return { ...s, pick: null };
      return { ...s, pick: { peer: s.selected, seq: msgs[Math.max(0, i)]!.seq } };
    }
    case 'pickSeq':
      return s.selected ? { ...s, pick: { peer: s.selected, seq: a.seq } } : s;
    case 'unpick':
      // Esc also ends a search hit's highlight, and its notice with it.
      return { ...s, pick: null, compose: null, search: null, notice: s.search && s.notice?.search ? null : s.notice };
    case 'compose':
      return { ...s, compose: a.compose };
    case 'images':
      return { ...s, images: a.on };
    case 'preview':
      return { ...s, previews: { ...s.previews, [a.id]: a.lines } };
  }
}

/**
 * The reducer. When a conversation is opened with unread messages, it remembers where they start
 * (`newFrom`), so the pane can draw a "new messages" line there until another one is opened.
 */
export function reducer(s: TuiState, a: Action): TuiState {
  let next = step(s, a);
  if (next.selected === s.selected) return next;
  // A pick and an edit or reply belong to the conversation they were made in.
  next = { ...next, pick: null, compose: null };
  if (s.selected && next.conversations[s.selected]?.newFrom !== undefined) next = withConv(next, s.selected, (c) => ({ ...c, newFrom: undefined }));
  const peer = next.selected;
  const before = peer ? s.conversations[peer] ?? next.conversations[peer] : undefined;
  if (peer && before && before.unread > 0) next = withConv(next, peer, (c) => ({ ...c, newFrom: before.myRead }));
  return next;
}

/** A conversation's messages after one change record (unchanged when it does not have the target). */
function applyToList(messages: Message[], change: Message): Message[] {
  const view = new Map(messages.map((m) => [m.seq, m]));
  return applyRecord(view, change) ? [...view.values()].sort((a, b) => a.seq - b.seq) : messages;
}
