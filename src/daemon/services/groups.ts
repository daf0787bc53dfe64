import { uuidv7 } from '../../shared/uuid7.js';
import {
  ChatError, SYSTEM_AUTHOR, groupConversationId, normalizeHandle,
  type GroupCreateInput, type GroupEvent, type GroupEventType, type GroupMemberView, type GroupRole, type GroupUpdateInput, type GroupView,
} from '../../protocol/index.js';
import type { Config } from '../config.js';
import type { GroupRecord, GroupStore, Limits, Presence, Receipt } from '../ports/index.js';
import { isoTime } from '../iso-time.js';
import { rateLimited } from '../errors.js';
import type { FriendService } from './friends.js';
import { GroupCache, type Entry } from './group-cache.js';

export { GROUP_CACHE_MS } from './group-cache.js';
import type { GroupDirectory, MessageService } from './messages.js';

/** Delivers a group event to every socket of the named users, on any node. */
export type GroupNotifier = (usernames: string[], event: GroupEvent) => void;
/** Tells the other nodes a group changed; resolves once they have forgotten it (or a timeout). */
export type GroupAnnouncer = (groupId: string) => Promise<void>;

const notFound = () => new ChatError('CHAT_ERR_GROUP_NOT_FOUND');
const roleError = (what: string) => new ChatError('CHAT_ERR_GROUP_ROLE', `Your role in this group does not allow ${what}`);
const list = (names: string[]) => names.join(', ');

/**
 * Groups: the rules of who may do what, their system messages, and the membership the message
 * path fans out to. A group is read from the store once and reused for GROUP_CACHE_MS; every
 * change forgets it here and, before its system message is appended, on every other node, so a
 * message sequenced after a removal never reaches the removed member.
 *
 * Anyone who is not a current member (a former member reading history aside) gets
 * CHAT_ERR_GROUP_NOT_FOUND, whether the group exists or not.
 */
export class GroupService implements GroupDirectory {
  private readonly cache: GroupCache;
  private notify: GroupNotifier = () => {};
  private announce: GroupAnnouncer = async () => {};
  private deleted: (conversationId: string) => Promise<void> = async () => {};

  constructor(
    private readonly store: GroupStore,
    private readonly limits: Limits,
    private readonly presence: Presence,
    private readonly messages: MessageService,
    private readonly friends: FriendService,
    private readonly config: Pick<Config, 'maxGroupMembers' | 'maxGroupsCreated' | 'groupRateLimit'>,
    private readonly now: () => number = Date.now,
  ) {
    this.cache = new GroupCache(store, now);
  }

  /** Forgets what is cached of a group: this node's change, or another node's. */
  forget(groupId: string) {
    this.cache.forget(groupId);
  }

  /** Group events go live to the users they concern (the fan-out service delivers them). */
  onEvent(n: GroupNotifier) {
    this.notify = n;
  }

  /** Called after a group is deleted, with its conversation (its files go with it). */
  onDeleted(fn: (conversationId: string) => Promise<void>) {
    this.deleted = fn;
  }

  /** Called with every group this node changed (the fan-out service tells the other nodes and waits for them). */
  onChanged(a: GroupAnnouncer) {
    this.announce = a;
  }

  private async changed(groupId: string) {
    this.forget(groupId);
    await this.announce(groupId);
  }

  /** The group and my role in it, when I am a current member; CHAT_ERR_GROUP_NOT_FOUND otherwise. */
  private async mine(me: string, ref: string): Promise<{ entry: Entry; role: GroupRole }> {
    const entry = await this.cache.find(ref);
    const role = entry?.members.get(me);
    if (!entry || !role) throw notFound();
    return { entry, role };
  }

  private async limit(me: string) {
    const rl = await this.limits.rateLimit(`group:${me}`, this.config.groupRateLimit, 60_000);
    if (!rl.allowed) throw rateLimited(rl);
  }

  private view(entry: Entry, role: GroupRole): GroupView {
    const g = entry.group;
    return { id: g.id, conversationId: g.conversationId, handle: g.handle, name: g.name, topic: g.topic, role, memberCount: entry.members.size, createdAt: g.createdAt, createdBy: g.createdBy };
  }

  private event(type: GroupEventType, g: GroupRecord, by: string, extra: Partial<GroupEvent> = {}): GroupEvent {
    return { type, group: { id: g.id, conversationId: g.conversationId, handle: g.handle, name: g.name, topic: g.topic }, by, ...extra };
  }

  /**
   * Appends a system message to the group, to its members and to `alsoTo` (those just removed).
   * It says what `actor` did, so it is no news to them: their read marker moves past it.
   */
  private async system(g: GroupRecord, text: string, actor: string, alsoTo: string[] = []) {
    const m = await this.messages.post(g.conversationId, SYSTEM_AUTHOR, g.conversationId, text, 'system', undefined, alsoTo);
    // A former member (who left) has no marker to move; a refused receipt changes nothing else.
    await this.messages.receipt(actor, g.conversationId, { read: m.seq }).catch(() => undefined);
    return m;
  }

  /** Users `me` may add: friends only; a stranger and a missing name get the same answer. */
  private async requireFriends(me: string, usernames: string[]) {
    for (const u of usernames) {
      if (u === me) continue;
      if (!(await this.friends.areFriends(me, u))) throw new ChatError('CHAT_ERR_NOT_FRIENDS', `${u} is not your friend; only friends can be added to a group`);
    }
  }

  private full(count: number) {
    if (count > this.config.maxGroupMembers) throw new ChatError('CHAT_ERR_GROUP_FULL', `A group has at most ${this.config.maxGroupMembers} members`);
  }

  async create(me: string, input: GroupCreateInput): Promise<GroupView> {
    await this.limit(me);
    const handle = normalizeHandle(input.handle)!;
    const others = [...new Set(input.members ?? [])].filter((u) => u !== me);
    this.full(others.length + 1);
    if ((await this.store.countGroupsCreatedBy(me)) >= this.config.maxGroupsCreated) {
      throw new ChatError('CHAT_ERR_LIMIT_REACHED', `You may have at most ${this.config.maxGroupsCreated} groups you created; delete one first`);
    }
    await this.requireFriends(me, others);
    const id = uuidv7();
    const group: GroupRecord = { id, conversationId: groupConversationId(id), handle, name: input.name ?? handle, topic: input.topic ?? '', createdAt: isoTime(this.now()), createdBy: me };
    // A taken handle throws the store's HandleTakenError: CHAT_ERR_HANDLE_TAKEN (classify).
    await this.store.createGroup(group, [{ username: me, role: 'owner' }, ...others.map((username) => ({ username, role: 'member' as const }))]);
    await this.changed(id);
    await this.system(group, others.length ? `${me} created #${handle} with ${list(others)}` : `${me} created #${handle}`, me);
    const entry = (await this.cache.load(id))!;
    this.notify([...entry.members.keys()], this.event('created', group, me, { users: others }));
    return this.view(entry, 'owner');
  }

  /** The groups I am a current member of, as cached (the store lists them; the cache has members and roles). */
  private async current(me: string): Promise<{ entry: Entry; role: GroupRole }[]> {
    const out: { entry: Entry; role: GroupRole }[] = [];
    for (const { group } of await this.store.groupsOf(me)) {
      const entry = await this.cache.load(group.id);
      const role = entry?.members.get(me);
      if (entry && role) out.push({ entry, role });
    }
    return out;
  }

  async list(me: string): Promise<GroupView[]> {
    return (await this.current(me)).map(({ entry, role }) => this.view(entry, role));
  }

  async get(me: string, ref: string): Promise<GroupView> {
    const { entry, role } = await this.mine(me, ref);
    return this.view(entry, role);
  }

  async members(me: string, ref: string): Promise<GroupMemberView[]> {
    const { entry } = await this.mine(me, ref);
    const rows = await this.store.groupMembers(entry.group.id);
    const online = await this.presence.presenceOnline(rows.map((r) => r.username));
    return rows.map((r) => ({ username: r.username, role: r.role, online: online[r.username] ?? false, joinedAt: r.joinedAt }));
  }

  async add(me: string, ref: string, usernames: string[]): Promise<GroupView> {
    await this.limit(me);
    const { entry, role } = await this.mine(me, ref);
    if (role === 'member') throw roleError('adding members');
    const added = [...new Set(usernames)].filter((u) => !entry.members.has(u));
    if (added.length === 0) return this.view(entry, role);
    this.full(entry.members.size + added.length);
    await this.requireFriends(me, added);
    const g = entry.group;
    await this.store.addGroupMembers(g.id, added.map((username) => ({ username, role: 'member' as const })), isoTime(this.now()));
    await this.changed(g.id);
    await this.system(g, `${me} added ${list(added)}`, me);
    const now = await this.mine(me, g.conversationId);
    this.notify([...now.entry.members.keys()], this.event('member_added', g, me, { users: added }));
    return this.view(now.entry, now.role);
  }

  /**
   * Ends a membership. The removed member may read up to the message just before the change's
   * own system message: every message sequenced before it, their own still in the commit queue
   * included. Until that message has its seq, the cut-off is the last readable message (fail
   * closed). Every node forgets the group before the system message is appended, so nothing
   * sequenced after it is delivered to them.
   */
  private async end(g: GroupRecord, username: string, by: string, type: 'member_removed' | 'member_left', text: string) {
    const [last] = await this.messages.range(g.conversationId, { limit: 1 });
    if (!(await this.store.removeGroupMember(g.id, username, last?.seq ?? 0))) return false;
    await this.changed(g.id);
    const notice = await this.system(g, text, by, [username]);
    await this.store.raiseLeftSeq(g.id, username, notice.seq - 1);
    const entry = await this.cache.load(g.id);
    this.notify([...(entry?.members.keys() ?? []), username], this.event(type, g, by, { users: [username] }));
    return true;
  }

  async remove(me: string, ref: string, username: string): Promise<void> {
    if (username === me) return this.leave(me, ref);
    await this.limit(me);
    const { entry, role } = await this.mine(me, ref);
    if (role === 'member') throw roleError('removing members');
    const theirs = entry.members.get(username);
    if (!theirs) throw new ChatError('CHAT_ERR_NOT_FOUND', `${username} is not a member of #${entry.group.handle}`);
    if (theirs === 'owner' && role !== 'owner') throw roleError('an admin removing an owner');
    await this.end(entry.group, username, me, 'member_removed', `${me} removed ${username}`);
  }

  /** Leaving; the last owner hands ownership over first, unless nobody else is left (then the group is deleted). */
  async leave(me: string, ref: string): Promise<void> {
    await this.limit(me);
    const { entry, role } = await this.mine(me, ref);
    if (entry.members.size === 1) return this.drop(entry, me);
    if (role === 'owner' && ![...entry.members].some(([u, r]) => u !== me && r === 'owner')) throw new ChatError('CHAT_ERR_GROUP_LAST_OWNER');
    await this.end(entry.group, me, me, 'member_left', `${me} left`);
  }

  async setRole(me: string, ref: string, username: string, next: GroupRole): Promise<void> {
    await this.limit(me);
    const { entry, role } = await this.mine(me, ref);
    const theirs = entry.members.get(username);
    if (role === 'member') throw roleError('changing roles');
    if (!theirs) throw new ChatError('CHAT_ERR_NOT_FOUND', `${username} is not a member of #${entry.group.handle}`);
    if (role === 'admin' && (theirs === 'owner' || next === 'owner')) throw roleError('an admin changing owners');
    if (theirs === next) return;
    if (theirs === 'owner' && ![...entry.members].some(([u, r]) => u !== username && r === 'owner')) throw new ChatError('CHAT_ERR_GROUP_LAST_OWNER', 'A group keeps at least one owner: make another member owner first');
    const g = entry.group;
    if (!(await this.store.setGroupRole(g.id, username, next))) throw new ChatError('CHAT_ERR_NOT_FOUND', `${username} is not a member of #${g.handle}`);
    await this.changed(g.id);
    await this.system(g, `${me} made ${username} ${next === 'member' ? 'a member' : `an ${next}`}`, me);
    const after = await this.cache.load(g.id);
    this.notify([...(after?.members.keys() ?? [])], this.event('role_changed', g, me, { users: [username], role: next }));
  }

  async update(me: string, ref: string, patch: GroupUpdateInput): Promise<GroupView> {
    await this.limit(me);
    const { entry, role } = await this.mine(me, ref);
    if (role === 'member') throw roleError('renaming or setting the topic');
    const g = entry.group;
    const handle = patch.handle !== undefined ? normalizeHandle(patch.handle)! : undefined;
    const change: Partial<Pick<GroupRecord, 'handle' | 'name' | 'topic'>> = {};
    if (handle !== undefined && handle !== g.handle) change.handle = handle;
    if (patch.name !== undefined && patch.name !== g.name) change.name = patch.name;
    if (patch.topic !== undefined && patch.topic !== g.topic) change.topic = patch.topic;
    if (Object.keys(change).length === 0) return this.view(entry, role);
    await this.store.updateGroup(g.id, change);
    await this.changed(g.id);
    const after = (await this.cache.load(g.id))!;
    const texts: string[] = [];
    if (change.handle !== undefined) texts.push(`${me} moved #${g.handle} to #${change.handle}`);
    if (change.name !== undefined) texts.push(`${me} renamed the group to "${change.name}"`);
    if (change.topic !== undefined) texts.push(change.topic ? `${me} set the topic: ${change.topic}` : `${me} cleared the topic`);
    await this.system(after.group, texts.join('; '), me);
    this.notify([...after.members.keys()], this.event(change.topic !== undefined && change.handle === undefined && change.name === undefined ? 'topic_changed' : 'renamed', after.group, me));
    return this.view(after, after.members.get(me) ?? role);
  }

  async delete(me: string, ref: string): Promise<void> {
    await this.limit(me);
    const { entry, role } = await this.mine(me, ref);
    if (role !== 'owner') throw roleError('deleting the group');
    await this.drop(entry, me);
  }

  private async drop(entry: Entry, by: string) {
    const g = entry.group;
    await this.store.deleteGroup(g.id);
    await this.changed(g.id);
    this.notify([...entry.members.keys()], this.event('deleted', g, by));
    await this.deleted(g.conversationId);
  }

  /** Markers of the group's current members (for "read by N"). */
  async receipts(me: string, ref: string): Promise<Record<string, Receipt>> {
    const { entry } = await this.mine(me, ref);
    return this.messages.markersOf(entry.group.conversationId, [...entry.members.keys()]);
  }

  // GroupDirectory: what the message path needs.

  async postable(me: string, ref: string) {
    return (await this.mine(me, ref)).entry.group.conversationId;
  }

  async membership(me: string, ref: string) {
    const { entry, role } = await this.mine(me, ref);
    return { conversationId: entry.group.conversationId, role };
  }

  async recipients(conversationId: string) {
    const entry = await this.cache.load(conversationId.slice(2));
    return entry ? [...entry.members.keys()] : [];
  }

  async readable(me: string, ref: string) {
    const entry = await this.cache.find(ref);
    if (!entry) throw notFound();
    if (entry.members.has(me)) return { conversationId: entry.group.conversationId, upTo: Number.MAX_SAFE_INTEGER, members: [...entry.members.keys()] };
    const row = await this.store.groupMember(entry.group.id, me);
    if (!row || row.leftSeq === null) throw notFound();
    return { conversationId: entry.group.conversationId, upTo: row.leftSeq, members: [] };
  }

  /** Where `me` may search: each group now (all of it) and before (up to their removal), by handle. */
  async searchScopes(me: string): Promise<{ conversationId: string; upTo: number; handle: string }[]> {
    const [now, before] = await Promise.all([this.current(me), this.store.formerGroupsOf(me)]);
    return [
      ...now.map(({ entry: { group } }) => ({ conversationId: group.conversationId, upTo: Number.MAX_SAFE_INTEGER, handle: group.handle })),
      ...before.map(({ group, leftSeq }) => ({ conversationId: group.conversationId, upTo: leftSeq, handle: group.handle })),
    ];
  }

  async groupsOf(me: string) {
    return (await this.current(me)).map(({ entry: { group, members } }) => ({ conversationId: group.conversationId, handle: group.handle, name: group.name, topic: group.topic, members: [...members.keys()] }));
  }
}
