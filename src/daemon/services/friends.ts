import { ChatError, type FriendAddResult, type FriendRequests, type FriendView } from '../../protocol/index.js';
import type { Cache, Store } from '../engines/types.js';

/** Friendship is two edges: a request is one edge, adding back (or accepting) makes it mutual. */
export class FriendService {
  constructor(private readonly store: Store, private readonly cache: Cache, private readonly now: () => number = Date.now) {}

  private async requireUser(username: string) {
    const u = await this.store.getUserByName(username);
    if (!u) throw new ChatError('CHAT_ERR_USER_NOT_FOUND', `No such user: ${username}`);
    return u;
  }

  async add(me: string, other: string): Promise<FriendAddResult> {
    if (me === other) throw new ChatError('CHAT_ERR_FRIEND_SELF');
    await this.requireUser(other);
    await this.store.addFriendEdge(me, other, new Date(this.now()).toISOString());
    const mutual = await this.store.hasFriendEdge(other, me);
    return { username: other, status: mutual ? 'friends' : 'requested' };
  }

  async accept(me: string, other: string): Promise<FriendAddResult> {
    if (!(await this.store.hasFriendEdge(other, me))) throw new ChatError('CHAT_ERR_NO_REQUEST', `No pending friend request from ${other}`);
    return this.add(me, other);
  }

  async remove(me: string, other: string) {
    if (!(await this.store.removeFriendEdges(me, other))) throw new ChatError('CHAT_ERR_NOT_FOUND', `${other} is neither a friend nor a pending request`);
  }

  async areFriends(a: string, b: string) {
    return (await this.store.hasFriendEdge(a, b)) && (await this.store.hasFriendEdge(b, a));
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
