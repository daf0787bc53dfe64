import type { Redis } from 'ioredis';
import { conversationMembers, scrubbed, tombstone, type Message } from '../../../protocol/index.js';
import type { ConversationRecord, MessageDraft } from '../../ports/index.js';

/** How many recent messages per conversation the buffer keeps. */
export const RECENT_PER_CONVERSATION = 200;
const RECENT_TTL_SEC = 86400;
const DEDUPE_TTL_SEC = 7 * 86400;
/** Dedupe values: 'p' + JSON while the message is on its way to Kafka, 'd' + JSON once it is durable. */
const PENDING = 'p';
const DONE = 'd';

/**
 * One call for a whole group of drafts, in order. Per draft (KEYS: seq counter, dedupe key, recent
 * buffer, both members' conversation indexes, or for a group the buffer's key twice (no index); ARGV: has-clientMsgId, the draft's JSON without its
 * opening brace, time score, conversation id): a known (from, clientMsgId) returns the stored value;
 * a conversation whose counter is missing returns 2 (the caller seeds it and asks again);
 * otherwise INCR the seq, remember the dedupe key as pending, and push the message into the
 * recent buffer. Then, once per key for the group, trim and expire the buffers and update both
 * members' conversation indexes.
 */
const APPEND_LUA = `local keep = tonumber(ARGV[1])
local rttl = tonumber(ARGV[2])
local dttl = tonumber(ARGV[3])
local n = tonumber(ARGV[4])
local out = {}
local recents = {}
local heads = {}
for i = 0, n - 1 do
  local k = i * 5
  local a = 4 + i * 4
  local prior = false
  if ARGV[a + 1] == '1' then prior = redis.call('GET', KEYS[k + 2]) end
  if prior then
    out[i + 1] = {0, prior}
  elseif redis.call('EXISTS', KEYS[k + 1]) == 0 then
    out[i + 1] = {2, ''}
  else
    local seq = redis.call('INCR', KEYS[k + 1])
    local json = '{"seq":' .. seq .. ',' .. ARGV[a + 2]
    if ARGV[a + 1] == '1' then redis.call('SET', KEYS[k + 2], '${PENDING}' .. json, 'EX', dttl) end
    redis.call('ZADD', KEYS[k + 3], seq, json)
    recents[KEYS[k + 3]] = true
    if KEYS[k + 4] ~= KEYS[k + 3] then
      heads[KEYS[k + 4] .. '\0' .. ARGV[a + 4]] = {KEYS[k + 4], ARGV[a + 3], ARGV[a + 4]}
      heads[KEYS[k + 5] .. '\0' .. ARGV[a + 4]] = {KEYS[k + 5], ARGV[a + 3], ARGV[a + 4]}
    end
    out[i + 1] = {1, seq}
  end
end
-- Once per key for the whole group: trim and expire each recent buffer, and move each
-- conversation to its newest time in each member's index.
for key in pairs(recents) do
  redis.call('ZREMRANGEBYRANK', key, 0, -(keep + 1))
  redis.call('EXPIRE', key, rttl)
end
for _, h in pairs(heads) do
  redis.call('ZADD', h[1], h[2], h[3])
  redis.call('EXPIRE', h[1], rttl)
end
return out`;

/** Marks pending dedupe keys durable, in place: one call per group, and no value sent again. */
const CONFIRM_LUA = `for _, k in ipairs(KEYS) do
  local v = redis.call('GET', k)
  if v and string.sub(v, 1, 1) == '${PENDING}' then redis.call('SET', k, '${DONE}' .. string.sub(v, 2), 'KEEPTTL') end
end
return #KEYS`;

type Client = Redis & { chatAppend(...args: (string | number)[]): Promise<[number, string | number][]>; chatConfirm(...args: (string | number)[]): Promise<number> };

/** One draft's outcome in Redis. */
export type Sequenced =
  | { kind: 'fresh'; message: Message; json: string }
  | { kind: 'duplicate'; message: Message; durable: boolean };

/**
 * The scale-out log's state in Redis: per-conversation seq counters, dedupe of (from, clientMsgId)
 * and the recent buffer (what is acked but maybe not in MongoDB yet). A group of drafts costs one
 * script call, plus one more when a counter has to be seeded from the archive.
 */
export class RedisSequencer {
  private readonly client: Client;

  constructor(redis: Redis, private readonly prefix: string) {
    this.client = redis as Client;
    this.client.defineCommand('chatAppend', { lua: APPEND_LUA });
    this.client.defineCommand('chatConfirm', { lua: CONFIRM_LUA });
  }

  private k(...parts: string[]) {
    return this.prefix + parts.join(':');
  }

  private ddKey(from: string, clientMsgId: string) {
    return this.k('dd', `${from}\u0000${clientMsgId}`);
  }

  /**
   * Sequences a group of drafts in order. `seed(conversationId)` gives the highest seq known
   * outside Redis, for a conversation whose counter is missing (first message, or Redis lost it).
   */
  async sequence(drafts: MessageDraft[], seed: (conversationId: string) => Promise<number>): Promise<Sequenced[]> {
    const out: (Sequenced | undefined)[] = new Array(drafts.length);
    let todo = drafts.map((_, i) => i);
    for (let round = 0; todo.length > 0; round++) {
      if (round > 2) throw new Error('redis: a seq counter could not be seeded');
      const res = await this.run(todo.map((i) => drafts[i]!));
      const missing = new Set<string>();
      const again: number[] = [];
      res.forEach(([status, value], j) => {
        const i = todo[j]!;
        const d = drafts[i]!;
        if (status === 1) {
          const json = `{"seq":${value},${JSON.stringify(d).slice(1)}`;
          out[i] = { kind: 'fresh', message: { ...d, seq: Number(value) }, json };
        } else if (status === 0) {
          const v = String(value);
          out[i] = { kind: 'duplicate', message: JSON.parse(v.slice(1)) as Message, durable: v[0] === DONE };
        } else {
          missing.add(d.conversationId);
          again.push(i);
        }
      });
      for (const c of missing) await this.seed(c, await seed(c));
      todo = again;
    }
    return out as Sequenced[];
  }

  private run(drafts: MessageDraft[]) {
    const keys: string[] = [];
    const args: (string | number)[] = [RECENT_PER_CONVERSATION, RECENT_TTL_SEC, DEDUPE_TTL_SEC, drafts.length];
    for (const d of drafts) {
      const recent = this.k('recent', d.conversationId);
      // A group has no fixed members (they are in the store), so no per-user index: the recent
      // buffer's key in their place tells the script so.
      const pair = conversationMembers(d.conversationId, [d.from, d.to]);
      const [a, b] = pair.length === 2 ? pair.map((u) => this.k('convs', u)) : [recent, recent];
      keys.push(this.k('seq', d.conversationId), d.clientMsgId !== undefined ? this.ddKey(d.from, d.clientMsgId) : this.k('dd', '-'), recent, a!, b!);
      args.push(d.clientMsgId !== undefined ? '1' : '0', JSON.stringify(d).slice(1), Date.parse(d.createdAt), d.conversationId);
    }
    return this.client.chatAppend(keys.length, ...keys, ...args);
  }

  /** Seeds a missing counter at the highest seq stored anywhere (the archive or the recent buffer). */
  private async seed(conversationId: string, archived: number) {
    const top = await this.client.zrange(this.k('recent', conversationId), -1, -1, 'WITHSCORES');
    const base = Math.max(archived, top.length === 2 ? Number(top[1]) : 0);
    await this.client.set(this.k('seq', conversationId), String(base), 'NX');
  }

  /** The messages are durable: a resend of any of them is now answered at once. */
  async confirm(fresh: { message: Message; json: string }[]) {
    const keys: string[] = [];
    for (const f of fresh) if (f.message.clientMsgId !== undefined) keys.push(this.ddKey(f.message.from, f.message.clientMsgId));
    if (keys.length > 0) await this.client.chatConfirm(keys.length, ...keys);
  }

  /**
   * Nothing durable took the messages (Kafka and the failed-publish store both refused): forget
   * their dedupe keys and recent entries, so a retry is a new send. Their seqs stay used (a gap).
   */
  async rollback(fresh: { message: Message; json: string }[]) {
    const p = this.client.pipeline();
    for (const f of fresh) {
      if (f.message.clientMsgId !== undefined) p.del(this.ddKey(f.message.from, f.message.clientMsgId));
      p.zrem(this.k('recent', f.message.conversationId), f.json);
    }
    await p.exec();
  }

  /**
   * A delete is durable: what Redis holds of the deleted message's content goes. Its entry in the
   * recent buffer becomes the tombstone, its edit records there lose their text, and so do the
   * dedupe values of all of them (which hold the record as sent).
   */
  async scrub(del: Message) {
    const key = this.k('recent', del.conversationId);
    const entries = await this.client.zrangebyscore(key, del.target!, '+inf');
    const multi = this.client.multi();
    const dedupe: Message[] = [];
    for (const raw of entries) {
      const m = JSON.parse(raw) as Message;
      const next = m.seq === del.target ? tombstone(m, del.from, del.createdAt, del.seq) : m.kind === 'edit' && m.target === del.target ? scrubbed(m) : null;
      if (!next) continue;
      multi.zrem(key, raw).zadd(key, m.seq, JSON.stringify(next));
      if (m.clientMsgId !== undefined) dedupe.push(next);
    }
    await multi.exec();
    for (const m of dedupe) {
      const k = this.ddKey(m.from, m.clientMsgId!);
      const v = await this.client.get(k);
      if (v) await this.client.set(k, v[0] + JSON.stringify(m), 'KEEPTTL');
    }
  }

  /** A (from, clientMsgId)'s message as Redis has it, and whether it is durable yet. */
  async dedupe(from: string, clientMsgId: string): Promise<{ message: Message; durable: boolean } | null> {
    const v = await this.client.get(this.ddKey(from, clientMsgId));
    return v ? { message: JSON.parse(v.slice(1)) as Message, durable: v[0] === DONE } : null;
  }

  /** The recent buffer of a conversation in a seq range (exclusive bounds), oldest first. */
  async recent(conversationId: string, afterSeq = 0, beforeSeq = Number.MAX_SAFE_INTEGER): Promise<Message[]> {
    return (await this.client.zrangebyscore(this.k('recent', conversationId), `(${afterSeq}`, `(${beforeSeq}`)).map((s) => JSON.parse(s) as Message);
  }

  /** Conversations of a user with recent activity: their latest seq and time. */
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
      const m = conversationMembers(c.id, [username, '']);
      out.push({ conversationId: c.id, members: m as [string, string], lastSeq: Number(top[1]), updatedAt: new Date(c.at).toISOString() });
    });
    return out;
  }
}
