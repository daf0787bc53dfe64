import { Redis } from 'ioredis';
import type { Lifecycle, Limits, Presence, RateLimitResult } from '../../ports/index.js';

const PRESENCE_TTL_MS = 60_000;

const SCRIPTS = {
  /**
   * Many token buckets in one call (GCRA, as gcra() in memory-cache.ts): KEYS are the buckets,
   * ARGV[2i-1] and ARGV[2i] the i-th one's window and limit. Time is Redis' own, so every node
   * agrees. Returns {allowed (1/0), retry after ms} per key.
   */
  chatRateLimitMany: {
    numberOfKeys: null,
    lua: `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local out = {}
for i, k in ipairs(KEYS) do
  local window = tonumber(ARGV[2 * i - 1])
  local interval = window / tonumber(ARGV[2 * i])
  local tat = tonumber(redis.call('GET', k) or '0')
  if tat < now then tat = now end
  local allowAt = tat - (window - interval)
  if now < allowAt then
    out[i] = {0, math.max(1, math.ceil(allowAt - now))}
  else
    local nextTat = tat + interval
    redis.call('SET', k, string.format('%.3f', nextTat), 'PX', math.max(1, math.ceil(nextTat - now)))
    out[i] = {1, 0}
  end
end
return out`,
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
} as const;

type ScriptClient = Redis & {
  chatRateLimitMany(...args: (string | number)[]): Promise<[number, number][]>;
  chatPresenceAdd(key: string, now: number, expires: number, member: string, ttl: number): Promise<number>;
  chatPresenceRemove(key: string, now: number, member: string): Promise<number>;
};

/** `password`: REDIS_PASSWORD, when the URL carries none (the URL's user name, if any, is the ACL user). */
export function createRedis(url: string, name: string, password?: string): Redis {
  const client = new Redis(url, {
    connectionName: name,
    ...(password !== undefined ? { password } : {}),
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
 * The shared cache on Redis: rate limits, failure counters and presence, the same for every chatd
 * node. Keys start with `prefix`. (The message log's seq, dedupe and recent buffer are in
 * log/redis-sequencer.ts, on the same connection.)
 */
export class RedisCache implements Lifecycle, Limits, Presence {
  readonly kind = 'redis';
  readonly client: ScriptClient;

  constructor(url: string, private readonly prefix = 'chat:', password?: string) {
    this.client = createRedis(url, 'chatd-cache', password) as ScriptClient;
    for (const [name, s] of Object.entries(SCRIPTS)) this.client.defineCommand(name, s.numberOfKeys === null ? { lua: s.lua } : { numberOfKeys: s.numberOfKeys, lua: s.lua });
  }

  private k(...parts: string[]) {
    return this.prefix + parts.join(':');
  }

  async start() {
    // A refused AUTH closes the connection: connect() then says only "Connection is closed", and
    // the reason (WRONGPASS, NOAUTH) came as an error event just before.
    let reason: Error | undefined;
    const keep = (err: Error) => { reason = err; };
    this.client.on('error', keep);
    try {
      await this.client.connect();
    } catch (err) {
      throw reason ?? err;
    } finally {
      this.client.off('error', keep);
    }
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

  /**
   * Counts are taken together: every rate-limit check of one event-loop turn (many senders at
   * once) is one script call, not one command each.
   */
  rateLimit(key: string, limit: number, windowMs: number): Promise<RateLimitResult> {
    return new Promise((resolve, reject) => {
      if (this.limits.length === 0) setImmediate(() => this.countLimits());
      this.limits.push({ key: this.k('rl', key), limit, windowMs, resolve, reject });
    });
  }

  private limits: { key: string; limit: number; windowMs: number; resolve: (r: RateLimitResult) => void; reject: (e: unknown) => void }[] = [];

  private countLimits() {
    const batch = this.limits;
    this.limits = [];
    this.client.chatRateLimitMany(batch.length, ...batch.map((b) => b.key), ...batch.flatMap((b) => [b.windowMs, b.limit])).then((res) => {
      batch.forEach((b, i) => {
        const [allowed, retryAfterMs] = res[i]!;
        b.resolve(allowed === 1 ? { allowed: true, retryAfterMs: 0 } : { allowed: false, retryAfterMs });
      });
    }, (err: unknown) => { for (const b of batch) b.reject(err); });
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
}
