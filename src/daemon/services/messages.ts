import { v7 as uuidv7 } from 'uuid';
import { ChatError, LIMITS, dmConversationId, dmPeer, type AiChunkEvent, type ReceiptEvent, type ConversationView, type HistoryQuery, type Message, type MessageKind, type SendInput, type SyncResult } from '../../protocol/index.js';
import type { Config } from '../config.js';
import type { Cache, ConversationRecord, HistoryRange, MessageDraft, Pipeline, RateLimitResult, Receipt, ReceiptMark, Store } from '../engines/types.js';
import type { FriendService } from './friends.js';
import { isoTime } from '../iso-time.js';

/** Delivers server events to every socket of the named users, on any node. */
export interface Fanout {
  /** `except`: the connection that sent the message; it has the message in its ack already. */
  message(usernames: string[], message: Message, except?: string): void;
  aiChunk(usernames: string[], chunk: AiChunkEvent): void;
}

/** The per-sender message rate limit: CHAT_MESSAGE_RATE_LIMIT sends per minute, the same counter on both send paths. */
const SEND_LIMIT_WINDOW_MS = 60_000;
const sendLimitKey = (from: string) => `msg:${from}`;
const limitedError = (rl: RateLimitResult) => new ChatError('CHAT_ERR_RATE_LIMITED', undefined, { retryAfterMs: rl.retryAfterMs });

export type AcceptedListener = (message: Message) => void;

/** How often coalesced read markers are written. */
const RECEIPT_FLUSH_MS = 1000;

/**
 * Read and delivery markers on their way to the store: each (conversation, user) is written at
 * most once per flush, whatever the number of receipts or sends in between. Values only rise.
 */
class ReceiptBuffer {
  private pending = new Map<string, ReceiptMark>();
  private timer?: NodeJS.Timeout;

  constructor(private readonly store: Store, private readonly onError: (err: unknown) => void) {}

  private key(conversationId: string, username: string) {
    return `${conversationId}\u0000${username}`;
  }

  /** Raises a marker over `base` (what the store had) and what is pending; returns the result. */
  raise(m: ReceiptMark, base: Receipt = { delivered: 0, read: 0 }): Receipt {
    const k = this.key(m.conversationId, m.username);
    const p = this.pending.get(k);
    const next: ReceiptMark = { conversationId: m.conversationId, username: m.username, delivered: Math.max(m.delivered, base.delivered, p?.delivered ?? 0), read: Math.max(m.read, base.read, p?.read ?? 0) };
    if (p || next.read !== base.read || next.delivered !== base.delivered) {
      this.pending.set(k, next);
      this.timer ??= setTimeout(() => { this.timer = undefined; void this.flush(); }, RECEIPT_FLUSH_MS).unref();
    }
    return { delivered: next.delivered, read: next.read };
  }

  /** A sender has read their own conversation up to what they sent. */
  own(m: Message) {
    this.raise({ conversationId: m.conversationId, username: m.from, delivered: m.seq, read: m.seq });
  }

  merged(conversationId: string, stored: Record<string, Receipt>): Record<string, Receipt> {
    if (this.pending.size === 0) return stored;
    const out = { ...stored };
    for (const u of dmMembers(conversationId)) {
      const p = this.pending.get(this.key(conversationId, u));
      if (p) out[u] = { delivered: Math.max(p.delivered, out[u]?.delivered ?? 0), read: Math.max(p.read, out[u]?.read ?? 0) };
    }
    return out;
  }

  async flush() {
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    try {
      await this.store.setReceipts([...batch.values()]);
    } catch (err) {
      // Kept for the next flush; markers only rise, so a later value wins either way.
      for (const [k, m] of batch) if (!this.pending.has(k)) this.pending.set(k, m);
      this.timer ??= setTimeout(() => { this.timer = undefined; void this.flush(); }, RECEIPT_FLUSH_MS).unref();
      this.onError(err);
    }
  }
}

const dmMembers = (conversationId: string) => (conversationId.startsWith('dm:') ? conversationId.slice(3).split(':') : []);

export class MessageService {
  private readonly inflight = new Map<string, Promise<Message>>();
  private readonly listeners: AcceptedListener[] = [];
  private fanout: Fanout = { message: () => {}, aiChunk: () => {} };
  private readonly receipts: ReceiptBuffer;
  /** See sendNow: the store dedupes at commit and holds every message at ack, and rate limits are counted here. */
  private readonly fastLane: boolean;

  constructor(
    private readonly store: Store,
    private readonly cache: Cache,
    private readonly pipeline: Pipeline,
    private readonly friends: FriendService,
    private readonly config: Config,
    private readonly now: () => number = Date.now,
    onError: (err: unknown) => void = () => {},
  ) {
    this.receipts = new ReceiptBuffer(store, onError);
    this.fastLane = pipeline.dedupesOnCommit && pipeline.storedOnAck && !cache.dedupeDurable && cache.rateLimitNow !== undefined;
  }

  setFanout(f: Fanout) {
    this.fanout = f;
  }

  /** Streams a piece of an AI answer to both participants (not stored; the final answer is). */
  aiChunk(chunk: AiChunkEvent) {
    const members = chunk.conversationId.startsWith('dm:') ? chunk.conversationId.slice(3).split(':') : [];
    this.fanout.aiChunk(members, chunk);
  }

  /** Called after a user message is durable and delivered (the AI service hooks in here). */
  onAccepted(l: AcceptedListener) {
    this.listeners.push(l);
  }

  /**
   * Sends a direct message. Resolves once durable. A repeated (from, clientMsgId)
   * resolves to the original message, in flight or stored, and sends nothing new.
   * `origin` is the sending connection: every other socket of both users gets the message
   * live; the origin gets it as the resolved value (its ack), not a second time.
   */
  send(from: string, input: SendInput, origin?: string): Promise<Message> {
    // Not an async function: returning `work` from one would wrap it in another promise and
    // cost two more microtask turns per message.
    if (input.to === from) return Promise.reject(new ChatError('CHAT_ERR_MESSAGE_SELF'));
    if (this.fastLane) {
      const fast = this.sendNow(from, input, origin);
      if (fast) return fast;
    }
    const key = input.clientMsgId !== undefined ? `${from}\u0000${input.clientMsgId}` : undefined;
    if (key) {
      const pending = this.inflight.get(key);
      if (pending) return pending;
    }
    const work = this.sendOnce(from, input, key, origin);
    if (key) {
      this.inflight.set(key, work);
      const done = () => this.inflight.delete(key);
      work.then(done, done);
    }
    return work;
  }

  /**
   * The embedded fast lane: when the friendship is known and the rate limit is counted in this
   * process, the message goes straight to the pipeline, with one promise and one callback per
   * message and nothing awaited before it. The store's unique index dedupes at commit (also a
   * resend racing its original), so no in-flight map is needed. Undefined: take the full path.
   * (Every message a sender has in flight is alive at each scavenge, so what it holds on to is
   * copied, then promoted; async frames held most of it.)
   */
  private sendNow(from: string, input: SendInput, origin: string | undefined): Promise<Message> | undefined {
    if (!this.friends.knownFriends(from, input.to)) return undefined;
    const rl = this.cache.rateLimitNow!(sendLimitKey(from), this.config.messageRateLimit, SEND_LIMIT_WINDOW_MS);
    if (!rl.allowed) return this.refuse(from, input, input.clientMsgId !== undefined, limitedError(rl));
    const draft = this.draft(dmConversationId(from, input.to), from, input.to, input.text, 'user', input.clientMsgId);
    return this.pipeline.submit(draft).then((message) => {
      if (message.id !== draft.id) return message;
      this.receipts.own(message);
      this.fanout.message([from, input.to], message, origin);
      for (const l of this.listeners) l(message);
      return message;
    });
  }

  private async sendOnce(from: string, input: SendInput, key: string | undefined, origin: string | undefined): Promise<Message> {
    // A durable dedupe cache (Redis) answers alone. When the pipeline dedupes at commit (the
    // embedded store's unique index: no seq is allotted to a resend), that is the only check: a
    // bounded in-memory copy in front of it would keep every message alive for a second or so,
    // long enough to be promoted to the old generation, for resends that are rare. Otherwise the
    // in-memory cache, then a store lookup. Either way a resend never leaves a seq gap.
    const cached = key !== undefined && (this.cache.dedupeDurable || !this.pipeline.dedupesOnCommit);
    const storeDecides = key !== undefined && !cached;
    if (cached) {
      const prior = (await this.cache.dedupeGet(key)) ?? (this.cache.dedupeDurable ? null : await this.store.getMessageByClientId(from, input.clientMsgId!));
      if (prior) return prior;
    }
    // A missing user and a stranger get the same answer: a sender may not learn which names exist.
    if (!(await this.friends.areFriends(from, input.to))) return this.refuse(from, input, storeDecides, new ChatError('CHAT_ERR_NOT_FRIENDS'));
    const rl = await this.cache.rateLimit(sendLimitKey(from), this.config.messageRateLimit, SEND_LIMIT_WINDOW_MS);
    if (!rl.allowed) return this.refuse(from, input, storeDecides, limitedError(rl));
    const { message, fresh } = await this.deliver(dmConversationId(from, input.to), from, input.to, input.text, 'user', input.clientMsgId, origin);
    if (cached) await this.cache.dedupeSet(key, message);
    if (fresh) {
      this.receipts.own(message);
      for (const l of this.listeners) l(message);
    }
    return message;
  }

  /**
   * A resend is answered with its original even when a new message would now be refused (the
   * friendship ended, the sender is rate limited): `lookup` when no cache was asked up front.
   * Only on those rare paths.
   */
  private async refuse(from: string, input: SendInput, lookup: boolean, err: ChatError): Promise<Message> {
    const prior = lookup ? await this.store.getMessageByClientId(from, input.clientMsgId!) : null;
    if (prior) return prior;
    throw err;
  }

  /** Makes a message durable and delivers it to both participants. Used for user, AI and system messages. */
  async post(conversationId: string, from: string, to: string, text: string, kind: MessageKind, clientMsgId?: string): Promise<Message> {
    return (await this.deliver(conversationId, from, to, text, kind, clientMsgId)).message;
  }

  /** `fresh` is false when the store already had it (a resend): then nothing is delivered again. */
  private async deliver(conversationId: string, from: string, to: string, text: string, kind: MessageKind, clientMsgId?: string, origin?: string): Promise<{ message: Message; fresh: boolean }> {
    const draft = this.draft(conversationId, from, to, text, kind, clientMsgId);
    const message = await this.pipeline.submit(draft);
    if (message.id !== draft.id) return { message, fresh: false };
    // Recent messages are served with history before a scale-out store has them (the message is
    // durable already); the embedded store has it at ack time, so it needs no copy in memory.
    if (!this.pipeline.storedOnAck) await this.cache.recentPush(message).catch(() => {});
    const members = conversationId.startsWith('dm:') ? conversationId.slice(3).split(':') : [from, to];
    this.fanout.message(members, message, origin);
    return { message, fresh: true };
  }

  private draft(conversationId: string, from: string, to: string, text: string, kind: MessageKind, clientMsgId: string | undefined): MessageDraft {
    const draft: MessageDraft = { id: uuidv7(), conversationId, from, to, text, kind, createdAt: isoTime(this.now()) };
    if (clientMsgId !== undefined) draft.clientMsgId = clientMsgId;
    return draft;
  }

  /** A missing user reads like a stranger: a conversation with no messages. */
  async history(me: string, peer: string, q: HistoryQuery): Promise<Message[]> {
    return this.range(dmConversationId(me, peer), { limit: q.limit ?? LIMITS.defaultHistoryLimit, beforeSeq: q.beforeSeq, afterSeq: q.afterSeq });
  }

  /**
   * A seq range of a conversation: the store's page merged with the cache's recent
   * messages, which the store may not have yet (the Kafka pipeline persists asynchronously).
   */
  async range(conversationId: string, r: HistoryRange): Promise<Message[]> {
    if (this.pipeline.storedOnAck) return this.store.history(conversationId, r);
    const [stored, recent] = await Promise.all([this.store.history(conversationId, r), this.cache.recent(conversationId).catch(() => [] as Message[])]);
    const lo = r.afterSeq ?? 0;
    const hi = r.beforeSeq ?? Number.MAX_SAFE_INTEGER;
    const bySeq = new Map<number, Message>(stored.map((m) => [m.seq, m]));
    for (const m of recent) if (m.seq > lo && m.seq < hi && !bySeq.has(m.seq)) bySeq.set(m.seq, m);
    if (bySeq.size === stored.length) return stored;
    const all = [...bySeq.values()].sort((a, b) => a.seq - b.seq);
    return r.afterSeq !== undefined ? all.slice(0, r.limit) : all.slice(-r.limit);
  }

  /** The caller's conversations, most recent first: the store's merged with the cache's recent activity. */
  private async conversationHeads(me: string): Promise<ConversationRecord[]> {
    if (this.pipeline.storedOnAck) return this.store.listConversations(me);
    const [stored, recent] = await Promise.all([this.store.listConversations(me), this.cache.recentConversations(me).catch(() => [] as ConversationRecord[])]);
    const byId = new Map(stored.map((c) => [c.conversationId, c]));
    for (const c of recent) {
      const s = byId.get(c.conversationId);
      if (!s || s.lastSeq < c.lastSeq) byId.set(c.conversationId, c);
    }
    return [...byId.values()].sort((a, b) => b.updatedAt.localeCompare(a.updatedAt));
  }

  /**
   * The caller's conversations. Unread is a subtraction (seq is dense per conversation): the
   * messages after my read marker, which my own sends move forward, so it costs the same whatever
   * the count.
   */
  async conversations(me: string): Promise<ConversationView[]> {
    const convs = await this.conversationHeads(me);
    return Promise.all(convs.map(async (c) => {
      const [[last], receipts] = await Promise.all([this.range(c.conversationId, { limit: 1 }), this.markers(c.conversationId)]);
      const peer = dmPeer(c.conversationId, me) ?? '';
      const myRead = receipts[me]?.read ?? 0;
      const lastSeq = Math.max(c.lastSeq, last?.seq ?? 0);
      return { conversationId: c.conversationId, with: peer, lastSeq, lastMessage: last ?? null, unread: Math.max(0, lastSeq - myRead), myRead, peerDelivered: receipts[peer]?.delivered ?? 0, peerRead: receipts[peer]?.read ?? 0 };
    }));
  }

  /** Stored markers with the ones not written yet. */
  private async markers(conversationId: string): Promise<Record<string, Receipt>> {
    return this.receipts.merged(conversationId, await this.store.getReceipts(conversationId));
  }

  /**
   * Moves my markers forward in one of my conversations, never past its last message. Returns
   * the markers now, and whether they moved (only then is the event relayed). Stored at most once
   * a second per conversation and user; rate limited per user.
   */
  async receipt(me: string, conversationId: string, marks: { delivered?: number; read?: number }): Promise<{ event: ReceiptEvent; moved: boolean }> {
    const rl = await this.cache.rateLimit(`rcpt:${me}`, this.config.receiptRateLimit, 60_000);
    if (!rl.allowed) throw limitedError(rl);
    const peer = dmPeer(conversationId, me);
    // Only the canonical id of a conversation with messages: a stranger learns nothing.
    const noSuch = new ChatError('CHAT_ERR_NOT_FOUND', 'No such conversation');
    if (!peer || dmConversationId(me, peer) !== conversationId) throw noSuch;
    const [[last], stored] = await Promise.all([this.range(conversationId, { limit: 1 }), this.markers(conversationId)]);
    const lastSeq = last?.seq ?? 0;
    if (lastSeq === 0) throw noSuch;
    const read = Math.min(marks.read ?? 0, lastSeq);
    const delivered = Math.min(Math.max(marks.delivered ?? 0, read), lastSeq);
    const before = stored[me] ?? { delivered: 0, read: 0 };
    const now = this.receipts.raise({ conversationId, username: me, delivered, read }, before);
    return { event: { conversationId, username: me, delivered: now.delivered, read: now.read }, moved: now.delivered !== before.delivered || now.read !== before.read };
  }

  /** Writes the markers not written yet (every second, and at shutdown). */
  flushReceipts() {
    return this.receipts.flush();
  }

  /**
   * Catch-up: messages after each cursor, for the caller's conversations only.
   * A conversation missing from `cursors` is returned from seq 0: clients send a
   * cursor for every conversation they know, so a missing one is new to them.
   */
  async sync(me: string, cursors: Record<string, number>, limit: number = LIMITS.maxHistoryLimit): Promise<SyncResult> {
    const convs = await this.conversationHeads(me);
    const messages: Message[] = [];
    let more = false;
    for (const c of convs) {
      const after = cursors[c.conversationId] ?? 0;
      if (c.lastSeq <= after) continue;
      const page = await this.range(c.conversationId, { limit, afterSeq: after });
      messages.push(...page);
      if (page.length === limit && page[page.length - 1]!.seq < c.lastSeq) more = true;
    }
    return { messages, more };
  }
}
