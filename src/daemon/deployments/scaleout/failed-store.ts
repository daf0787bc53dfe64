import type { Redis } from 'ioredis';
import { messageSchema, type DeadLetter, type FailedPublish, type Message } from '../../../protocol/index.js';

/** Failed publishes are kept this long (the original promise: 7 days). */
export const FAILED_TTL_SEC = 7 * 86400;

export type FailedEntry = FailedPublish;

/**
 * Messages acknowledged while Kafka was unavailable, kept in Redis until they are
 * republished. Redis must run with persistence (AOF) and `maxmemory-policy noeviction`
 * so these keys are never lost or evicted. Per conversation they are ordered by seq.
 *   <p>failed:msg:<id>    the entry (JSON), expires after 7 days
 *   <p>failed:conv:<conv> sorted set of ids by seq
 *   <p>failed:convs       the conversations with entries
 */
export class FailedStore {
  constructor(private readonly redis: Redis, private readonly prefix = 'chat:') {}

  private k(...p: string[]) {
    return this.prefix + p.join(':');
  }

  async add(messages: Message[], error: string) {
    const at = new Date().toISOString();
    const tx = this.redis.multi();
    for (const m of messages) {
      const entry: FailedEntry = { ...m, failedAt: at, error };
      tx.set(this.k('failed', 'msg', m.id), JSON.stringify(entry), 'EX', FAILED_TTL_SEC);
      tx.zadd(this.k('failed', 'conv', m.conversationId), m.seq, m.id);
      tx.expire(this.k('failed', 'conv', m.conversationId), FAILED_TTL_SEC);
      tx.sadd(this.k('failed', 'convs'), m.conversationId);
    }
    const res = await tx.exec();
    const err = res?.find(([e]) => e)?.[0];
    if (!res || err) throw err ?? new Error('redis transaction aborted');
  }

  async conversations(): Promise<string[]> {
    return (await this.redis.smembers(this.k('failed', 'convs'))).sort();
  }

  /** Entries of one conversation in seq order; ids whose entry expired are dropped from the index. */
  async entries(conversationId: string): Promise<FailedEntry[]> {
    const ids = await this.redis.zrange(this.k('failed', 'conv', conversationId), 0, -1);
    if (ids.length === 0) return [];
    const raw = await this.redis.mget(ids.map((id) => this.k('failed', 'msg', id)));
    const gone = ids.filter((_, i) => raw[i] === null);
    if (gone.length) await this.redis.zrem(this.k('failed', 'conv', conversationId), ...gone);
    return raw.flatMap((r) => {
      if (r === null) return [];
      const parsed = JSON.parse(r) as FailedEntry;
      return messageSchema.safeParse(parsed).success ? [parsed] : [];
    });
  }

  async all(): Promise<FailedEntry[]> {
    const out: FailedEntry[] = [];
    for (const c of await this.conversations()) out.push(...(await this.entries(c)));
    return out;
  }

  async size(): Promise<number> {
    let n = 0;
    for (const c of await this.conversations()) n += await this.redis.zcard(this.k('failed', 'conv', c));
    return n;
  }

  /** Removes entries (after a successful republish, or a purge). */
  async remove(entries: Pick<Message, 'id' | 'conversationId'>[]) {
    if (entries.length === 0) return;
    const tx = this.redis.multi();
    for (const e of entries) {
      tx.del(this.k('failed', 'msg', e.id));
      tx.zrem(this.k('failed', 'conv', e.conversationId), e.id);
    }
    await tx.exec();
    for (const conv of new Set(entries.map((e) => e.conversationId))) await this.dropIfEmpty(conv);
  }

  /** Drops a conversation from the set, only if nothing was added to it meanwhile. */
  async dropIfEmpty(conversationId: string) {
    await this.redis.eval(
      `if redis.call('ZCARD', KEYS[1]) == 0 then return redis.call('SREM', KEYS[2], ARGV[1]) end return 0`,
      2, this.k('failed', 'conv', conversationId), this.k('failed', 'convs'), conversationId,
    );
  }

  /** A short lock so that one node replays at a time. */
  async lock(owner: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.set(this.k('failed', 'lock'), owner, 'PX', ttlMs, 'NX')) === 'OK';
  }

  async unlock(owner: string) {
    await this.redis.eval(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`, 1, this.k('failed', 'lock'), owner);
  }
}

export type DlqEntry = DeadLetter;

/** An index of dead-lettered records in Redis, for `chat admin dlq list|replay`. The DLQ topic stays the durable record. */
export class DlqIndex {
  constructor(private readonly redis: Redis, private readonly prefix = 'chat:') {}

  private get key() {
    return `${this.prefix}dlq`;
  }

  async add(e: DlqEntry) {
    await this.redis.hset(this.key, e.id, JSON.stringify(e));
  }

  async list(): Promise<DlqEntry[]> {
    const all = await this.redis.hgetall(this.key);
    return Object.values(all).map((v) => JSON.parse(v) as DlqEntry).sort((a, b) => a.at.localeCompare(b.at));
  }

  async remove(ids: string[]) {
    if (ids.length) await this.redis.hdel(this.key, ...ids);
  }

  async size() {
    return this.redis.hlen(this.key);
  }
}
