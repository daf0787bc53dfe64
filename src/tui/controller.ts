import { v7 as uuidv7 } from 'uuid';
import { ChatError, ERROR_CODES, isChange, TYPING_THROTTLE_MS, TYPING_TTL_MS, isGroupConversation, type ConversationView, type GroupEvent, type Message, type ServerToClientEvents as ServerEvents } from '../protocol/index.js';
import type { ApiClient } from '../client/api.js';
import type { KnownNames } from '../client/names-cache.js';
import type { SlashName } from './slash.js';
import type { GroupRole } from '../protocol/index.js';
import { MessageStream, call, sendDurable, type Connection } from '../client/socket.js';
import { peerOf, type Action, type PendingMessage, type TuiState } from './state.js';
import fs from 'node:fs';
import path from 'node:path';
import { ROUTES, type Attachment } from '../protocol/index.js';
import { downloadFile, uploadFile } from '../client/files.js';
import { decodePng, halfBlocks, previewSize, type Pictures } from './image.js';
import { decodeGif } from './gif.js';
import { decodeJpeg } from './jpeg.js';
import { PREVIEW_COLS, PREVIEW_ROWS } from './layout.js';
import { humanBytes as humanSize } from '../client/units.js';
import { sanitizeFileName } from '../protocol/uploads.js';
import { downloadsDir, expandHome, freePath, openCacheDir, openWith } from './files.js';

/** The largest PNG previewed inline (bytes). */
export const PREVIEW_MAX_BYTES = 8 * 1024 * 1024;
/** The types previewed: PNG, JPEG, and a GIF's first frame (WebP is listed without one). */
const PREVIEWED = new Set(['image/png', 'image/gif', 'image/jpeg']);

/** How far back (pages of 500 messages) the TUI loads a conversation to show a search hit in place. */
export const REVEAL_PAGES = 10;

export type Dispatch = (a: Action) => void;

/** Started while chatd is down: how often the first view is tried again (besides on reconnect). */
const RETRY_VIEW_MS = 3000;

/** Notifications (bell, desktop) come at most this often. */
export const NOTIFY_EVERY_MS = 3000;

/** An error as people read it: the server's sentence (the code is for scripts and the log). */
export function errorSentence(e: ChatError): string {
  return e.message || ERROR_CODES[e.code].message;
}

/**
 * The TUI's side effects over the shared typed client: it loads conversations and
 * friends, turns server events into reducer actions (one map), sends with a
 * clientMsgId (queued while offline, flushed in order when back), pages history,
 * and reports typing and read state.
 */
export class ChatController {
  private stream?: MessageStream;
  private lastTyping = 0;
  private flushing = false;
  private readonly queue: PendingMessage[] = [];
  private getState: () => TuiState = () => { throw new Error('not started'); };
  private focused = true;
  private lastNotified = 0;
  private closed = false;
  /** Previews being fetched, by file id. */
  private readonly previewing = new Set<string>();
  /** The view the last connect loaded. */
  private onConnectView?: Promise<ConversationView[] | undefined>;

  constructor(
    private readonly api: ApiClient, private readonly conn: Connection, private readonly dispatch: Dispatch, private readonly log: (m: string, e?: unknown) => void = () => {}, private readonly notify?: (m: Message) => void,
    /** Keeps the names shell completion offers (friends, groups), from each refresh. */
    private readonly remember?: (names: KnownNames) => void,
    /** Pictures (kitty, sixel or iTerm2: CHAT_IMAGES, or detected); half blocks without. */
    private readonly pictures?: Pictures,
  ) {}

  async start(getState: () => TuiState) {
    this.getState = getState;
    const s = this.conn.socket;
    // Server events route through one map into reducer actions.
    const events: { [K in keyof ServerEvents]?: (e: Parameters<ServerEvents[K]>[0]) => Action } = {
      'presence:update': (e) => ({ type: 'presence', username: e.username, online: e.online }),
      'typing:update': (e) => ({ type: 'typing', event: e, now: Date.now(), ttlMs: TYPING_TTL_MS }),
      'receipt:update': (e) => ({ type: 'receipt', event: e }),
      'ai:chunk': (e) => ({ type: 'ai', event: e }),
    };
    for (const [name, toAction] of Object.entries(events)) {
      (s as unknown as { on(n: string, f: (e: unknown) => void): void }).on(name, (e) => this.dispatch((toAction as (x: unknown) => Action)(e)));
    }
    // A friend request, acceptance or removal: say so, and reload friends and conversations.
    s.on('friend:update', (e) => {
      const who = e.username;
      const text = e.status === 'incoming' ? `${who} sent you a friend request (Alt+Y accepts)` : e.status === 'friends' ? `you and ${who} are now friends` : e.status === 'none' ? `${who} is no longer a friend or a request` : null;
      if (text) this.dispatch({ type: 'notice', text });
      void this.refresh();
    });
    s.on('group:update', (e) => this.onGroupEvent(e));
    s.on('connect', () => {
      this.dispatch({ type: 'connection', state: 'online' });
      this.onConnectView = this.refresh();
      void this.flush();
    });
    s.on('disconnect', () => this.dispatch({ type: 'connection', state: 'offline' }));
    this.conn.on('fatal', (e: ChatError) => this.dispatch({ type: 'notice', text: errorSentence(e), connection: e.code === 'CHAT_ERR_UNAVAILABLE' }));
    // The server's own limits (the longest text it takes), for refusing before sending.
    this.api.whoami().then((u) => { if (u.limits) this.dispatch({ type: 'limits', maxMessageLength: u.limits.maxMessageLength }); }, (err: unknown) => this.log('whoami failed', err));
    this.stream = new MessageStream(this.api, this.conn);
    this.stream.on('message', (m: Message) => this.onMessage(m));
    this.stream.on('warn', (e: Error) => this.log('stream warning', e));
    // The stream starts where the first view ends, so nothing sent in between is skipped. Started
    // while chatd is down, there is no view yet: wait for it (on reconnect, or every few seconds).
    let view = await this.refresh();
    while (!view && !this.closed) {
      // On reconnect, the view the connect handler loads (registered first, so it has started).
      const reconnected = await new Promise<boolean>((resolve) => {
        const done = (c: boolean) => () => { clearTimeout(t); s.off('connect', onConnect); resolve(c); };
        const onConnect = done(true);
        const t = setTimeout(done(false), RETRY_VIEW_MS);
        s.on('connect', onConnect);
      });
      if (!this.closed) view = await (reconnected && this.onConnectView ? this.onConnectView : this.refresh());
    }
    if (view) await this.stream.start(view);
  }

  /** A group change: say what happened, drop a group I am no longer in, reload the view. */
  private onGroupEvent(e: GroupEvent) {
    const st = this.getState();
    const me = st.me;
    const name = `#${e.group.handle}`;
    const who = e.by === me ? 'you' : e.by;
    const users = (e.users ?? []).map((u) => (u === me ? 'you' : u)).join(', ');
    const text: Record<GroupEvent['type'], string> = {
      created: `${who} created ${name}`,
      member_added: `${who} added ${users} to ${name}`,
      member_removed: `${who} removed ${users} from ${name}`,
      member_left: `${users} left ${name}`,
      role_changed: `${who} made ${users} ${e.role ?? ''} in ${name}`,
      renamed: `${who} renamed ${name}`,
      topic_changed: `${who} changed the topic of ${name}`,
      deleted: `${who} deleted ${name}`,
    };
    if (e.by !== me) this.dispatch({ type: 'notice', text: text[e.type] });
    const gone = e.type === 'deleted' || ((e.type === 'member_removed' || e.type === 'member_left') && e.users?.includes(me));
    const peer = peerOf(st, e.group.conversationId);
    // A moved handle is a new key: the old one goes, the refresh brings the new one.
    if (peer && (gone || peer !== name)) this.dispatch({ type: 'drop', peer });
    void this.refresh();
  }

  private onMessage(m: Message) {
    // A group this view does not know yet (just created or joined): load it first.
    if (isGroupConversation(m.conversationId) && !peerOf(this.getState(), m.conversationId)) {
      void this.refresh().then(() => this.onMessage(m));
      return;
    }
    const me = this.getState().me;
    // An edit mentions me anew only if the message did not already (Matrix's rule): asked before it applies.
    const mentionedBefore = m.kind === 'edit' ? mentionsOf(this.getState(), m.conversationId, m.target ?? 0).includes(me) : false;
    this.dispatch({ type: 'message', message: m });
    this.previewFiles([m]);
    const st = this.getState();
    const open = st.selected !== null && st.conversations[st.selected]?.conversationId === m.conversationId;
    const mentioned = m.from !== me && (m.kind === 'edit' ? !mentionedBefore : !isChange(m)) && (m.mentions?.includes(me) ?? false);
    // A mention rings whenever it is not in front of me, however recent the last bell.
    if (mentioned && (!open || !this.focused) && this.notify) {
      this.lastNotified = Date.now();
      this.notify(m);
    }
    // A change moves nothing but the message it targets: no receipt, no other bell.
    if (isChange(m)) return;
    if (m.from !== st.me) {
      // Received: tell the sender; read too when the conversation is open.
      this.receipt(m.conversationId, m.seq, open);
      // Not on screen, or the terminal is not focused: ring (at most once every few seconds).
      const now = Date.now();
      if (!mentioned && (!open || !this.focused) && this.notify && now - this.lastNotified >= NOTIFY_EVERY_MS) {
        this.lastNotified = now;
        this.notify(m);
      }
    }
  }

  /** Terminal focus, as focus reporting tells it (assumed focused until told otherwise). */
  setFocused(focused: boolean) {
    this.focused = focused;
  }

  receipt(conversationId: string, seq: number, read: boolean) {
    if (!this.conn.socket.connected) return;
    call(this.conn.socket, 'receipt:update', read ? { conversationId, delivered: seq, read: seq } : { conversationId, delivered: seq })
      .catch((err: unknown) => this.log('receipt failed', err));
  }

  /** Marks the open conversation read up to its latest message. */
  markRead(peer: string) {
    const c = this.getState().conversations[peer];
    const last = c?.messages.at(-1);
    if (!c || !last || last.seq <= c.myRead) return;
    this.dispatch({ type: 'read', peer, seq: last.seq });
    this.receipt(c.conversationId, last.seq, true);
  }

  /** Reloads conversations, friends and requests; returns the conversations (undefined if it failed). */
  async refresh(): Promise<ConversationView[] | undefined> {
    try {
      const [convs, friends, requests] = await Promise.all([this.api.conversations(), this.api.friends(), this.api.friendRequests()]);
      this.dispatch({ type: 'friends', friends, requests });
      this.dispatch({ type: 'conversations', list: convs });
      this.remember?.({ friends: friends.map((f) => f.username), groups: convs.filter((c) => c.kind === 'group').map((c) => c.with) });
      return convs;
    } catch (err) {
      this.log('refresh failed', err);
      // Unreachable at start: say so plainly (the pane says where, and that it retries).
      if (err instanceof ChatError && err.code === 'CHAT_ERR_UNAVAILABLE') this.dispatch({ type: 'connection', state: 'offline' });
    }
  }

  /** Loads the page before the oldest loaded message (or the latest page). */
  async loadOlder(peer: string) {
    const c = this.getState().conversations[peer];
    if (c && !c.hasOlder) return;
    const first = c?.messages[0];
    try {
      const page = await this.api.history(peer, first ? { beforeSeq: first.seq, limit: 50 } : { limit: 50 });
      this.dispatch({ type: 'history', peer, messages: page, older: true });
      this.previewFiles(page);
    } catch (err) {
      this.dispatch({ type: 'notice', text: `history: ${(err as Error).message}` });
    }
  }

  /** Searches the server (in one conversation, or everywhere) and opens the list of hits. */
  async searchServer(query: string, peer: string | null) {
    try {
      const r = await this.api.search(query, { ...(peer ? { in: peer } : {}), limit: 50 });
      if (r.hits.length === 0) {
        this.dispatch({ type: 'notice', text: `search "${query}": no messages found` });
        return;
      }
      this.dispatch({ type: 'results', results: { query, scope: peer, hits: r.hits, index: 0, from: this.getState().selected } });
      this.dispatch({ type: 'overlay', overlay: { kind: 'results' } });
    } catch (err) {
      this.dispatch({ type: 'notice', text: `search: ${(err as Error).message}` });
    }
  }

  /**
   * Loads a conversation back to `seq` (older pages of 500, at most REVEAL_PAGES of them), so a
   * search hit is shown with the history around it, without a gap. False when it is further back.
   */
  async reveal(peer: string, seq: number): Promise<boolean> {
    for (let i = 0; i <= REVEAL_PAGES; i++) {
      const c = this.getState().conversations[peer];
      const first = c?.messages[0]?.seq;
      if (first !== undefined && first <= seq) return true;
      if ((c && !c.hasOlder) || i === REVEAL_PAGES) return false;
      const page = await this.api.history(peer, first !== undefined ? { beforeSeq: first, limit: 500 } : { limit: 500 });
      this.dispatch({ type: 'history', peer, messages: page, older: true });
    }
    return false;
  }

  /** Queues a message with its clientMsgId; it is sent now, or once the connection is back. */
  send(to: string, text: string, replyTo?: number) {
    const p: PendingMessage = { clientMsgId: uuidv7(), to, text, createdAt: new Date().toISOString(), ...(replyTo !== undefined ? { replyTo } : {}) };
    this.queue.push(p);
    this.dispatch({ type: 'pending:add', pending: p });
    void this.flush();
  }

  private async flush() {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.queue.length > 0 && this.conn.socket.connected) {
        const p = this.queue[0]!;
        try {
          const m = await sendDurable(this.conn, { to: p.to, text: p.text, clientMsgId: p.clientMsgId, ...(p.replyTo !== undefined ? { replyTo: p.replyTo } : {}) }, 15_000);
          this.queue.shift();
          this.dispatch({ type: 'pending:done', peer: p.to, clientMsgId: p.clientMsgId, message: m });
          this.stream?.accept(m);
        } catch (err) {
          if (err instanceof ChatError && err.code !== 'CHAT_ERR_UNAVAILABLE' && err.code !== 'CHAT_ERR_SHUTTING_DOWN') {
            // A refusal (not friends, too long…): show it on the message, keep going.
            this.queue.shift();
            this.dispatch({ type: 'pending:done', peer: p.to, clientMsgId: p.clientMsgId, error: errorSentence(err) });
          } else break; // Still offline: retried with the same clientMsgId on reconnect.
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  /**
   * A change to a message (edit, delete, react): sent over the socket, its record applied to the
   * view from the ack (the socket that made it gets no event for it); a refusal is a notice.
   */
  async change(event: 'message:edit' | 'message:delete' | 'message:react', payload: Record<string, unknown>) {
    try {
      const r = await (this.conn.socket.timeout(15_000) as unknown as { emitWithAck: (e: string, p: unknown) => Promise<{ ok: true; data: Message } | { ok: false; error: { code: string; message: string } }> }).emitWithAck(event, { ...payload, clientMsgId: uuidv7() });
      if (!r.ok) throw new ChatError(r.error.code as never, r.error.message);
      if (this.stream) this.stream.accept(r.data);
      else this.dispatch({ type: 'message', message: r.data });
    } catch (err) {
      this.dispatch({ type: 'notice', text: errorSentence(err instanceof ChatError ? err : new ChatError('CHAT_ERR_UNAVAILABLE', (err as Error).message)) });
    }
  }

  /**
   * Inline previews of the PNG, GIF and JPEG images among these messages' files (at most PREVIEW_MAX_BYTES
   * each), fetched once each and drawn as half blocks, or as pictures (kitty, sixel, iTerm2); one that
   * cannot be decoded shows none.
   */
  previewFiles(messages: Message[]) {
    const st = this.getState();
    if (!st.images) return;
    for (const m of messages) {
      for (const f of m.deleted ? [] : m.files ?? []) {
        if (!PREVIEWED.has(f.type) || f.size > PREVIEW_MAX_BYTES || f.id in st.previews || this.previewing.has(f.id)) continue;
        this.previewing.add(f.id);
        void this.api.raw('GET', ROUTES.fileContent(f.id)).then((r) => r.arrayBuffer()).then(async (b) => {
          const bytes = Buffer.from(b);
          const png = f.type === 'image/png';
          const px = png ? decodePng(bytes) : f.type === 'image/gif' ? decodeGif(bytes) : await decodeJpeg(bytes);
          let lines: string[] | null = null;
          if (px && this.pictures) {
            // kitty decodes a PNG itself; other pictures, and sixel and iTerm2's, go as their pixels.
            const { cols, rows } = previewSize(px.width, px.height, PREVIEW_COLS, PREVIEW_ROWS);
            lines = this.pictures.show(png && this.pictures.takesPng ? bytes : px, cols, rows);
          } else if (px) lines = halfBlocks(px, PREVIEW_COLS, PREVIEW_ROWS);
          this.dispatch({ type: 'preview', id: f.id, lines });
        }, (err: unknown) => {
          this.log('preview failed', err);
          this.dispatch({ type: 'preview', id: f.id, lines: null });
        }).finally(() => this.previewing.delete(f.id));
      }
    }
  }

  /**
   * Sends a file from disk to `peer` with `text`: uploaded (a progress notice as it goes,
   * resumed if the connection drops), then sent with a clientMsgId. Resolves whether it was sent.
   */
  async attach(file: string, peer: string, text: string): Promise<boolean> {
    const full = expandHome(file.trim());
    const name = path.basename(full);
    let last = 0;
    try {
      const stat = fs.statSync(full, { throwIfNoEntry: false });
      if (!stat?.isFile()) throw new ChatError('CHAT_ERR_VALIDATION', stat ? `${file} is not a file` : `no such file: ${file}`);
      this.dispatch({ type: 'notice', text: `uploading ${name}…` });
      const info = await uploadFile(this.api, full, {
        onProgress: (done, total) => {
          const now = Date.now();
          if (now - last < 100 && done < total) return;
          last = now;
          this.dispatch({ type: 'notice', text: `uploading ${name}: ${Math.floor((done * 100) / total)}% of ${humanSize(total)}` });
        },
      });
      const m = await sendDurable(this.conn, { to: peer, text, clientMsgId: uuidv7(), files: [info.id] }, 30_000);
      if (this.stream) this.stream.accept(m);
      else this.dispatch({ type: 'message', message: m });
      this.previewFiles([m]);
      this.dispatch({ type: 'notice', text: `sent ${name} (${humanSize(info.size)})` });
      return true;
    } catch (err) {
      this.dispatch({ type: 'notice', text: `could not send ${name}: ${errorSentence(err instanceof ChatError ? err : new ChatError('CHAT_ERR_UNAVAILABLE', (err as Error).message))}` });
      return false;
    }
  }

  /** Opens a message's file: downloaded to the cache folder (once; resumed, hash checked), then handed to the desktop's opener. */
  async openFile(f: Attachment, env: NodeJS.ProcessEnv = process.env) {
    try {
      const dir = openCacheDir(env);
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      const target = path.join(dir, `${f.id}-${sanitizeFileName(f.name)}`);
      if (!fs.existsSync(target)) await downloadFile(this.api, f.id, target);
      await openWith(target, env);
      this.dispatch({ type: 'notice', text: `opened ${f.name}` });
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      this.dispatch({ type: 'notice', text: e.code === 'ENOENT' && e.syscall?.startsWith('spawn') ? `no opener (${e.path}): Alt+S saves it instead` : `could not open ${f.name}: ${e.message}` });
    }
  }

  /** Opens a link of a message with the desktop's opener (xdg-open / open; CHAT_OPENER). */
  async openLink(url: string, env: NodeJS.ProcessEnv = process.env) {
    try {
      await openWith(url, env);
      this.dispatch({ type: 'notice', text: `opened ${url.length > 60 ? `${url.slice(0, 59)}…` : url}` });
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      this.dispatch({ type: 'notice', text: e.code === 'ENOENT' ? `no opener (${e.path}): set CHAT_OPENER` : `could not open the link: ${e.message}` });
    }
  }

  /** Saves a message's files to the downloads folder, each under a name that is free there. */
  async saveFiles(files: Attachment[], env: NodeJS.ProcessEnv = process.env) {
    const dir = downloadsDir(env);
    try {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      const saved: string[] = [];
      for (const f of files) saved.push((await downloadFile(this.api, f.id, freePath(dir, f.name))).path);
      this.dispatch({ type: 'notice', text: `saved ${saved.map((p) => path.basename(p)).join(', ')} to ${dir}` });
    } catch (err) {
      this.dispatch({ type: 'notice', text: `could not save: ${(err as Error).message}` });
    }
  }

  /**
   * A slash command for the open conversation (slash.ts): the same REST calls as the CLI's group
   * commands, so the same refusals, each said in the status bar.
   */
  async slash(peer: string, name: Exclude<SlashName, 'help'>, args: string[], rest: string) {
    try {
      switch (name) {
        case 'me': this.send(peer, `/me ${rest}`); return;
        case 'search': await this.searchServer(rest, peer); return;
        case 'invite': await this.addMembers(peer, args.join(' ')); return;
        case 'topic': {
          const g = await this.api.updateGroup(peer, { topic: rest });
          this.dispatch({ type: 'notice', text: g.topic ? `topic of #${g.handle}: ${g.topic}` : `cleared the topic of #${g.handle}` });
          break;
        }
        case 'rename': {
          const g = await this.api.updateGroup(peer, { name: rest });
          this.dispatch({ type: 'notice', text: `#${g.handle} is now called ${g.name}` });
          break;
        }
        case 'kick':
          await this.api.removeGroupMember(peer, args[0]!);
          this.dispatch({ type: 'notice', text: `removed ${args[0]} from ${peer}` });
          break;
        case 'role':
          await this.api.setGroupRole(peer, args[0]!, args[1] as GroupRole);
          this.dispatch({ type: 'notice', text: `${args[0]} is now ${args[1] === 'member' ? 'a member' : `an ${args[1]}`} of ${peer}` });
          break;
        case 'leave':
          await this.api.leaveGroup(peer);
          this.dispatch({ type: 'notice', text: `you left ${peer}` });
          break;
      }
      await this.refresh();
    } catch (err) {
      this.dispatch({ type: 'notice', text: `/${name}: ${errorSentence(err instanceof ChatError ? err : new ChatError('CHAT_ERR_UNAVAILABLE', (err as Error).message))}` });
    }
  }

  /** Throttled typing indicator. */
  typing(to: string) {
    const t = Date.now();
    if (t - this.lastTyping < TYPING_THROTTLE_MS || !this.conn.socket.connected) return;
    this.lastTyping = t;
    this.conn.socket.emit('typing:update', { to, typing: true });
  }

  async addFriend(name: string) {
    try {
      const r = await this.api.addFriend(name);
      this.dispatch({ type: 'notice', text: r.status === 'friends' ? `you and ${r.username} are now friends` : `friend request sent to ${r.username}` });
      await this.refresh();
    } catch (err) {
      this.dispatch({ type: 'notice', text: `add friend: ${(err as Error).message}` });
    }
  }

  /** The other members' read markers of a group (for "read by N"). */
  async loadReads(peer: string) {
    try {
      const receipts = await this.api.groupReceipts(peer);
      const me = this.getState().me;
      this.dispatch({ type: 'groupReads', peer, reads: Object.fromEntries(Object.entries(receipts).filter(([u]) => u !== me).map(([u, r]) => [u, r.read])) });
    } catch (err) {
      this.log('group receipts failed', err);
    }
  }

  async showMembers(peer: string) {
    try {
      const list = await this.api.groupMembers(peer);
      this.dispatch({ type: 'overlay', overlay: { kind: 'members', peer, list } });
      void this.loadReads(peer);
    } catch (err) {
      this.dispatch({ type: 'notice', text: `members: ${(err as Error).message}` });
    }
  }

  /** "ops alice bob" (or "#ops alice, bob"): creates #ops with those friends and opens it. */
  async createGroup(input: string) {
    const [name, ...users] = input.split(/[\s,]+/).filter(Boolean);
    try {
      const g = await this.api.createGroup(name!, users);
      this.dispatch({ type: 'notice', text: `created #${g.handle} with ${g.memberCount} member${g.memberCount === 1 ? '' : 's'} (Alt+I adds more)` });
      await this.refresh();
      this.dispatch({ type: 'select', peer: `#${g.handle}` });
      this.dispatch({ type: 'focus', focus: 'input' });
    } catch (err) {
      this.dispatch({ type: 'notice', text: `new group: ${(err as Error).message}` });
    }
  }

  async addMembers(peer: string, input: string) {
    const users = input.split(/[\s,]+/).filter(Boolean);
    try {
      const g = await this.api.addGroupMembers(peer, users);
      this.dispatch({ type: 'notice', text: `#${g.handle} now has ${g.memberCount} members` });
    } catch (err) {
      this.dispatch({ type: 'notice', text: `add to ${peer}: ${(err as Error).message}` });
    }
  }

  async acceptOldest() {
    const name = this.getState().requests.incoming[0];
    if (!name) {
      this.dispatch({ type: 'notice', text: 'no pending friend requests' });
      return;
    }
    await this.addFriend(name);
  }

  close() {
    this.closed = true;
    this.conn.close();
  }
}

/** Whom a message of the view mentions now (none when the view does not hold it). */
function mentionsOf(s: TuiState, conversationId: string, seq: number): string[] {
  const c = Object.values(s.conversations).find((x) => x.conversationId === conversationId);
  return c?.messages.find((m) => m.seq === seq)?.mentions ?? [];
}
