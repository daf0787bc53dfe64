import { uuidv7 } from '../../shared/uuid7.js';
import { ChatError, LIMITS, conversationMembers, dmConversationId, dmPeer, isChange, isGroupConversation, mentionsIn, quoteOf, type AiChunkEvent, type ChangesQuery, type DeleteInput, type EditInput, type MessageEdits, type ReactInput, type ReceiptEvent, type ConversationView, type HistoryQuery, type Message, type MessageKind, type SendInput, type SyncResult } from '../../protocol/index.js';
import type { Config } from '../config.js';
import type { HistoryRange, Limits, MessageDraft, MessageLog, RateLimitResult, Receipt, ReceiptStore } from '../ports/index.js';
import type { FriendService } from './friends.js';
import { isoTime } from '../iso-time.js';
import { ReceiptBuffer } from './receipt-buffer.js';
import { SyncPage } from './sync-page.js';
import { NO_GROUPS, type Fanout, type GroupDirectory } from './message-routes.js';
import type { Attachments } from './files.js';

export type { Fanout, GroupDirectory };
import { rateLimited } from '../errors.js';

/** The per-sender message rate limit: CHAT_MESSAGE_RATE_LIMIT sends per minute, the same counter on both send paths. */
const SEND_LIMIT_WINDOW_MS = 60_000;
/**
 * The send rate limit's key of a user, made once: the same string every time, so the limit's map
 * hashes it once (it is read on every message), not a new string per send.
 */
const sendKeys = new Map<string, string>();
function sendLimitKey(from: string): string {
  let key = sendKeys.get(from);
  if (key === undefined) {
    if (sendKeys.size >= 100_000) sendKeys.clear();
    sendKeys.set(from, (key = `msg:${from}`));
  }
  return key;
}

/** Unread counts stop here (a client shows "9999+"): counting costs one row per message. */
const MAX_UNREAD_COUNT = 9999;

export type AcceptedListener = (message: Message) => void;

/** Where a change goes: its conversation, whether the changer moderates it, and who hears of it (read after the append when a function). */
interface ChangePlace { conversationId: string; moderator: boolean; recipients: string[] | (() => Promise<string[]> | string[]) }
/** A change's rules on its target as it now is; may fill the draft in. */
type ChangeCheck = (target: Message, where: { moderator: boolean }, draft: MessageDraft) => void | Promise<void>;


/**
 * Messages: one send path for every engine and every kind (user, AI, system):
 * self check → friendship → rate limit → `log.append` → fan-out if fresh.
 * The message log (ports/log.ts) owns order, dedupe and durability.
 */
export class MessageService {
  private readonly listeners: AcceptedListener[] = [];
  private fanout: Fanout = { message: () => {}, aiChunk: () => {} };
  private groups: GroupDirectory = NO_GROUPS;
  private attachments: Attachments | null = null;
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

  setAttachments(a: Attachments) {
    this.attachments = a;
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
    if (input.files !== undefined) return this.appendWithFiles(draft, input.files, input.replyTo, [from, input.to], origin);
    if (input.replyTo !== undefined) return this.appendReply(draft, input.replyTo, [from, input.to], origin);
    return this.log.append(draft).then(({ message, fresh }) => {
      if (!fresh) return message;
      this.deliverFresh(message, [from, input.to], origin);
      return message;
    });
  }

  /**
   * A reply: the message it answers must be a message of the same conversation, not deleted (the
   * sender reads the conversation: they may post to it). The reply goes out with its quote.
   */
  private async appendReply(draft: MessageDraft, replyTo: number, recipients: string[] | null, origin: string | undefined, durable?: (m: Message) => Promise<void>): Promise<Message> {
    const prior = draft.clientMsgId !== undefined ? await this.log.lookup(draft.from, draft.clientMsgId) : null;
    if (prior) return this.withQuotes(prior);
    const quoted = await this.target(draft.conversationId, replyTo);
    if (quoted.deleted) throw new ChatError('CHAT_ERR_MESSAGE_DELETED', 'The message you reply to was deleted');
    draft.replyTo = replyTo;
    const { message, fresh } = await this.log.append(draft);
    const out = { ...message, reply: quoteOf(quoted) };
    if (fresh) {
      await durable?.(message);
      this.deliverFresh(out, recipients ?? (await this.groups.recipients(draft.conversationId)), origin);
    }
    return out;
  }

  /**
   * A message with files: they are claimed for this send first (the sender's, uploaded, not sent
   * before; all or none), recorded as sent once the message is durable and before anyone is told
   * of it (so a recipient can download at once), and given back when the send is not accepted.
   * A resend of a send already made gets its original.
   */
  private async appendWithFiles(draft: MessageDraft, ids: string[], replyTo: number | undefined, recipients: string[] | null, origin: string | undefined): Promise<Message> {
    const attachments = this.attachments;
    if (!attachments) throw new ChatError('CHAT_ERR_NOT_CONFIGURED', 'This server does not store files');
    const prior = draft.clientMsgId !== undefined ? await this.log.lookup(draft.from, draft.clientMsgId) : null;
    if (prior) return this.withQuotes(prior);
    const key = draft.clientMsgId ?? draft.id;
    draft.files = await attachments.claim(draft.from, ids, draft.conversationId, key);
    const durable = (m: Message) => attachments.sent(ids, m.seq);
    try {
      if (replyTo !== undefined) return await this.appendReply(draft, replyTo, recipients, origin, durable);
      const { message, fresh } = await this.log.append(draft);
      if (fresh) {
        await durable(message);
        this.deliverFresh(message, recipients ?? (await this.groups.recipients(draft.conversationId)), origin);
      }
      return message;
    } catch (err) {
      await attachments.release(ids, key).catch(() => {});
      throw err;
    }
  }

  /** A message of a conversation, as it now is; CHAT_ERR_MESSAGE_NOT_FOUND when there is none at that seq (or it is a change record). */
  private async target(conversationId: string, seq: number): Promise<Message> {
    const [m] = await this.log.get(conversationId, [seq]);
    if (!m || isChange(m)) throw new ChatError('CHAT_ERR_MESSAGE_NOT_FOUND');
    return m;
  }

  private async quotedPage(r: SyncResult): Promise<SyncResult> {
    return { ...r, messages: await this.withQuotes(r.messages) };
  }

  /** Replies among `messages` with the quotes of what they answer, as it now is. */
  private async withQuotes<T extends Message | Message[]>(messages: T): Promise<T> {
    const list = Array.isArray(messages) ? messages : [messages];
    const wanted = list.filter((m) => m.replyTo !== undefined);
    if (wanted.length === 0) return messages;
    const byConv = new Map<string, Set<number>>();
    for (const m of wanted) (byConv.get(m.conversationId) ?? byConv.set(m.conversationId, new Set()).get(m.conversationId)!).add(m.replyTo!);
    const quoted = new Map<string, Message>();
    for (const [c, seqs] of byConv) for (const q of await this.log.get(c, [...seqs])) quoted.set(`${c} ${q.seq}`, q);
    const out = list.map((m) => {
      const q = m.replyTo !== undefined ? quoted.get(`${m.conversationId} ${m.replyTo}`) : undefined;
      return q && !m.deleted ? { ...m, reply: quoteOf(q) } : m;
    });
    return (Array.isArray(messages) ? out : out[0]) as T;
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
    const draft = this.draft(conversationId, from, conversationId, input.text, 'user', input.clientMsgId);
    // The members are read again after the append, for the fan-out.
    await this.mention(draft, input.text);
    if (input.files !== undefined) return this.appendWithFiles(draft, input.files, input.replyTo, null, origin);
    if (input.replyTo !== undefined) return this.appendReply(draft, input.replyTo, null, origin);
    const { message, fresh } = await this.log.append(draft);
    if (fresh) this.deliverFresh(message, await this.groups.recipients(conversationId), origin);
    return message;
  }

  /**
   * Where a change goes and what the changer may do there: a DM with a current friend, or a
   * group they are a member of now (a former member changes nothing). A stranger and a missing
   * user or group get the same answers as for a send.
   */
  private async changeable(from: string, to: string): Promise<ChangePlace> {
    if (to.startsWith('#')) {
      const { conversationId, role } = await this.groups.membership(from, to);
      return { conversationId, moderator: role === 'owner' || role === 'admin', recipients: () => this.groups.recipients(conversationId) };
    }
    if (to === from) throw new ChatError('CHAT_ERR_MESSAGE_SELF');
    if (!(await this.friends.areFriends(from, to))) throw new ChatError('CHAT_ERR_NOT_FRIENDS');
    return { conversationId: dmConversationId(from, to), moderator: false, recipients: [from, to] };
  }

  /**
   * One change (edit, delete, react): where, the rate limit, the target and the rules (`check`,
   * which may also fill the draft in), then the log and the fan-out. A resend of a change already
   * made (same clientMsgId) gets its record back whatever the rules now say.
   *
   * Synchronous first, as a send is: in a direct conversation with a friendship this node knows,
   * a rate limit counted in this process and a target the log holds in memory (`recent`), a
   * change costs the log's promise only; anything else is awaited on the same path.
   */
  private change(from: string, input: { to: string; seq: number; clientMsgId?: string }, kind: 'edit' | 'delete' | 'react', origin: string | undefined, check: ChangeCheck): Promise<Message> {
    if (input.to.startsWith('#') || input.to === from || !this.friends.knownFriends(from, input.to)) return this.changeAwaited(from, input, kind, origin, check);
    const rl = this.limits.rateLimit(`chg:${from}`, this.config.changeRateLimit, 60_000);
    const where = { conversationId: dmConversationId(from, input.to), moderator: false, recipients: [from, input.to] };
    if (rl instanceof Promise) return rl.then((r) => this.changeTarget(r, from, input, kind, origin, check, where), (err) => this.refuseChange(from, input.clientMsgId, err));
    return this.changeTarget(rl, from, input, kind, origin, check, where);
  }

  /** A change whose place and rate limit are known: its target, from memory when the log has it there. */
  private changeTarget(rl: RateLimitResult, from: string, input: { seq: number; clientMsgId?: string }, kind: 'edit' | 'delete' | 'react', origin: string | undefined, check: ChangeCheck, where: ChangePlace): Promise<Message> {
    if (!rl.allowed) return this.refuseChange(from, input.clientMsgId, rateLimited(rl));
    const held = this.log.recent?.(where.conversationId, input.seq);
    if (held === undefined) return this.target(where.conversationId, input.seq).then((t) => this.checkedChange(t, from, input, kind, origin, check, where), (err) => this.refuseChange(from, input.clientMsgId, err));
    return this.checkedChange(held, from, input, kind, origin, check, where);
  }

  /** The same steps, each awaited: a group, a friendship this node must read, a limit kept elsewhere. */
  private async changeAwaited(from: string, input: { to: string; seq: number; clientMsgId?: string }, kind: 'edit' | 'delete' | 'react', origin: string | undefined, check: ChangeCheck): Promise<Message> {
    let where: ChangePlace;
    let rl: RateLimitResult;
    try {
      where = await this.changeable(from, input.to);
      rl = await this.limits.rateLimit(`chg:${from}`, this.config.changeRateLimit, 60_000);
    } catch (err) {
      return this.refuseChange(from, input.clientMsgId, err);
    }
    return this.changeTarget(rl, from, input, kind, origin, check, where);
  }

  /** The rules on the target as it now is, then the record appended and, once durable, fanned out. */
  private checkedChange(target: Message, from: string, input: { seq: number; clientMsgId?: string }, kind: 'edit' | 'delete' | 'react', origin: string | undefined, check: ChangeCheck, where: ChangePlace): Promise<Message> {
    let draft: MessageDraft;
    let checked: void | Promise<void>;
    try {
      if (isChange(target)) throw new ChatError('CHAT_ERR_MESSAGE_NOT_FOUND');
      if (target.deleted) throw new ChatError('CHAT_ERR_MESSAGE_DELETED');
      draft = this.draft(where.conversationId, from, target.to, '', kind, input.clientMsgId);
      draft.target = target.seq;
      checked = check(target, where, draft);
    } catch (err) {
      return this.refuseChange(from, input.clientMsgId, err);
    }
    if (checked instanceof Promise) return checked.then(() => this.appendChange(draft, where, origin), (err) => this.refuseChange(from, input.clientMsgId, err));
    return this.appendChange(draft, where, origin);
  }

  /** A checked change into the log; fanned out once durable, to the members as they are then. */
  private appendChange(draft: MessageDraft, where: ChangePlace, origin: string | undefined): Promise<Message> {
    return this.log.append(draft).then(({ message, fresh }) => {
      if (!fresh) return message;
      const to = where.recipients;
      if (Array.isArray(to)) {
        this.fanout.message(to, message, origin);
        return message;
      }
      return Promise.resolve(to()).then((names) => {
        this.fanout.message(names, message, origin);
        return message;
      });
    });
  }

  /** Refused now; a resend of a change made before gets its record (only on this rare path). */
  private async refuseChange(from: string, clientMsgId: string | undefined, err: unknown): Promise<Message> {
    const prior = clientMsgId !== undefined ? await this.log.lookup(from, clientMsgId) : null;
    if (prior) return prior;
    throw err;
  }

  /** A group message's or edit's `@name`s of current members, on the draft (a direct message mentions nobody). */
  private mention(draft: MessageDraft, text: string): void | Promise<void> {
    if (!isGroupConversation(draft.conversationId) || !text.includes('@')) return;
    return Promise.resolve(this.groups.recipients(draft.conversationId)).then((members) => {
      const mentions = mentionsIn(text, members, draft.from);
      if (mentions.length) draft.mentions = mentions;
    });
  }

  /** Replaces the text of my message, within CHAT_EDIT_WINDOW_SECONDS of sending it, at most CHAT_MAX_EDITS times. */
  edit(from: string, input: EditInput, origin?: string): Promise<Message> {
    return this.change(from, input, 'edit', origin, (target, _where, draft) => {
      if (target.kind !== 'user') throw new ChatError('CHAT_ERR_NOT_EDITABLE');
      if (target.from !== from) throw new ChatError('CHAT_ERR_NOT_AUTHOR');
      const windowMs = this.config.editWindowSeconds * 1000;
      if (windowMs === 0) throw new ChatError('CHAT_ERR_EDIT_WINDOW', 'Editing is turned off on this server (CHAT_EDIT_WINDOW_SECONDS=0)');
      if (this.now() - Date.parse(target.createdAt) > windowMs) throw new ChatError('CHAT_ERR_EDIT_WINDOW');
      if ((target.edits ?? 0) >= this.config.maxEdits) throw new ChatError('CHAT_ERR_EDIT_LIMIT');
      draft.text = input.text;
      // The edit's mentions replace the message's (clients notify only the newly mentioned).
      return this.mention(draft, input.text);
    });
  }

  /**
   * Deletes a message: its author may, at any time; in a group, owners and admins may delete any
   * (moderation); in a direct conversation, either member may delete an AI answer.
   */
  async delete(from: string, input: DeleteInput, origin?: string): Promise<Message> {
    let files: Message['files'];
    const record = await this.change(from, input, 'delete', origin, (target, where) => {
      const allowed = target.from === from || where.moderator || (target.kind === 'ai' && !isGroupConversation(target.conversationId));
      if (!allowed) throw new ChatError('CHAT_ERR_NOT_AUTHOR', 'Only its author (or, in a group, an owner or admin) may delete this message');
      files = target.files;
    });
    // Its files go with it (their bytes with the last reference), and their bytes count no more against the quota.
    if (files?.length) await this.attachments?.dropped({ files });
    return record;
  }

  /** Adds, removes or toggles my reaction; a message carries at most CHAT_MAX_REACTIONS different emoji. */
  react(from: string, input: ReactInput, origin?: string): Promise<Message> {
    return this.change(from, input, 'react', origin, (target, _where, draft) => {
      const mine = target.reactions?.find((r) => r.emoji === input.emoji);
      const had = mine?.users.includes(from) ?? false;
      const op = input.op === 'add' || input.op === 'remove' ? input.op : had ? 'remove' : 'add';
      if (op === 'add' && !mine && (target.reactions?.length ?? 0) >= this.config.maxReactions) throw new ChatError('CHAT_ERR_REACTION_LIMIT');
      draft.emoji = input.emoji;
      draft.op = op;
    });
  }

  /** Where `me` reads a conversation named as in a send (friend or #group), and up to which seq. */
  private async readableConversation(me: string, peer: string): Promise<{ conversationId: string; upTo: number }> {
    if (!peer.startsWith('#')) return { conversationId: dmConversationId(me, peer), upTo: Number.MAX_SAFE_INTEGER };
    const { conversationId, upTo } = await this.groups.readable(me, peer);
    return { conversationId, upTo };
  }

  /** A message's edit history (its members read it; a former group member up to their removal). */
  async edits(me: string, peer: string, seq: number): Promise<MessageEdits> {
    const { conversationId, upTo } = await this.readableConversation(me, peer);
    const versions = seq <= upTo ? await this.log.edits(conversationId, seq) : null;
    if (!versions) throw new ChatError('CHAT_ERR_MESSAGE_NOT_FOUND', 'No such message, or it has no edit history (deleted)');
    return { seq, versions };
  }

  /**
   * The messages of a conversation changed after `sinceSeq`, as they now are: what a client that
   * holds messages up to some seq asks to be sure no change got past it.
   */
  async changes(me: string, peer: string, q: ChangesQuery): Promise<Message[]> {
    const { conversationId, upTo } = await this.readableConversation(me, peer);
    const list = await this.log.changed(conversationId, q.sinceSeq, q.limit ?? LIMITS.defaultHistoryLimit);
    return this.withQuotes(list.filter((m) => m.seq <= upTo && (m.changedSeq ?? 0) <= upTo));
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
    if (q.around !== undefined) {
      // The message and the older half of the page, then the newer half: messages as they now are.
      const { conversationId, upTo } = await this.readableConversation(me, peer);
      const older = await this.rangeUpTo(conversationId, { limit: Math.ceil(limit / 2), beforeSeq: q.around + 1, messagesOnly: true }, upTo);
      const newer = await this.rangeUpTo(conversationId, { limit: Math.floor(limit / 2), afterSeq: q.around, messagesOnly: true }, upTo);
      return this.withQuotes([...older, ...newer]);
    }
    // Paging back shows messages as they now are; reading forward from a seq (catch-up) gives every record.
    const range: HistoryRange = { limit, beforeSeq: q.beforeSeq, afterSeq: q.afterSeq, messagesOnly: q.afterSeq === undefined };
    const { conversationId, upTo } = await this.readableConversation(me, peer);
    return this.withQuotes(await this.rangeUpTo(conversationId, range, upTo));
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
   * The caller's conversations, each with its unread messages (after my read marker).
   */
  async conversations(me: string): Promise<ConversationView[]> {
    const [convs, groups] = await Promise.all([this.log.conversations(me), this.groups.groupsOf(me)]);
    const dms = Promise.all(convs.filter((c) => !isGroupConversation(c.conversationId)).map(async (c): Promise<ConversationView> => {
      const [[last], receipts] = await Promise.all([this.range(c.conversationId, { limit: 1, messagesOnly: true }), this.markers(c.conversationId)]);
      const peer = dmPeer(c.conversationId, me) ?? '';
      const myRead = receipts[me]?.read ?? 0;
      const lastSeq = Math.max(c.lastSeq, last?.seq ?? 0);
      return { conversationId: c.conversationId, kind: 'dm', with: peer, title: peer, lastSeq, lastMessage: last ?? null, unread: await this.unread(c.conversationId, myRead, lastSeq), mentions: 0, myRead, peerDelivered: receipts[peer]?.delivered ?? 0, peerRead: receipts[peer]?.read ?? 0 };
    }));
    const rooms = Promise.all(groups.map(async (g): Promise<ConversationView> => {
      const [[head], [last], receipts] = await Promise.all([this.range(g.conversationId, { limit: 1 }), this.range(g.conversationId, { limit: 1, messagesOnly: true }), this.markersOf(g.conversationId, g.members)]);
      const lastSeq = head?.seq ?? 0;
      const myRead = receipts[me]?.read ?? 0;
      const others = g.members.filter((u) => u !== me);
      const low = (k: keyof Receipt) => (others.length ? Math.min(...others.map((u) => receipts[u]?.[k] ?? 0)) : 0);
      return {
        conversationId: g.conversationId, kind: 'group', with: `#${g.handle}`, title: g.name, lastSeq, lastMessage: last ?? null, unread: await this.unread(g.conversationId, myRead, lastSeq), mentions: lastSeq <= myRead ? 0 : await this.log.countMentions(g.conversationId, myRead, me, MAX_UNREAD_COUNT), myRead,
        peerDelivered: low('delivered'), peerRead: low('read'), members: g.members.length, topic: g.topic, readBy: others.filter((u) => (receipts[u]?.read ?? 0) >= lastSeq && lastSeq > 0).length,
      };
    }));
    const all = [...(await dms), ...(await rooms)];
    return all.sort((a, b) => (b.lastMessage?.createdAt ?? '').localeCompare(a.lastMessage?.createdAt ?? ''));
  }

  /**
   * Messages after my read marker (my own sends move it forward). Change records (edits,
   * reactions) take seqs but are not unread messages: counted only when the marker is behind.
   */
  private unread(conversationId: string, myRead: number, lastSeq: number): Promise<number> | number {
    return lastSeq <= myRead ? 0 : this.log.countMessages(conversationId, myRead, MAX_UNREAD_COUNT);
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
      if (!(await read(c.conversationId, cursors[c.conversationId] ?? 0, c.lastSeq))) return this.quotedPage(page.result());
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
      if (!(await read(g.conversationId, after, last.seq, g.upTo))) return this.quotedPage(page.result());
    }
    return this.quotedPage(page.result());
  }
}

