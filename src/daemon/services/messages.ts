import { v7 as uuidv7 } from 'uuid';
import { ChatError, LIMITS, conversationMembers, dmConversationId, dmPeer, isGroupConversation, type AiChunkEvent, type ReceiptEvent, type ConversationView, type HistoryQuery, type Message, type MessageKind, type SendInput, type SyncResult } from '../../protocol/index.js';
import type { Config } from '../config.js';
import type { HistoryRange, Limits, MessageDraft, MessageLog, RateLimitResult, Receipt, ReceiptStore } from '../ports/index.js';
import type { FriendService } from './friends.js';
import { isoTime } from '../iso-time.js';
import { ReceiptBuffer } from './receipt-buffer.js';
import { SyncPage } from './sync-page.js';
import { NO_GROUPS, type Fanout, type GroupDirectory } from './message-routes.js';

export type { Fanout, GroupDirectory };
import { rateLimited } from '../errors.js';

/** The per-sender message rate limit: CHAT_MESSAGE_RATE_LIMIT sends per minute, the same counter on both send paths. */
const SEND_LIMIT_WINDOW_MS = 60_000;
const sendLimitKey = (from: string) => `msg:${from}`;

export type AcceptedListener = (message: Message) => void;


/**
 * Messages: one send path for every engine and every kind (user, AI, system):
 * self check → friendship → rate limit → `log.append` → fan-out if fresh.
 * The message log (ports/log.ts) owns order, dedupe and durability.
 */
export class MessageService {
  private readonly listeners: AcceptedListener[] = [];
  private fanout: Fanout = { message: () => {}, aiChunk: () => {} };
  private groups: GroupDirectory = NO_GROUPS;
  private readonly receipts: ReceiptBuffer;

  constructor(
    private readonly store: ReceiptStore,
    private readonly limits: Limits,
    private readonly log: MessageLog,
    private readonly friends: FriendService,
    private readonly config: Config,
    private readonly now: () => number = Date.now,
    onError: (err: unknown) => void = () => {},
  ) {
    this.receipts = new ReceiptBuffer(store, onError);
  }

  setFanout(f: Fanout) {
    this.fanout = f;
  }

  setGroups(g: GroupDirectory) {
    this.groups = g;
  }

  /** Whom a conversation's messages go to: both users of a DM, the current members of a group. */
  recipients(conversationId: string, from: string, to: string): string[] | Promise<string[]> {
    return isGroupConversation(conversationId) ? this.groups.recipients(conversationId) : conversationMembers(conversationId, [from, to]);
  }

  /** Streams a piece of an AI answer to the conversation (not stored; the final answer is). */
  aiChunk(chunk: AiChunkEvent) {
    const to = this.recipients(chunk.conversationId, '', '');
    if (Array.isArray(to)) this.fanout.aiChunk(to, chunk);
    else void to.then((names) => this.fanout.aiChunk(names, chunk), () => {});
  }

  /** Called after a user message is durable and delivered (the AI service hooks in here). */
  onAccepted(l: AcceptedListener) {
    this.listeners.push(l);
  }

  /**
   * Sends a message to a friend, or to a group (`#handle`) the sender is a member of. Resolves
   * once durable. A repeated (from, clientMsgId) resolves to the original message and sends
   * nothing new. `origin` is the sending connection: every other socket of the recipients gets the
   * message live; the origin gets it as the resolved value (its ack).
   *
   * Synchronous first: a friendship this node knows and a rate limit counted in this process are
   * answered without a promise, so on the embedded deployment a direct message costs one promise
   * (the log's) and no async frames; anything else is awaited on the same path.
   */
  send(from: string, input: SendInput, origin?: string): Promise<Message> {
    if (input.to.startsWith('#')) return this.sendToGroup(from, input, origin);
    if (input.to === from) return Promise.reject(new ChatError('CHAT_ERR_MESSAGE_SELF'));
    if (this.friends.knownFriends(from, input.to)) return this.checkLimitThenAppend(from, input, origin);
    // A missing user and a stranger get the same answer: a sender may not learn which names exist.
    return this.friends.areFriends(from, input.to).then((ok) => (ok ? this.checkLimitThenAppend(from, input, origin) : this.refuse(from, input, new ChatError('CHAT_ERR_NOT_FRIENDS'))));
  }

  private checkLimitThenAppend(from: string, input: SendInput, origin: string | undefined): Promise<Message> {
    const rl = this.limits.rateLimit(sendLimitKey(from), this.config.messageRateLimit, SEND_LIMIT_WINDOW_MS);
    if (rl instanceof Promise) return rl.then((r) => this.append(r, from, input, origin));
    return this.append(rl, from, input, origin);
  }

  private append(rl: RateLimitResult, from: string, input: SendInput, origin: string | undefined): Promise<Message> {
    if (!rl.allowed) return this.refuse(from, input, rateLimited(rl));
    const draft = this.draft(dmConversationId(from, input.to), from, input.to, input.text, 'user', input.clientMsgId);
    return this.log.append(draft).then(({ message, fresh }) => {
      if (!fresh) return message;
      this.deliverFresh(message, [from, input.to], origin);
      return message;
    });
  }

  /** A fresh user message: the sender has read it, the recipients get it, listeners (AI) hear of it. */
  private deliverFresh(message: Message, recipients: string[], origin: string | undefined) {
    this.receipts.own(message);
    this.fanout.message(recipients, message, origin);
    for (const l of this.listeners) l(message);
  }

  /**
   * A message to a group the sender is a member of. It goes to the members as they are once it is
   * durable (read after the append, so a member removed meanwhile does not get it).
   */
  private async sendToGroup(from: string, input: SendInput, origin: string | undefined): Promise<Message> {
    let conversationId: string;
    try {
      conversationId = await this.groups.postable(from, input.to);
    } catch (err) {
      return this.refuse(from, input, err as ChatError);
    }
    const rl = await this.limits.rateLimit(sendLimitKey(from), this.config.messageRateLimit, SEND_LIMIT_WINDOW_MS);
    if (!rl.allowed) return this.refuse(from, input, rateLimited(rl));
    const { message, fresh } = await this.log.append(this.draft(conversationId, from, conversationId, input.text, 'user', input.clientMsgId));
    if (fresh) this.deliverFresh(message, await this.groups.recipients(conversationId), origin);
    return message;
  }

  /**
   * A resend is answered with its original even when a new message would now be refused (the
   * friendship ended, the sender is rate limited). Only on those rare paths.
   */
  private async refuse(from: string, input: SendInput, err: ChatError): Promise<Message> {
    const prior = input.clientMsgId !== undefined ? await this.log.lookup(from, input.clientMsgId) : null;
    if (prior) return prior;
    throw err;
  }

  /**
   * Appends an AI or system message (or a user's, without the checks) and delivers it if fresh, to
   * the conversation and to `alsoTo` (a group's system message reaches the member it removed).
   */
  async post(conversationId: string, from: string, to: string, text: string, kind: MessageKind, clientMsgId?: string, alsoTo: string[] = []): Promise<Message> {
    const { message, fresh } = await this.log.append(this.draft(conversationId, from, to, text, kind, clientMsgId));
    if (fresh) this.fanout.message([...new Set([...(await this.recipients(conversationId, from, to)), ...alsoTo])], message);
    return message;
  }

  private draft(conversationId: string, from: string, to: string, text: string, kind: MessageKind, clientMsgId: string | undefined): MessageDraft {
    const draft: MessageDraft = { id: uuidv7(), conversationId, from, to, text, kind, createdAt: isoTime(this.now()) };
    if (clientMsgId !== undefined) draft.clientMsgId = clientMsgId;
    return draft;
  }

  /**
   * History with a friend, or of a group (`#handle`). A missing user reads like a stranger: a
   * conversation with no messages. A former member of a group reads up to their removal.
   */
  async history(me: string, peer: string, q: HistoryQuery): Promise<Message[]> {
    const limit = q.limit ?? LIMITS.defaultHistoryLimit;
    if (!peer.startsWith('#')) return this.range(dmConversationId(me, peer), { limit, beforeSeq: q.beforeSeq, afterSeq: q.afterSeq });
    const { conversationId, upTo } = await this.groups.readable(me, peer);
    return this.rangeUpTo(conversationId, { limit, beforeSeq: q.beforeSeq, afterSeq: q.afterSeq }, upTo);
  }

  /** A seq range cut at `upTo` (what a former member may read). */
  private rangeUpTo(conversationId: string, r: HistoryRange, upTo: number): Promise<Message[]> {
    if (upTo === Number.MAX_SAFE_INTEGER) return this.range(conversationId, r);
    if (r.afterSeq !== undefined && r.afterSeq >= upTo) return Promise.resolve([]);
    return this.range(conversationId, { ...r, beforeSeq: Math.min(r.beforeSeq ?? upTo + 1, upTo + 1) });
  }

  /** A seq range of a conversation, from the log. */
  range(conversationId: string, r: HistoryRange): Promise<Message[]> {
    return this.log.read(conversationId, r);
  }

  /**
   * The caller's conversations. Unread is a subtraction (seq is dense per conversation): the
   * messages after my read marker, which my own sends move forward, so it costs the same whatever
   * the count.
   */
  async conversations(me: string): Promise<ConversationView[]> {
    const [convs, groups] = await Promise.all([this.log.conversations(me), this.groups.groupsOf(me)]);
    const dms = Promise.all(convs.filter((c) => !isGroupConversation(c.conversationId)).map(async (c): Promise<ConversationView> => {
      const [[last], receipts] = await Promise.all([this.range(c.conversationId, { limit: 1 }), this.markers(c.conversationId)]);
      const peer = dmPeer(c.conversationId, me) ?? '';
      const myRead = receipts[me]?.read ?? 0;
      const lastSeq = Math.max(c.lastSeq, last?.seq ?? 0);
      return { conversationId: c.conversationId, kind: 'dm', with: peer, title: peer, lastSeq, lastMessage: last ?? null, unread: Math.max(0, lastSeq - myRead), myRead, peerDelivered: receipts[peer]?.delivered ?? 0, peerRead: receipts[peer]?.read ?? 0 };
    }));
    const rooms = Promise.all(groups.map(async (g): Promise<ConversationView> => {
      const [[last], receipts] = await Promise.all([this.range(g.conversationId, { limit: 1 }), this.markersOf(g.conversationId, g.members)]);
      const lastSeq = last?.seq ?? 0;
      const myRead = receipts[me]?.read ?? 0;
      const others = g.members.filter((u) => u !== me);
      const low = (k: keyof Receipt) => (others.length ? Math.min(...others.map((u) => receipts[u]?.[k] ?? 0)) : 0);
      return {
        conversationId: g.conversationId, kind: 'group', with: `#${g.handle}`, title: g.name, lastSeq, lastMessage: last ?? null, unread: Math.max(0, lastSeq - myRead), myRead,
        peerDelivered: low('delivered'), peerRead: low('read'), members: g.members.length, readBy: others.filter((u) => (receipts[u]?.read ?? 0) >= lastSeq && lastSeq > 0).length,
      };
    }));
    const all = [...(await dms), ...(await rooms)];
    return all.sort((a, b) => (b.lastMessage?.createdAt ?? '').localeCompare(a.lastMessage?.createdAt ?? ''));
  }

  /** Stored markers with the ones not written yet. */
  private async markers(conversationId: string): Promise<Record<string, Receipt>> {
    return this.receipts.merged(conversationId, await this.store.getReceipts(conversationId));
  }

  /** The markers of `users` in a conversation (a group's members), stored or not written yet. */
  async markersOf(conversationId: string, users: string[]): Promise<Record<string, Receipt>> {
    const all = this.receipts.merged(conversationId, await this.store.getReceipts(conversationId), users);
    const out: Record<string, Receipt> = {};
    for (const u of users) if (all[u]) out[u] = all[u];
    return out;
  }

  /**
   * Moves my markers forward in one of my conversations, never past its last message. Returns
   * the markers now, and whether they moved (only then is the event relayed). Stored at most once
   * a second per conversation and user; rate limited per user.
   */
  async receipt(me: string, conversationId: string, marks: { delivered?: number; read?: number }): Promise<{ event: ReceiptEvent; moved: boolean; recipients: string[] }> {
    const rl = await this.limits.rateLimit(`rcpt:${me}`, this.config.receiptRateLimit, 60_000);
    if (!rl.allowed) throw rateLimited(rl);
    // Only the canonical id of a conversation with messages: a stranger learns nothing.
    const noSuch = new ChatError('CHAT_ERR_NOT_FOUND', 'No such conversation');
    let recipients: string[];
    let upTo = Number.MAX_SAFE_INTEGER;
    if (isGroupConversation(conversationId)) {
      const r = await this.groups.readable(me, conversationId).catch(() => { throw noSuch; });
      if (r.upTo !== Number.MAX_SAFE_INTEGER) throw noSuch; // a former member's markers no longer matter to anyone
      recipients = r.members;
      upTo = r.upTo;
    } else {
      const peer = dmPeer(conversationId, me);
      if (!peer || dmConversationId(me, peer) !== conversationId) throw noSuch;
      recipients = [me, peer];
    }
    const [[last], stored] = await Promise.all([this.range(conversationId, { limit: 1 }), this.markers(conversationId)]);
    const lastSeq = Math.min(last?.seq ?? 0, upTo);
    if (lastSeq === 0) throw noSuch;
    const read = Math.min(marks.read ?? 0, lastSeq);
    const delivered = Math.min(Math.max(marks.delivered ?? 0, read), lastSeq);
    const before = stored[me] ?? { delivered: 0, read: 0 };
    const now = this.receipts.raise({ conversationId, username: me, delivered, read }, before);
    return { event: { conversationId, username: me, delivered: now.delivered, read: now.read }, moved: now.delivered !== before.delivered || now.read !== before.read, recipients };
  }

  /** Writes the markers not written yet (every second, and at shutdown). */
  flushReceipts() {
    return this.receipts.flush();
  }

  /**
   * Catch-up: messages after each cursor, for the caller's conversations only, oldest first within
   * each. A conversation missing from `cursors` is returned from seq 0: clients send a cursor for
   * every conversation they know, so a missing one is new to them.
   *
   * One answer is bounded as a whole: at most `limit` messages (500) and CHAT_SYNC_MAX_BYTES of
   * them (at least one message, whatever its size), with `more` when anything was left out. The
   * cursors are the page token: a client that moves them to what it received and calls again
   * gets the rest. Only conversations with news are read, and calls are rate limited per user.
   */
  async sync(me: string, cursors: Record<string, number>, limit: number = LIMITS.maxHistoryLimit): Promise<SyncResult> {
    const rl = await this.limits.rateLimit(`sync:${me}`, this.config.syncRateLimit, 60_000);
    if (!rl.allowed) throw rateLimited(rl);
    const [convs, groups] = await Promise.all([this.log.conversations(me), this.groups.groupsOf(me)]);
    const page = new SyncPage(limit, this.config.syncMaxBytes);
    /** Reads one conversation from `after` (up to `upTo`) into the page; false once the page is full. */
    const read = async (conversationId: string, after: number, lastSeq: number, upTo = Number.MAX_SAFE_INTEGER) => {
      if (Math.min(lastSeq, upTo) <= after) return true;
      page.add(await this.rangeUpTo(conversationId, { limit: page.room(), afterSeq: after }, upTo));
      // Full: whatever is left is for the next call (which may find nothing more).
      return !page.full();
    };
    for (const c of convs) {
      if (isGroupConversation(c.conversationId)) continue;
      if (!(await read(c.conversationId, cursors[c.conversationId] ?? 0, c.lastSeq))) return page.result();
    }
    // Groups: mine now, and those a cursor names that I have left (up to my removal). A group's
    // last seq is its newest message: one row, so a group without news costs one indexed read.
    const ranges: { conversationId: string; upTo: number }[] = groups.map((g) => ({ conversationId: g.conversationId, upTo: Number.MAX_SAFE_INTEGER }));
    const seen = new Set(groups.map((g) => g.conversationId));
    for (const c of Object.keys(cursors)) {
      if (!isGroupConversation(c) || seen.has(c)) continue;
      const r = await this.groups.readable(me, c).catch(() => null);
      if (r) ranges.push({ conversationId: c, upTo: r.upTo });
    }
    for (const g of ranges) {
      const after = cursors[g.conversationId] ?? 0;
      if (g.upTo <= after) continue;
      const [last] = await this.range(g.conversationId, { limit: 1 });
      if (!last) continue;
      if (!(await read(g.conversationId, after, last.seq, g.upTo))) return page.result();
    }
    return page.result();
  }
}

