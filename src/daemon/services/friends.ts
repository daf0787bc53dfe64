import { ChatError, type FriendAddResult, type FriendEvent, type FriendRequests, type FriendView } from '../../protocol/index.js';
import type { AccountStore, FriendStore, Presence } from '../ports/index.js';
import { TwoKeyMap } from './two-key-map.js';

/** Friendship is two edges: a request is one edge, adding back (or accepting) makes it mutual. */
/** How long a positive friendship check is reused on the send path (every node forgets it at once on a change; this bounds a lost announcement). */
export const FRIENDSHIP_CACHE_MS = 10_000;

/** Delivers a friendship change to every socket of `to`, on any node. */
export type FriendNotifier = (to: string, event: FriendEvent) => void;

/** How long a user's friend list is reused for presence announcements (on connect and disconnect). */
export const FRIEND_LIST_CACHE_MS = 10_000;

export class FriendService {
  /** Positive friendship checks, until when they are reused: by the pair's names in order (lower, higher). */
  private readonly known = new TwoKeyMap<number>();
  /** Pairs being checked again in the background (refresh-ahead). */
  private readonly refreshing = new Set<string>();
  /** Bumped by every forget: a store read that began before it must not cache its answer. */
  private generation = 0;
  /** Friend names per user, with when they expire: every connect and disconnect announces to them. */
  private readonly names = new Map<string, { names: string[]; until: number }>();
  private notify: FriendNotifier = () => {};
  private changed: (a: string, b: string) => void = () => {};

  /** Friendship changes go live to both users (the fan-out service delivers them). */
  onChange(n: FriendNotifier) {
    this.notify = n;
  }

  constructor(private readonly accounts: Pick<AccountStore, 'getUserByName'>, private readonly store: FriendStore, private readonly presence: Presence, private readonly now: () => number = Date.now) {}

  private pairKey(a: string, b: string) {
    return a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`;
  }

  /** Called with every pair whose friendship this node changed (the fan-out service tells the other nodes). */
  onPairChanged(f: (a: string, b: string) => void) {
    this.changed = f;
  }

  /** Forgets what is cached about a pair: this node's own change, or another node's. */
  forget(a: string, b: string) {
    this.generation++;
    this.uncache(a, b);
    this.names.delete(a);
    this.names.delete(b);
  }

  private changedPair(a: string, b: string) {
    this.forget(a, b);
    this.changed(a, b);
  }

  private async requireUser(username: string) {
    const u = await this.accounts.getUserByName(username);
    if (!u) throw new ChatError('CHAT_ERR_USER_NOT_FOUND', `No such user: ${username}`);
    return u;
  }

  async add(me: string, other: string): Promise<FriendAddResult> {
    if (me === other) throw new ChatError('CHAT_ERR_FRIEND_SELF');
    this.forget(me, other);
    await this.requireUser(other);
    await this.store.addFriendEdge(me, other, new Date(this.now()).toISOString());
    this.changedPair(me, other);
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
    const removed = await this.store.removeFriendEdges(me, other);
    this.changedPair(me, other);
    if (!removed) throw new ChatError('CHAT_ERR_NOT_FOUND', `${other} is neither a friend nor a pending request`);
    this.notify(me, { username: other, status: 'none' });
    this.notify(other, { username: me, status: 'none' });
  }

  /**
   * Both edges exist. A positive answer is reused for FRIENDSHIP_CACHE_MS; an unfriend made on
   * another node stops messages here as soon as its announcement arrives (over Redis), and within
   * that time if the announcement is lost.
   */
  async areFriends(a: string, b: string) {
    if (this.knownFriends(a, b)) return true;
    return this.check(a, b);
  }

  /** Reads both edges from the store and caches a positive answer, unless a change was announced meanwhile. */
  private async check(a: string, b: string) {
    const t = this.now();
    const generation = this.generation;
    const yes = (await this.store.hasFriendEdge(a, b)) && (await this.store.hasFriendEdge(b, a));
    if (generation !== this.generation) return yes;
    if (yes) {
      if (this.known.size > 100_000) this.known.clear();
      if (a < b) this.known.set(a, b, t + FRIENDSHIP_CACHE_MS);
      else this.known.set(b, a, t + FRIENDSHIP_CACHE_MS);
    } else this.uncache(a, b);
    return yes;
  }

  /** Drops a pair's cached answer, whichever order its names come in (the cache keys them lower first). */
  private uncache(a: string, b: string) {
    if (a < b) this.known.delete(a, b);
    else this.known.delete(b, a);
  }

  /**
   * Answered at once from what areFriends learned: true only while a positive answer is reused.
   * In the second half of its life the answer is checked again in the background (refresh-ahead),
   * so a pair that keeps talking never waits on the store for it.
   */
  knownFriends(a: string, b: string): boolean {
    const left = ((a < b ? this.known.get(a, b) : this.known.get(b, a)) ?? 0) - this.now();
    if (left <= 0) return false;
    if (left < FRIENDSHIP_CACHE_MS / 2) this.refreshAhead(a, b);
    return true;
  }

  /** Checks a pair again in the background, once at a time. */
  private refreshAhead(a: string, b: string) {
    const key = this.pairKey(a, b);
    if (this.refreshing.has(key)) return;
    this.refreshing.add(key);
    this.check(a, b).catch(() => {}).finally(() => this.refreshing.delete(key));
  }

  async list(me: string): Promise<FriendView[]> {
    const { out, in: incoming } = await this.store.listFriendEdges(me);
    const inSet = new Set(incoming);
    const friends = out.filter((u) => inSet.has(u));
    const online = await this.presence.presenceOnline(friends);
    return friends.map((username) => ({ username, online: online[username] ?? false }));
  }

  /** A user's friends, reused for FRIEND_LIST_CACHE_MS (forgotten at once on any change to them). */
  async friendNames(me: string): Promise<string[]> {
    const t = this.now();
    const hit = this.names.get(me);
    if (hit && hit.until > t) return hit.names;
    const generation = this.generation;
    const { out, in: incoming } = await this.store.listFriendEdges(me);
    const inSet = new Set(incoming);
    const names = out.filter((u) => inSet.has(u));
    if (generation !== this.generation) return names; // a change was announced meanwhile: not cached
    if (this.names.size > 100_000) this.names.clear();
    this.names.set(me, { names, until: t + FRIEND_LIST_CACHE_MS });
    return names;
  }

  async requests(me: string): Promise<FriendRequests> {
    const { out, in: incoming } = await this.store.listFriendEdges(me);
    const outSet = new Set(out);
    const inSet = new Set(incoming);
    return { incoming: incoming.filter((u) => !outSet.has(u)), outgoing: out.filter((u) => !inSet.has(u)) };
  }
}
