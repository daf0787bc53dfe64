import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Ack, Message } from '../../../src/protocol/index.js';
import { connect, MessageStream, sendDurable } from '../../../src/client/socket.js';
import { staticCredentials } from '../../../src/client/api.js';
import { befriend, nextEvents, openSocket, registerUser, sleep, startDaemon, waitFor, type TestDaemon, type TestSocket, type TestUser } from '../../support/daemon.js';

let d: TestDaemon;
beforeAll(async () => { d = await startDaemon({ CHAT_MESSAGE_RATE_LIMIT: '100000' }); });
afterAll(async () => { await d.close(); });

function send(s: TestSocket, payload: unknown, timeoutMs = 10_000): Promise<Ack<Message>> {
  return (s.timeout(timeoutMs) as unknown as { emitWithAck: (e: string, p: unknown) => Promise<Ack<Message>> }).emitWithAck('message:send', payload);
}

/** Emits outside the typed event map, as a hostile client would. */
function rawEmit(s: TestSocket, event: string, ...args: unknown[]) {
  (s as unknown as { emit: (e: string, ...a: unknown[]) => void }).emit(event, ...args);
}

async function pair(): Promise<[TestUser, TestUser]> {
  const a = await registerUser(d.url);
  const b = await registerUser(d.url);
  await befriend(a, b);
  return [a, b];
}

describe('direct messages', () => {
  it('acks with the full message and delivers it live to every other device of both users, once to the sending one', async () => {
    const [a, b] = await pair();
    const [a1, a2, b1, b2] = await Promise.all([openSocket(d.url, a.auth.accessToken), openSocket(d.url, a.auth.accessToken), openSocket(d.url, b.auth.accessToken), openSocket(d.url, b.auth.accessToken)]);
    const inboxes = [a2, b1, b2].map((s) => nextEvents<Message>(s, 'message:new'));
    const senderInbox = nextEvents<Message>(a1, 'message:new');
    const ack = await send(a1, { to: b.name, text: 'hello', clientMsgId: 'c-1' });
    if (!ack.ok) throw new Error(ack.error.code);
    const m = ack.data;
    expect(m).toMatchObject({ seq: 1, from: a.name, to: b.name, text: 'hello', kind: 'user', clientMsgId: 'c-1' });
    expect(m.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-/);
    expect(new Date(m.createdAt).toISOString()).toBe(m.createdAt);
    for (const inbox of inboxes) expect((await inbox)[0]).toEqual(m);
    // The sending socket has the message in its ack: its first message:new is the reply.
    const reply = await send(b1, { to: a.name, text: 'hi back' });
    if (!reply.ok) throw new Error(reply.error.code);
    expect((await senderInbox)[0]).toEqual(reply.data);
    expect(reply.data.seq).toBe(2);
    expect(await b.api.history(a.name)).toEqual([m, reply.data]);
    for (const s of [a1, a2, b1, b2]) s.close();
  });

  it('refuses strangers, pending requests, unknown users and yourself with coded errors', async () => {
    const a = await registerUser(d.url);
    const b = await registerUser(d.url);
    const s = await openSocket(d.url, a.auth.accessToken);
    const code = async (p: unknown) => { const r = await send(s, p); return r.ok ? 'ok' : r.error.code; };
    expect(await code({ to: b.name, text: 'hi' })).toBe('CHAT_ERR_NOT_FRIENDS');
    await a.api.addFriend(b.name);
    expect(await code({ to: b.name, text: 'hi' })).toBe('CHAT_ERR_NOT_FRIENDS');
    // A missing user reads like a stranger (no enumeration of names).
    expect(await code({ to: 'nosuchuser', text: 'hi' })).toBe('CHAT_ERR_NOT_FRIENDS');
    expect(await code({ to: a.name, text: 'hi' })).toBe('CHAT_ERR_MESSAGE_SELF');
    await b.api.acceptFriend(a.name);
    expect(await code({ to: b.name, text: 'hi' })).toBe('ok');
    await b.api.removeFriend(a.name);
    expect(await code({ to: b.name, text: 'hi' })).toBe('CHAT_ERR_NOT_FRIENDS');
    s.close();
  });

  it('answers a resend with its original even after the friendship ended, and refuses a new message', async () => {
    const [a, b] = await pair();
    const s = await openSocket(d.url, a.auth.accessToken);
    const first = await send(s, { to: b.name, text: 'before', clientMsgId: 'kept-key' });
    await a.api.removeFriend(b.name);
    const resend = await send(s, { to: b.name, text: 'before', clientMsgId: 'kept-key' });
    const fresh = await send(s, { to: b.name, text: 'after', clientMsgId: 'new-key' });
    expect(first.ok && resend.ok && resend.data).toEqual(first.ok && first.data);
    expect(fresh.ok ? 'accepted' : fresh.error.code).toBe('CHAT_ERR_NOT_FRIENDS');
    s.close();
  });

  it('stores one message per clientMsgId, concurrent or sequential, and returns the original', async () => {
    const [a, b] = await pair();
    const s = await openSocket(d.url, a.auth.accessToken);
    const sb = await openSocket(d.url, b.auth.accessToken);
    const live: Message[] = [];
    sb.on('message:new', (m) => live.push(m));
    // Round 1 is the friendship's first send: the friendship is not known yet (the full path, an
    // in-flight map). Round 2 finds it known (the fast lane: the store's unique index decides,
    // also between copies in one group commit).
    for (const round of ['first', 'known']) {
      const acks = await Promise.all(Array.from({ length: 20 }, () => send(s, { to: b.name, text: `once ${round}`, clientMsgId: `same-key-${round}` })));
      const later = await send(s, { to: b.name, text: 'different text, same key', clientMsgId: `same-key-${round}` });
      const ids = new Set([...acks, later].map((r) => (r.ok ? r.data.id : r.error.code)));
      const stored = (await a.api.history(b.name, { limit: 500 })).filter((m) => m.clientMsgId === `same-key-${round}`);
      await waitFor(() => live.some((m) => m.clientMsgId === `same-key-${round}`));
      await sleep(100);
      const delivered = live.filter((m) => m.clientMsgId === `same-key-${round}`).length;
      console.log(`idempotent send (${round}): sent=21 acked=${acks.filter((r) => r.ok).length + (later.ok ? 1 : 0)} distinct ids=${ids.size} stored=${stored.length} delivered=${delivered}`);
      expect(ids.size).toBe(1);
      expect(stored).toHaveLength(1);
      expect(stored[0]!.text).toBe(`once ${round}`);
      expect(delivered).toBe(1);
    }
    s.close();
    sb.close();
  });

  it('counts: every acknowledged message stored once, seq gap-free per conversation, under concurrency', async () => {
    const [a, b] = await pair();
    const c = await registerUser(d.url);
    await befriend(a, c);
    const [sa, sb, sc] = (await Promise.all([a, b, c].map((u) => openSocket(d.url, u.auth.accessToken)))) as [TestSocket, TestSocket, TestSocket];
    const n = 600;
    const jobs: Promise<Ack<Message>>[] = [];
    for (let i = 0; i < n; i++) {
      jobs.push(send(sa, { to: i % 3 === 0 ? c.name : b.name, text: `a${i}`, clientMsgId: `a-${i}` }));
      jobs.push(send(i % 2 ? sb : sc, { to: a.name, text: `r${i}`, clientMsgId: `r-${i}` }));
    }
    const acks = await Promise.all(jobs);
    const acked = acks.filter((r): r is { ok: true; data: Message } => r.ok).map((r) => r.data);
    const storedAB = await a.api.history(b.name, { limit: 500, afterSeq: 0 });
    const storedAB2 = storedAB.length === 500 ? await a.api.history(b.name, { limit: 500, afterSeq: 500 }) : [];
    const storedAC = await a.api.history(c.name, { limit: 500, afterSeq: 0 });
    const storedAC2 = storedAC.length === 500 ? await a.api.history(c.name, { limit: 500, afterSeq: 500 }) : [];
    const stored = [...storedAB, ...storedAB2, ...storedAC, ...storedAC2];
    const storedIds = new Map(stored.map((m) => [m.id, m]));
    const lost = acked.filter((m) => !storedIds.has(m.id)).length;
    const dupes = stored.length - new Set(stored.map((m) => `${m.from}|${m.clientMsgId}`)).size;
    console.log(`concurrent send: sent=${jobs.length} acked=${acked.length} stored=${stored.length} duplicates=${dupes} lost=${lost}`);
    expect(acked.length).toBe(jobs.length);
    expect(lost).toBe(0);
    expect(dupes).toBe(0);
    expect(stored.length).toBe(jobs.length);
    for (const list of [[...storedAB, ...storedAB2], [...storedAC, ...storedAC2]]) {
      expect(list.map((m) => m.seq)).toEqual(Array.from({ length: list.length }, (_, i) => i + 1));
    }
    for (const s of [sa, sb, sc]) s.close();
  });

  it('pages history by seq both ways and rejects bad queries with 400', async () => {
    const [a, b] = await pair();
    const conn = connect(d.url, staticCredentials(a.auth.accessToken));
    for (let i = 1; i <= 30; i++) await sendDurable(conn, { to: b.name, text: `m${i}`, clientMsgId: `h${i}` });
    conn.close();
    const seqs = (ms: Message[]) => ms.map((m) => m.seq);
    expect(seqs(await b.api.history(a.name, { limit: 3 }))).toEqual([28, 29, 30]);
    expect(seqs(await b.api.history(a.name, { limit: 3, beforeSeq: 28 }))).toEqual([25, 26, 27]);
    expect(seqs(await b.api.history(a.name, { limit: 3, afterSeq: 2 }))).toEqual([3, 4, 5]);
    expect((await b.api.history(a.name)).length).toBe(30);
    for (const q of ['limit=0', 'limit=abc', 'beforeSeq=-1', 'afterSeq=5&beforeSeq=3', 'limit=100000', 'bogus=1']) {
      const res = await fetch(new URL(`/v1/messages/${a.name}?${q}`, d.url), { headers: { authorization: `Bearer ${b.auth.accessToken}` } });
      expect(res.status, q).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('CHAT_ERR_VALIDATION');
    }
  });

  it('a reconnecting client catches up from its last seq: no gap, no duplicate', async () => {
    const [a, b] = await pair();
    const bobConn = connect(d.url, staticCredentials(b.auth.accessToken), { reconnectionDelayMax: 300 });
    const stream = new MessageStream(b.api, bobConn);
    const got: Message[] = [];
    let disconnects = 0;
    stream.on('message', (m: Message) => got.push(m));
    bobConn.socket.on('disconnect', () => disconnects++);
    await waitFor(() => bobConn.socket.connected);
    await stream.start();
    const alice = connect(d.url, staticCredentials(a.auth.accessToken));
    const sent: Message[] = [];
    for (let i = 0; i < 10; i++) sent.push(await sendDurable(alice, { to: b.name, text: `live ${i}`, clientMsgId: `l${i}` }));
    await waitFor(() => got.length >= 10);
    // Cut bob's transport (not a clean close): the client reconnects by itself.
    bobConn.socket.io.engine.close();
    for (let i = 0; i < 25; i++) sent.push(await sendDurable(alice, { to: b.name, text: `offline ${i}`, clientMsgId: `o${i}` }));
    await waitFor(() => got.length >= 35 && bobConn.socket.connected, 15_000);
    for (let i = 0; i < 5; i++) sent.push(await sendDurable(alice, { to: b.name, text: `after ${i}`, clientMsgId: `p${i}` }));
    await waitFor(() => got.length >= 40);
    await sleep(300);
    const ids = got.map((m) => m.id);
    const dupes = ids.length - new Set(ids).size;
    const lost = sent.filter((m) => !ids.includes(m.id)).length;
    expect(disconnects).toBe(1);
    console.log(`catch-up: disconnects=${disconnects} sent=${sent.length} received=${got.length} duplicates=${dupes} lost=${lost}`);
    expect(dupes).toBe(0);
    expect(lost).toBe(0);
    expect(got.map((m) => m.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    bobConn.close();
    alice.close();
  });
});

describe('bad input', () => {
  it('answers oversize text and malformed payloads with coded acks; the socket stays up', async () => {
    const [a, b] = await pair();
    const s = await openSocket(d.url, a.auth.accessToken);
    const code = async (p: unknown) => { const r = await send(s, p); return r.ok ? 'ok' : r.error.code; };
    expect(await code({ to: b.name, text: 'x'.repeat(4001) })).toBe('CHAT_ERR_VALIDATION');
    expect(await code({ to: b.name, text: 'x'.repeat(4000) })).toBe('ok');
    expect(await code({ to: b.name, text: '' })).toBe('CHAT_ERR_VALIDATION');
    expect(await code({ to: b.name })).toBe('CHAT_ERR_VALIDATION');
    expect(await code(null)).toBe('CHAT_ERR_VALIDATION');
    expect(await code('just a string')).toBe('CHAT_ERR_VALIDATION');
    expect(await code({ to: b.name, text: 'hi', extra: true })).toBe('CHAT_ERR_VALIDATION');
    expect(await code({ to: b.name, text: 'hi', clientMsgId: 'has space' })).toBe('CHAT_ERR_VALIDATION');
    // No ack callback at all: nothing to answer, nothing breaks.
    rawEmit(s, 'message:send', { to: b.name, text: 'no ack' });
    rawEmit(s, 'no:such:event', 1, 2, 3);
    expect(await code({ to: b.name, text: 'still fine' })).toBe('ok');
    expect(s.connected).toBe(true);
    s.close();
  });

  it('a payload beyond the buffer limit drops only that socket; the daemon and other clients carry on', async () => {
    const [a, b] = await pair();
    const [c, e] = await pair();
    const sa = await openSocket(d.url, a.auth.accessToken);
    const sc = await openSocket(d.url, c.auth.accessToken);
    const gone = new Promise<string>((r) => sa.once('disconnect', r));
    rawEmit(sa, 'message:send', { to: b.name, text: 'y'.repeat(2_000_000) });
    expect(await gone).toBe('transport close');
    const r = await send(sc, { to: e.name, text: 'unaffected' });
    expect(r.ok).toBe(true);
    sc.close();
  });

  it('property: arbitrary send payloads never crash the daemon or disturb a bystander conversation', async () => {
    const [a] = await pair();
    const [c, e] = await pair();
    const fuzz = await openSocket(d.url, a.auth.accessToken);
    const sc = await openSocket(d.url, c.auth.accessToken);
    const se = await openSocket(d.url, e.auth.accessToken);
    let bystanderSent = 0;
    let bystanderGot = 0;
    se.on('message:new', (m) => { if (m.from === c.name) bystanderGot++; });
    const payload = fc.oneof(
      fc.anything(),
      fc.record({ to: fc.oneof(fc.string(), fc.constant(e.name), fc.integer()), text: fc.oneof(fc.string({ maxLength: 5000 }), fc.integer(), fc.constant(null)), clientMsgId: fc.oneof(fc.string(), fc.constant(undefined), fc.object()) }, { requiredKeys: [] }),
      fc.array(fc.anything(), { maxLength: 5 }),
    );
    const codes = new Map<string, number>();
    await fc.assert(fc.asyncProperty(payload, async (p) => {
      const r = await send(fuzz, p);
      const key = r.ok ? 'ok' : r.error.code;
      codes.set(key, (codes.get(key) ?? 0) + 1);
      expect(r.ok || /^CHAT_ERR_[A-Z_]+$/.test(r.error.code)).toBe(true);
      expect(key).not.toBe('CHAT_ERR_INTERNAL');
      const b = await send(sc, { to: e.name, text: `bystander ${bystanderSent}` });
      expect(b.ok).toBe(true);
      bystanderSent++;
    }), { numRuns: 150 });
    await waitFor(() => bystanderGot === bystanderSent);
    console.log(`fuzz: ${[...codes].map(([k, v]) => `${k}=${v}`).join(' ')}; bystander sent=${bystanderSent} received=${bystanderGot}`);
    expect(codes.get('CHAT_ERR_INTERNAL')).toBeUndefined();
    expect(fuzz.connected).toBe(true);
    const health = await fetch(new URL('/readyz', d.url));
    expect(health.status).toBe(200);
    for (const s of [fuzz, sc, se]) s.close();
  });

  it('REST: malformed JSON is a 400, a body over the limit a 413, an unknown route a 404', async () => {
    const u = await registerUser(d.url);
    const post = (body: string) => fetch(new URL('/v1/messages', d.url), { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${u.auth.accessToken}` }, body });
    const bad = await post('{not json');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('CHAT_ERR_VALIDATION');
    const big = await post(JSON.stringify({ to: 'x', text: 'z'.repeat(100_000) }));
    expect(big.status).toBe(413);
    expect(((await big.json()) as { error: { code: string } }).error.code).toBe('CHAT_ERR_PAYLOAD_TOO_LARGE');
    const nf = await fetch(new URL('/v1/nothing', d.url));
    expect(nf.status).toBe(404);
    expect(((await nf.json()) as { error: { code: string } }).error.code).toBe('CHAT_ERR_NOT_FOUND');
  });
});

describe('presence', () => {
  it('tells friends when a user comes online and goes offline, and lists it', async () => {
    const [a, b] = await pair();
    const sa = await openSocket(d.url, a.auth.accessToken);
    const online = nextEvents<{ username: string; online: boolean }>(sa, 'presence:update');
    const sb = await openSocket(d.url, b.auth.accessToken);
    expect((await online)[0]).toEqual({ username: b.name, online: true });
    expect(await a.api.friends()).toEqual([{ username: b.name, online: true }]);
    const offline = nextEvents<{ username: string; online: boolean }>(sa, 'presence:update');
    sb.close();
    expect((await offline)[0]).toEqual({ username: b.name, online: false });
    expect(await a.api.friends()).toEqual([{ username: b.name, online: false }]);
    sa.close();
  });
});

describe('message rate limit', () => {
  it('refuses sends beyond the per-user rate with a coded error and a retry hint', async () => {
    const limited = await startDaemon({ CHAT_MESSAGE_RATE_LIMIT: '5' });
    try {
      const a = await registerUser(limited.url);
      const b = await registerUser(limited.url);
      await befriend(a, b);
      const s = await openSocket(limited.url, a.auth.accessToken);
      const acks = [];
      for (let i = 0; i < 7; i++) acks.push(await send(s, { to: b.name, text: `m${i}`, clientMsgId: `k${i}` }));
      expect(acks.map((r) => (r.ok ? 'ok' : r.error.code))).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'CHAT_ERR_RATE_LIMITED', 'CHAT_ERR_RATE_LIMITED']);
      const last = acks[6]!;
      expect(!last.ok && last.error.retryAfterMs! > 0).toBe(true);
      // A resend while limited is not a new message: it gets its original.
      const resend = await send(s, { to: b.name, text: 'm3', clientMsgId: 'k3' });
      expect(resend.ok && resend.data).toEqual(acks[3]!.ok && acks[3]!.data);
      s.close();
    } finally {
      await limited.close();
    }
  });
});


describe('typing and read state', () => {
  it('relays typing to the peer only between friends, never stored', async () => {
    const [a, b] = await pair();
    const stranger = await registerUser(d.url);
    const sa = await openSocket(d.url, a.auth.accessToken);
    const sb = await openSocket(d.url, b.auth.accessToken);
    const sx = await openSocket(d.url, stranger.auth.accessToken);
    const seen: { username: string; typing: boolean }[] = [];
    sb.on('typing:update', (e) => seen.push(e));
    rawEmit(sx, 'typing:update', { to: b.name, typing: true });
    rawEmit(sa, 'typing:update', { to: b.name, typing: true });
    rawEmit(sa, 'typing:update', { to: b.name, typing: false });
    await waitFor(() => seen.length >= 2);
    await sleep(100);
    expect(seen).toEqual([
      { conversationId: `dm:${[a.name, b.name].sort().join(':')}`, username: a.name, typing: true },
      { conversationId: `dm:${[a.name, b.name].sort().join(':')}`, username: a.name, typing: false },
    ]);
    const bad = await (sa.timeout(5000) as unknown as { emitWithAck: (e: string, p: unknown) => Promise<Ack<null>> }).emitWithAck('typing:update', { to: b.name });
    expect(!bad.ok && bad.error.code).toBe('CHAT_ERR_VALIDATION');
    for (const s of [sa, sb, sx]) s.close();
  });

  it('tracks delivered and read markers per conversation, tells the sender, and counts unread', async () => {
    const [a, b] = await pair();
    const sa = await openSocket(d.url, a.auth.accessToken);
    const sb = await openSocket(d.url, b.auth.accessToken);
    for (let i = 0; i < 3; i++) await send(sa, { to: b.name, text: `m${i}` });
    const [conv] = await b.api.conversations();
    // a's own sends moved a's read marker: a has seen up to 3 (b's ticks only mark b's messages).
    expect(conv).toMatchObject({ with: a.name, lastSeq: 3, unread: 3, myRead: 0, peerRead: 3 });
    const toAlice = nextEvents<{ username: string; delivered: number; read: number }>(sa, 'receipt:update', 2);
    const emitReceipt = (p: unknown) => (sb.timeout(5000) as unknown as { emitWithAck: (e: string, p: unknown) => Promise<Ack<unknown>> }).emitWithAck('receipt:update', p);
    expect((await emitReceipt({ conversationId: conv!.conversationId, delivered: 3 })).ok).toBe(true);
    expect((await emitReceipt({ conversationId: conv!.conversationId, read: 2 })).ok).toBe(true);
    expect((await toAlice).map((e) => [e.username, e.delivered, e.read])).toEqual([[b.name, 3, 0], [b.name, 3, 2]]);
    expect((await b.api.conversations())[0]).toMatchObject({ unread: 1, myRead: 2 });
    expect((await a.api.conversations())[0]).toMatchObject({ unread: 0, peerDelivered: 3, peerRead: 2 });
    const other = await emitReceipt({ conversationId: 'dm:someone:else', read: 1 });
    expect(!other.ok && other.error.code).toBe('CHAT_ERR_NOT_FOUND');
    sa.close();
    sb.close();
  });
});
