/**
 * Issue 25, items 1 and 2: socket events that cost one member little and everyone else much.
 * Each test measures a bystander's send acks alone and under the flood, and prints both.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Message, SyncResult, TypingEvent } from '../../src/protocol/index.js';
import { staticCredentials } from '../../src/client/api.js';
import { connect, MessageStream } from '../../src/client/socket.js';
import { FIELDS } from '../../src/daemon/config.js';
import { befriend, databaseOf, emit, openSocket, registerUser, sleep, startDaemon, type TestDaemon, type TestSocket, type TestUser } from '../support/daemon.js';

const FLOODER = path.join(path.dirname(fileURLToPath(import.meta.url)), '../support/flooder.mjs');
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;

/** A bystander pair's send acks, one every 5 ms, while `during` runs (or alone). */
async function bystanderAcks(s: TestSocket, to: string, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const r = await emit<Message>(s, 'message:send', { to, text: `bystander ${i}` });
    if (!r.ok) throw new Error(`bystander send refused: ${r.error.code}`);
    out.push(performance.now() - t0);
    await sleep(5);
  }
  return out;
}

/** Runs test/support/flooder.mjs: `count` events from a client in its own process, as from outside. */
function floodFrom(url: string, token: string, event: string, payloads: unknown[], count: number): Promise<{ answers: Record<string, number>; ended: string | null; seconds: number }> {
  const child = spawn(process.execPath, [FLOODER, url, token, event, JSON.stringify(payloads), String(count)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
  return new Promise((resolve, reject) => child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`flooder exited ${code}: ${out}`)))));
}

/**
 * Within 2x of the quiet p90, or 30 ms over it when that is more: the quiet p90 of 100 acks is a
 * few ms, and other test files run on the same two cores meanwhile. The p90, not the p99: of 100
 * acks the p99 (as `pct` takes it) is the slowest, one stall of the machine (a clean-clone CI run
 * saw 47.8 ms against a bound of 36.3, with the p50 at 1.6 ms against 1.5 quiet). Before the
 * fixes the flood's p99 was 81 ms (measured from outside) and 665 ms (this test, flooder in its
 * own process); a flood that holds the event loop delays most acks, which the p90 catches.
 */
const bound = (quiet: number) => Math.max(2 * quiet, quiet + 30);
const acks = (xs: number[]) => [0.5, 0.9, 0.99].map((q) => pct(xs, q).toFixed(1)).join('/');

async function pair(d: TestDaemon): Promise<[TestUser, TestUser, TestSocket]> {
  const a = await registerUser(d.url);
  const b = await registerUser(d.url);
  await befriend(a, b);
  return [a, b, await openSocket(d.url, a.auth.accessToken)];
}

describe('25.1 a typing flood costs its sender, not the members', () => {
  let d: TestDaemon;
  beforeAll(async () => { d = await startDaemon({ CHAT_GROUP_RATE_LIMIT: '100000' }); });
  afterAll(async () => { await d.close(); });

  it('20,000 typing events into a group of 7: each member gets about one a second, the flooder is refused then cut off, a bystander is not slowed', async () => {
    const flooder = await registerUser(d.url);
    const members = await Promise.all(Array.from({ length: 6 }, () => registerUser(d.url)));
    for (const m of members) await befriend(flooder, m);
    await flooder.api.createGroup('typingflood', members.map((m) => m.name));
    const sockets = await Promise.all(members.map((m) => openSocket(d.url, m.auth.accessToken)));
    let received = 0;
    const last: TypingEvent[] = [];
    for (const s of sockets) s.on('typing:update', (e) => { received++; last.push(e); });
    const [, by, bs] = await pair(d);
    const quiet = await bystanderAcks(bs, by.name, 100);

    const flood = floodFrom(d.url, flooder.auth.accessToken, 'typing:update', [{ to: '#typingflood', typing: true }, { to: '#typingflood', typing: false }], 20_000);
    const loaded = await bystanderAcks(bs, by.name, 100);
    const { answers, ended, seconds } = await flood;
    await sleep(1200);
    const perMember = received / members.length;
    console.log(`20000 typing events in ${seconds.toFixed(1)} s from another process -> answers ${JSON.stringify(answers)}, connection ended by chatd: ${ended}; relayed to 6 members: ${received} (${perMember.toFixed(1)} each; before: 120000)`);
    console.log(`bystander send ack p50/p90/p99: quiet ${acks(quiet)} ms, under the flood ${acks(loaded)} ms (bound on the p90 ${bound(pct(quiet, 0.9)).toFixed(1)})`);
    // One relay per (user, conversation) per second, the last change relayed when its second ends.
    expect(perMember).toBeLessThanOrEqual(Math.ceil(seconds) + 3);
    expect(perMember).toBeGreaterThanOrEqual(1);
    // 120 a minute are accepted; after 100 refusals the connection is closed, and the rest of the burst is never read.
    expect(answers.ok ?? 0).toBeLessThanOrEqual(125);
    expect(answers.CHAT_ERR_RATE_LIMITED ?? 0).toBeLessThanOrEqual(101);
    expect(ended).toBe('CHAT_ERR_RATE_LIMITED');
    expect(pct(loaded, 0.9)).toBeLessThanOrEqual(bound(pct(quiet, 0.9)));
    // A member sees the flooder's final state (the last accepted event's), not a stale one.
    expect(last.at(-1)?.username).toBe(flooder.name);
    for (const s of [...sockets, bs]) s.close();
  }, 120_000);
});

describe('25.2 message:sync is bounded as a whole, paged, and rate limited', () => {
  let d: TestDaemon;
  let user: TestUser;
  let flooder: TestUser;
  let total = 0;
  beforeAll(async () => {
    d = await startDaemon({ CHAT_GROUP_RATE_LIMIT: '100000', CHAT_MAX_GROUPS_PER_USER: '1000' });
    user = await registerUser(d.url);
    // The flood test's user: a member of the same groups, with a sync budget of its own.
    flooder = await registerUser(d.url);
    await befriend(user, flooder);
    const at = new Date().toISOString();
    // 100 groups of 31 messages of 4000 characters (plus each group's "created" notice).
    for (let g = 0; g < 100; g++) {
      const view = await user.api.createGroup(`sync${g}x${user.name}`.slice(0, 32), [flooder.name]);
      const batch: Message[] = [];
      for (let i = 2; i <= 32; i++) batch.push({ id: uuidv7(), seq: i, conversationId: view.conversationId, from: user.name, to: view.conversationId, text: `${g}:${i}:`.padEnd(4000, 'x'), kind: 'user', createdAt: at });
      await databaseOf(d.daemon).archive.insertMessages(batch);
      total += 32;
    }
  }, 120_000);
  afterAll(async () => { await d.close(); });

  it('one answer stays within 500 messages and 256 KiB; the shared client follows the pages through the rate limit and reads every message once', async () => {
    // Five pages by hand, to see each answer's size.
    const s = await openSocket(d.url, user.auth.accessToken);
    const cursors: Record<string, number> = {};
    let largest = 0;
    let pageMax = 0;
    for (let i = 0; i < 5; i++) {
      const r = await emit<SyncResult>(s, 'message:sync', { cursors });
      if (!r.ok) throw new Error(r.error.code);
      largest = Math.max(largest, Buffer.byteLength(JSON.stringify(r.data)));
      pageMax = Math.max(pageMax, r.data.messages.length);
      for (const m of r.data.messages) cursors[m.conversationId] = Math.max(cursors[m.conversationId] ?? 0, m.seq);
      expect(r.data.more).toBe(true);
    }
    s.close();
    // The whole catch-up through the shared client (src/client/socket.ts), as chat listen and the
    // TUI do it: about 150 pages, more than the 120 a minute the limit allows at once.
    const conn = connect(d.url, staticCredentials(user.auth.accessToken));
    await new Promise<void>((r) => conn.socket.once('connect', () => r()));
    const stream = new MessageStream(user.api, conn);
    const seen = new Map<string, number>();
    const warnings: unknown[] = [];
    stream.on('warn', (e) => warnings.push(e));
    stream.on('message', (m: Message) => seen.set(m.id, (seen.get(m.id) ?? 0) + 1));
    const t0 = performance.now();
    await stream.start([]);
    const seconds = (performance.now() - t0) / 1000;
    const duplicates = [...seen.values()].filter((n) => n > 1).length;
    console.log(`sync of 100 groups x 32 messages of ~4000 characters: largest answer ${(largest / 1024).toFixed(0)} KiB and ${pageMax} messages; the shared client read ${seen.size} of ${total} in ${seconds.toFixed(1)} s (waiting out the rate limit), duplicates ${duplicates}, warnings ${warnings.length} (before: one answer of 3200 messages, ~13 MB)`);
    expect(largest).toBeLessThanOrEqual(256 * 1024);
    expect(pageMax).toBeLessThanOrEqual(500);
    expect(seen.size).toBe(total);
    expect(duplicates).toBe(0);
    expect(warnings).toEqual([]);
    conn.close();
  }, 90_000);

  it('330 sync calls: the rest past CHAT_SYNC_RATE_LIMIT (120 a minute) are refused, and a bystander is not slowed', async () => {
    const [, by, bs] = await pair(d);
    const quiet = await bystanderAcks(bs, by.name, 100);
    const s = await openSocket(d.url, flooder.auth.accessToken);
    const answers = new Map<string, number>();
    let stop = false;
    let ended: string | null = null;
    s.on('session:end', (e) => { ended = e.code; });
    const gone = new Promise<null>((r) => s.on('disconnect', () => r(null)));
    // The limit is a GCRA bucket: the whole minute's calls at once, then one more every 60 s / limit
    // (500 ms at 120). Calls allowed are bounded by the burst plus what the flood's own duration
    // refilled, so a slow or busy machine (a flood that takes seconds) does not read as a leak.
    const limit = FIELDS.syncRateLimit.default;
    const refillMs = 60_000 / limit;
    const t0 = performance.now();
    let lastOkMs = 0;
    const flood = (async () => {
      for (let i = 0; i < 330 && !stop; i++) {
        const r = await Promise.race([emit<SyncResult>(s, 'message:sync', { cursors: {} }), gone]);
        if (r === null) break;
        const k = r.ok ? 'ok' : r.error.code;
        if (r.ok) lastOkMs = performance.now() - t0;
        answers.set(k, (answers.get(k) ?? 0) + 1);
      }
    })();
    const loaded = await bystanderAcks(bs, by.name, 100);
    stop = true;
    await flood;
    console.log(`sync flood (every call from scratch) -> ${JSON.stringify(Object.fromEntries(answers))}, connection ended by chatd: ${ended}; bystander send ack p50/p90/p99: quiet ${acks(quiet)} ms, under the flood ${acks(loaded)} ms (bound on the p90 ${bound(pct(quiet, 0.9)).toFixed(1)})`);
    const refilled = Math.floor(lastOkMs / refillMs) + 1;
    console.log(`sync flood: ${answers.get('ok') ?? 0} allowed, the last after ${Math.round(lastOkMs)} ms: at most ${limit} + ${refilled} refilled`);
    expect(answers.get('ok') ?? 0).toBeLessThanOrEqual(limit + refilled);
    expect(answers.get('CHAT_ERR_RATE_LIMITED') ?? 0).toBeGreaterThan(0);
    // Past 100 refusals in 10 s the connection is closed.
    expect(answers.get('CHAT_ERR_RATE_LIMITED') ?? 0).toBeLessThanOrEqual(101);
    if ((answers.get('ok') ?? 0) + (answers.get('CHAT_ERR_RATE_LIMITED') ?? 0) < 330) expect(ended).toBe('CHAT_ERR_RATE_LIMITED');
    expect(pct(loaded, 0.9)).toBeLessThanOrEqual(bound(pct(quiet, 0.9)));
    s.close();
    bs.close();
  }, 120_000);
});

describe('the shared client after chatd closes it for flooding', () => {
  it('reconnects by itself, after a pause of 2 s rather than at once', async () => {
    const d = await startDaemon();
    try {
      const [, b] = await pair(d);
      const a = await registerUser(d.url);
      await befriend(a, b);
      const conn = connect(d.url, staticCredentials(a.auth.accessToken));
      await new Promise<void>((r) => conn.socket.once('connect', () => r()));
      const ended = new Promise<string>((r) => conn.socket.once('session:end', (e) => r(e.code)));
      const gone = new Promise<number>((r) => conn.socket.once('disconnect', () => r(performance.now())));
      for (let i = 0; i < 400; i++) conn.socket.emit('typing:update', { to: b.name, typing: i % 2 === 0 }, () => {});
      const code = await ended;
      const at = await gone;
      const back = await new Promise<number>((r) => conn.socket.once('connect', () => r(performance.now())));
      console.log(`400 typing events on the shared client: ended with ${code}, reconnected after ${(back - at).toFixed(0)} ms`);
      expect(code).toBe('CHAT_ERR_RATE_LIMITED');
      expect(back - at).toBeGreaterThanOrEqual(1900);
      conn.close();
    } finally {
      await d.close();
    }
  }, 30_000);
});

