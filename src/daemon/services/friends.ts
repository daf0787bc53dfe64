import { ChatError, type FriendAddResult, type FriendEvent, type FriendRequests, type FriendView } from '../../protocol/index.js';
import type { Cache, Store } from '../engines/types.js';

/** Friendship is two edges: a request is one edge, adding back (or accepting) makes it mutual. */
/** How long a positive friendship check is reused on the send path. */
export const FRIENDSHIP_CACHE_MS = 10_000;

/** Delivers a friendship change to every socket of `to`, on any node. */
export type FriendNotifier = (to: string, event: FriendEvent) => void;

export class FriendService {
  private readonly known = new Map<string, number>();
  private notify: FriendNotifier = () => {};

  /** Friendship changes go live to both users (the gateway delivers them). */
  onChange(n: FriendNotifier) {
    this.notify = n;
  }

  constructor(private readonly store: Store, private readonly cache: Cache, private readonly now: () => number = Date.now) {}

  private pairKey(a: string, b: string) {
    return a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`;
  }

  private forget(a: string, b: string) {
    this.known.delete(this.pairKey(a, b));
  }

  private async requireUser(username: string) {
    const u = await this.store.getUserByName(username);
    if (!u) throw new ChatError('CHAT_ERR_USER_NOT_FOUND', `No such user: ${username}`);
    return u;
  }

  async add(me: string, other: string): Promise<FriendAddResult> {
    if (me === other) throw new ChatError('CHAT_ERR_FRIEND_SELF');
    this.forget(me, other);
    await this.requireUser(other);
    await this.store.addFriendEdge(me, other, new Date(this.now()).toISOString());
    const mutual = await this.store.hasFriendEdge(other, me);
    this.notify(me, { username: other, status: mutual ? 'friends' : 'outgoing' });
    this.notify(other, { username: me, status: mutual ? 'friends' : 'incoming' });
    return { username: other, status: mutual ? 'friends' : 'requested' };
  }

  async accept(me: string, other: string): Promise<FriendAddResult> {
    if (!(await this.store.hasFriendEdge(other, me))) throw new ChatError('CHAT_ERR_NO_REQUEST', `No pending friend request from ${other}`);
    return this.add(me, other);
  }

  async remove(me: string, other: string) {
    this.forget(me, other);
    if (!(await this.store.removeFriendEdges(me, other))) throw new ChatError('CHAT_ERR_NOT_FOUND', `${other} is neither a friend nor a pending request`);
    this.notify(me, { username: other, status: 'none' });
    this.notify(other, { username: me, status: 'none' });
  }

  /**
   * Both edges exist. A positive answer is reused for FRIENDSHIP_CACHE_MS, so an unfriend made
   * on another node takes at most that long to stop messages here (on this node, at once).
   */
  async areFriends(a: string, b: string) {
    if (this.knownFriends(a, b)) return true;
    const key = this.pairKey(a, b);
    const t = this.now();
    const yes = (await this.store.hasFriendEdge(a, b)) && (await this.store.hasFriendEdge(b, a));
    if (yes) {
      if (this.known.size > 100_000) this.known.clear();
      this.known.set(key, t + FRIENDSHIP_CACHE_MS);
    } else this.known.delete(key);
    return yes;
  }

  /** Answered at once from what areFriends learned: true only while a positive answer is reused. */
  knownFriends(a: string, b: string): boolean {
    return (this.known.get(this.pairKey(a, b)) ?? 0) > this.now();
  }

  async list(me: string): Promise<FriendView[]> {
    const { out, in: incoming } = await this.store.listFriendEdges(me);
    const inSet = new Set(incoming);
    const friends = out.filter((u) => inSet.has(u));
    const online = await this.cache.presenceOnline(friends);
    return friends.map((username) => ({ username, online: online[username] ?? false }));
  }

  async friendNames(me: string): Promise<string[]> {
    const { out, in: incoming } = await this.store.listFriendEdges(me);
    const inSet = new Set(incoming);
    return out.filter((u) => inSet.has(u));
  }

  async requests(me: string): Promise<FriendRequests> {
    const { out, in: incoming } = await this.store.listFriendEdges(me);
    const outSet = new Set(out);
    const inSet = new Set(incoming);
    return { incoming: incoming.filter((u) => !outSet.has(u)), outgoing: out.filter((u) => !inSet.has(u)) };
  }
}
