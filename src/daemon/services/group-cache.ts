import { isGroupConversation, normalizeHandle, type GroupRole } from '../../protocol/index.js';
import type { GroupRecord, GroupStore } from '../ports/index.js';

/** How long a group's record and members are reused (every node forgets them at once on a change; this bounds a lost announcement). */
export const GROUP_CACHE_MS = 10_000;
/** Attempts at reading a group while changes keep being announced, before the answer is used uncached. */
const LOAD_ATTEMPTS = 3;

export interface Entry {
  group: GroupRecord;
  members: Map<string, GroupRole>;
  until: number;
}

/**
 * Groups and their current members as this node last read them, for GROUP_CACHE_MS: every change
 * forgets a group here (this node's, or another's announced one), and a read that began before a
 * forget is read again, so a stale membership is never cached.
 */
export class GroupCache {
  private readonly entries = new Map<string, Entry>();
  private readonly handles = new Map<string, string>();
  /** Bumped by every forget: a read that began before it is read again. */
  private generation = 0;

  constructor(private readonly store: GroupStore, private readonly now: () => number) {}

  /** Forgets what is cached of a group: this node's change, or another node's. */
  forget(groupId: string) {
    this.generation++;
    this.entries.delete(groupId);
    for (const [h, id] of this.handles) if (id === groupId) this.handles.delete(h);
  }

  /** The group and its current members, from the cache or the store; null when it does not exist. */
  async load(id: string): Promise<Entry | null> {
    const hit = this.entries.get(id);
    if (hit && hit.until > this.now()) return hit;
    for (let attempt = 1; ; attempt++) {
      const generation = this.generation;
      const t = this.now();
      const group = await this.store.getGroup(id);
      const rows = group ? await this.store.groupMembers(id) : [];
      const fresh = generation === this.generation;
      if (!fresh && attempt < LOAD_ATTEMPTS) continue;
      if (!group) return null;
      const entry: Entry = { group, members: new Map(rows.map((r) => [r.username, r.role])), until: t + GROUP_CACHE_MS };
      if (fresh) {
        if (this.entries.size > 10_000) {
          this.entries.clear();
          this.handles.clear();
        }
        this.entries.set(id, entry);
        this.handles.set(group.handle, id);
      }
      return entry;
    }
  }

  /** A group by `#handle`, `handle` or conversation id `g:<id>`; null when there is none. */
  async find(ref: string): Promise<Entry | null> {
    if (isGroupConversation(ref)) return this.load(ref.slice(2));
    const handle = normalizeHandle(ref);
    if (!handle) return null;
    const id = this.handles.get(handle);
    if (id) {
      const e = await this.load(id);
      if (e && e.group.handle === handle) return e;
    }
    const g = await this.store.getGroupByHandle(handle);
    return g ? this.load(g.id) : null;
  }
}
