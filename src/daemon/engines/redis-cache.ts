import { Redis } from 'ioredis';
import type { Message } from '../../protocol/index.js';
import { RECENT_PER_CONVERSATION, type Cache, type ConversationRecord, type RateLimitResult } from './types.js';

const PRESENCE_TTL_MS = 60_000;
const DEDUPE_TTL_SEC = 7 * 86400;
const RECENT_TTL_SEC = 86400;

const SCRIPTS = {
  chatRateLimit: {
    numberOfKeys: 1,
    lua: `local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {n, ttl}`,
  },
  chatIncrIfExists: {
    numberOfKeys: 1,
    lua: `if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('INCR', KEYS[1]) end
return false`,
  },
  chatPresenceAdd: {
    numberOfKeys: 1,
    lua: `redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local before = redis.call('ZCARD', KEYS[1])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
if before == 0 then return 1 end
return 0`,
  },
  chatPresenceRemove: {
    numberOfKeys: 1,
    lua: `redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZREM', KEYS[1], ARGV[2]) == 0 then return 0 end
if redis.call('ZCARD', KEYS[1]) == 0 then return 1 end
return 0`,
  },
  // KEYS: the conversation's recent list, then each member's conversation index.
  // ARGV: seq, message JSON, keep, ttl seconds, conversation id, updated-at score.
  chatRecentPush: {
    numberOfKeys: 3,
    lua: `redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(tonumber(ARGV[3]) + 1))
redis.call('EXPIRE', KEYS[1], ARGV[4])
for i = 2, #KEYS do
  redis.call('ZADD', KEYS[i], ARGV[6], ARGV[5])
  redis.call('EXPIRE', KEYS[i], ARGV[4])
end
return 1`,
  },
} as const;

type ScriptClient = Redis & {
  chatRateLimit(key: string, windowMs: number): Promise<[number, number]>;
  chatIncrIfExists(key: string): Promise<number | null>;
  chatRecentPush(recentKey: string, convsA: string, convsB: string, seq: number, json: string, keep: number, ttlSec: number, conversationId: string, at: number): Promise<number>;
  chatPresenceAdd(key: string, now: number, expires: number, member: string, ttl: number): Promise<number>;
  chatPresenceRemove(key: string, now: number, member: string): Promise<number>;
};

export function createRedis(url: string, name: string): Redis {
  const client = new Redis(url, {
    connectionName: name,
    lazyConnect: true,
    // Fail commands quickly while Redis is down instead of queueing them without bound.
    maxRetriesPerRequest: 2,
    enableOfflineQueue: true,
    retryStrategy: (times) => Math.min(times * 200, 2000),
    // Commands issued in the same event-loop turn (many senders at once) share one write and
    // one round trip; each still gets its own reply.
    enableAutoPipelining: true,
  });
  // Connection errors surface through health() and failed commands; without a listener
  // ioredis would print every reconnect attempt to stderr.
  client.on('error', () => {});
  return client;
}

/**
 * The shared cache on Redis: rate limits, dedupe, presence, per-conversation seq
 * and recent messages, the same for every chatd node. Keys start with `prefix`.
 */
export class RedisCache implements Cache {
  readonly kind = 'redis';
  readonly dedupeDurable = true;
  readonly client: ScriptClient;

  constructor(url: string, private readonly prefix = 'chat:') {
    this.client = createRedis(url, 'chatd-cache') as ScriptClient;
    for (const [name, s] of Object.entries(SCRIPTS)) this.client.defineCommand(name, { numberOfKeys: s.numberOfKeys, lua: s.lua });
  }

  private k(...parts: string[]) {
    return this.prefix + parts.join(':');
  }

  async start() {
    await this.client.connect();
  }

  async close() {
    await this.client.quit().catch(() => this.client.disconnect());
  }

  async health() {
    try {
      await this.client.ping();
      return { ok: true, kind: this.kind };
    } catch (err) {
      return { ok: false, kind: this.kind, detail: (err as Error).message };
    }
  }

  async rateLimit(key: string, limit: number, windowMs: number): Promise<RateLimitResult> {
    const [n, ttl] = await this.client.chatRateLimit(this.k('rl', key), windowMs);
    return n <= limit ? { allowed: true, retryAfterMs: 0 } : { allowed: false, retryAfterMs: Math.max(1, ttl) };
  }

  async dedupeGet(key: string) {
    const v = await this.client.get(this.k('dd', key));
    return v ? (JSON.parse(v) as Message) : null;
  }

  async dedupeSet(key: string, message: Message) {
    await this.client.set(this.k('dd', key), JSON.stringify(message), 'EX', DEDUPE_TTL_SEC);
  }

  async presenceAdd(username: string, connectionId: string) {
    const now = Date.now();
    return (await this.client.chatPresenceAdd(this.k('presence', username), now, now + PRESENCE_TTL_MS, connectionId, PRESENCE_TTL_MS * 2)) === 1;
  }

  async presenceRemove(username: string, connectionId: string) {
    return (await this.client.chatPresenceRemove(this.k('presence', username), Date.now(), connectionId)) === 1;
  }

  async presenceOnline(usernames: string[]) {
    const now = Date.now();
    const p = this.client.pipeline();
    for (const u of usernames) p.zcount(this.k('presence', u), now, '+inf');
    const res = (await p.exec()) ?? [];
    const out: Record<string, boolean> = {};
    usernames.forEach((u, i) => { out[u] = Number(res[i]?.[1] ?? 0) > 0; });
    return out;
  }

  async presenceCount(username: string) {
    return this.client.zcount(this.k('presence', username), Date.now(), '+inf');
  }

  async countHit(key: string, windowMs: number) {
    const res = await this.client.multi().incr(this.k('cnt', key)).pexpire(this.k('cnt', key), windowMs).exec();
    const [err, n] = res?.[0] ?? [new Error('redis: transaction aborted'), 0];
    if (err) throw err;
    return Number(n);
  }

  async countGet(key: string) {
    return Number((await this.client.get(this.k('cnt', key))) ?? 0);
  }

  async countClear(key: string) {
    await this.client.del(this.k('cnt', key));
  }

  async holdSet(key: string, ms: number) {
    await this.client.set(this.k('hold', key), '1', 'PX', Math.max(1, Math.round(ms)));
  }

  async holdGet(key: string) {
    return Math.max(0, await this.client.pttl(this.k('hold', key)));
  }

  async presenceHeartbeat(connections: { username: string; connectionId: string }[]) {
    if (connections.length === 0) return;
    const exp = Date.now() + PRESENCE_TTL_MS;
    const p = this.client.pipeline();
    for (const c of connections) {
      p.zadd(this.k('presence', c.username), 'XX', exp, c.connectionId);
      p.pexpire(this.k('presence', c.username), PRESENCE_TTL_MS * 2);
    }
    await p.exec();
  }

  async nextSeq(conversationId: string, init: () => Promise<number>) {
    const key = this.k('seq', conversationId);
    const n = await this.client.chatIncrIfExists(key);
    if (n !== null) return n;
    const base = await init();
    await this.client.set(key, String(base), 'NX');
    return this.client.incr(key);
  }

  /** One script call: the recent list, its trim and expiry, and both members' conversation indexes. */
  async recentPush(message: Message) {
    const members = message.conversationId.startsWith('dm:') ? message.conversationId.slice(3).split(':') : [message.from, message.to];
    await this.client.chatRecentPush(this.k('recent', message.conversationId), this.k('convs', members[0]!), this.k('convs', members[1]!), message.seq, JSON.stringify(message), RECENT_PER_CONVERSATION, RECENT_TTL_SEC, message.conversationId, Date.parse(message.createdAt));
  }

  async recent(conversationId: string) {
    return (await this.client.zrange(this.k('recent', conversationId), 0, -1)).map((s) => JSON.parse(s) as Message);
  }

  async recentConversations(username: string): Promise<ConversationRecord[]> {
    const withScores = await this.client.zrevrange(this.k('convs', username), 0, 999, 'WITHSCORES');
    const convs: { id: string; at: number }[] = [];
    for (let i = 0; i < withScores.length; i += 2) convs.push({ id: withScores[i]!, at: Number(withScores[i + 1]) });
    if (convs.length === 0) return [];
    const p = this.client.pipeline();
    for (const c of convs) p.zrange(this.k('recent', c.id), -1, -1, 'WITHSCORES');
    const res = (await p.exec()) ?? [];
    const out: ConversationRecord[] = [];
    convs.forEach((c, i) => {
      const top = res[i]?.[1] as string[] | undefined;
      if (!top || top.length < 2) return;
      const members = c.id.startsWith('dm:') ? c.id.slice(3).split(':') : [username, ''];
      out.push({ conversationId: c.id, members: members as [string, string], lastSeq: Number(top[1]), updatedAt: new Date(c.at).toISOString() });
    });
    return out;
  }
}
