import { dmConversationId, type TypingEvent, type TypingInput } from '../../protocol/index.js';
import { rateLimited } from '../errors.js';
import type { Config } from '../config.js';
import type { Limits } from '../ports/index.js';
import type { FriendService } from './friends.js';
import type { GroupDirectory } from './messages.js';

/** Each (user, conversation) is relayed at most once per this interval; the latest state wins. */
export const TYPING_INTERVAL_MS = 1000;

/** Delivers a typing event to every socket of the named users, on any node. */
export type TypingFanout = (usernames: string[], event: TypingEvent) => void;

interface Held {
  /** The state last relayed, at the start of the current interval. */
  relayed: boolean;
  /** A different state that came during the interval: relayed when it ends. */
  pending?: boolean;
  to: string[];
  timer: NodeJS.Timeout;
}

/**
 * Typing indicators: ephemeral, never stored. Only between friends, or to the other members of a
 * group the sender is in; anything else is dropped without a word (a stranger learns nothing).
 * A flood costs its sender, not the members: each user has CHAT_TYPING_RATE_LIMIT events a
 * minute, and each (user, conversation) reaches the others at most once a second, a change in
 * between relayed when the second ends. Clients repeat `typing: true` every 2 s to keep it shown.
 */
export class TypingService {
  private readonly held = new Map<string, Held>();
  private fanout: TypingFanout = () => {};

  constructor(
    private readonly limits: Limits,
    private readonly friends: FriendService,
    private readonly groups: GroupDirectory,
    private readonly config: Config,
  ) {}

  setFanout(f: TypingFanout) {
    this.fanout = f;
  }

  async update(username: string, input: TypingInput): Promise<null> {
    const rl = await this.limits.rateLimit(`typing:${username}`, this.config.typingRateLimit, 60_000);
    if (!rl.allowed) throw rateLimited(rl);
    let conversationId: string;
    let to: string[];
    if (input.to.startsWith('#')) {
      const id = await this.groups.postable(username, input.to).catch(() => null);
      if (!id) return null;
      conversationId = id;
      to = (await this.groups.recipients(id)).filter((u) => u !== username);
    } else {
      if (input.to === username || !(await this.friends.areFriends(username, input.to))) return null;
      conversationId = dmConversationId(username, input.to);
      to = [input.to];
    }
    if (to.length === 0) return null;
    this.offer(username, conversationId, to, input.typing);
    return null;
  }

  private offer(username: string, conversationId: string, to: string[], typing: boolean) {
    const key = `${username}\u0000${conversationId}`;
    const held = this.held.get(key);
    if (held) {
      held.pending = typing === held.relayed ? undefined : typing;
      held.to = to;
      return;
    }
    this.relay(key, username, conversationId, to, typing);
  }

  private relay(key: string, username: string, conversationId: string, to: string[], typing: boolean) {
    this.fanout(to, { conversationId, username, typing });
    const timer = setTimeout(() => {
      const h = this.held.get(key);
      this.held.delete(key);
      if (h?.pending !== undefined) this.relay(key, username, conversationId, h.to, h.pending);
    }, TYPING_INTERVAL_MS);
    timer.unref();
    this.held.set(key, { relayed: typing, to, timer });
  }

  /** Drops what is held (at shutdown). */
  close() {
    for (const h of this.held.values()) clearTimeout(h.timer);
    this.held.clear();
  }
}
