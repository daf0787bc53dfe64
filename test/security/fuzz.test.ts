/**
 * A seeded fuzz run (bounded, so it fits CI): random socket.io events with random payloads on
 * several authenticated sockets, plus corrupt engine.io and socket.io packets on raw WebSockets.
 * It prints its seed (CHAT_FUZZ_SEED reruns one) and ends with /healthz ok and a normal send.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import WebSocket from 'ws';
import { CLIENT_EVENTS, type Ack, type Message } from '../../src/protocol/index.js';
import { befriend, openSocket, registerUser, startDaemon, type TestDaemon, type TestSocket } from '../support/daemon.js';

const SEED = process.env.CHAT_FUZZ_SEED ? Number(process.env.CHAT_FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);

let d: TestDaemon;
// The random phase runs under high limits, so payloads reach the handlers instead of a refusal;
// the flood phase below runs on a node with the default limits.
beforeAll(async () => { d = await startDaemon({ CHAT_RECEIPT_RATE_LIMIT: '100000', CHAT_MESSAGE_RATE_LIMIT: '100000', CHAT_SYNC_RATE_LIMIT: '100000', CHAT_TYPING_RATE_LIMIT: '100000' }); });
afterAll(async () => { await d.close(); });

const EVENTS = ['message:send', 'message:sync', 'message:edit', 'message:delete', 'message:react', 'typing:update', 'receipt:update', 'message:new', 'message:change', 'session:end', '__proto__', 'constructor', ''];

describe('seeded fuzz', () => {
  it(`survives random events and corrupt packets (seed ${SEED})`, async () => {
    console.log(`fuzz seed: ${SEED} (rerun with CHAT_FUZZ_SEED=${SEED})`);
    const a = await registerUser(d.url);
    const b = await registerUser(d.url);
    await befriend(a, b);
    const sockets: TestSocket[] = [];
    for (let i = 0; i < 4; i++) sockets.push(await openSocket(d.url, i % 2 ? b.auth.accessToken : a.auth.accessToken));
    const peerOf = (i: number) => (i % 2 ? a.name : b.name);
    const codes = new Map<string, number>();
    let events = 0;
    const payload = (peer: string) => fc.oneof(
      fc.anything({ maxDepth: 3 }),
      fc.record({ to: fc.oneof(fc.string(), fc.constant(peer)), text: fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 50 }), fc.integer()), clientMsgId: fc.oneof(fc.string({ maxLength: 20 }), fc.constant(undefined)) }, { requiredKeys: [] }),
      fc.record({ cursors: fc.dictionary(fc.string({ maxLength: 80 }), fc.oneof(fc.integer(), fc.double(), fc.string())), limit: fc.oneof(fc.integer(), fc.constant(undefined)) }, { requiredKeys: [] }),
      fc.record({ conversationId: fc.oneof(fc.string(), fc.constant(`dm:${[a.name, b.name].sort().join(':')}`)), read: fc.oneof(fc.integer(), fc.double()), delivered: fc.integer() }, { requiredKeys: [] }),
      // Changes: a real peer and small seqs often, so payloads reach the rules, not only the schema.
      fc.record({ to: fc.oneof(fc.string(), fc.constant(peer), fc.constant('#nosuch')), seq: fc.oneof(fc.integer({ min: -2, max: 12 }), fc.double(), fc.string()), text: fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 50 })), emoji: fc.oneof(fc.constantFrom('👍', '🎉', '👩‍👩‍👧‍👦'), fc.string({ unit: 'grapheme', maxLength: 3 }), fc.string({ unit: 'binary', maxLength: 8 })), op: fc.oneof(fc.constantFrom('add', 'remove', 'toggle'), fc.string()), replyTo: fc.oneof(fc.integer({ min: 0, max: 12 }), fc.string()), clientMsgId: fc.oneof(fc.string({ maxLength: 20 }), fc.constant(undefined)) }, { requiredKeys: [] }),
    );
    await fc.assert(fc.asyncProperty(fc.nat(3), fc.constantFrom(...EVENTS), fc.integer({ min: 0, max: 3 }).chain((i) => payload(peerOf(i))), fc.boolean(), async (i, event, p, withAck) => {
      const s = sockets[i]!;
      events++;
      // Events the server does not handle are never answered: nothing to wait for.
      if (!withAck || !CLIENT_EVENTS.includes(event as never)) {
        (s.emit as (e: string, p: unknown) => void)(event, p);
        return;
      }
      const r = await Promise.race([
        new Promise<Ack<unknown>>((res) => (s.emit as (e: string, p: unknown, cb: (a: Ack<unknown>) => void) => void)(event, p, res)),
        new Promise<'no ack'>((res) => setTimeout(() => res('no ack'), 2000)),
      ]);
      const k = r === 'no ack' ? 'no ack' : r.ok ? 'ok' : r.error.code;
      codes.set(k, (codes.get(k) ?? 0) + 1);
    }), { seed: SEED, numRuns: 3000 });

    // Corrupt packets on raw WebSockets: random engine.io/socket.io frames, text and binary.
    const wsUrl = d.url.replace('http', 'ws') + '/socket.io/?EIO=4&transport=websocket';
    let closedByServer = 0;
    let packets = 0;
    await fc.assert(fc.asyncProperty(fc.array(fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.constantFrom('0', '1', '2', '3', '4', '40', '41', '42', '43', '44', '45', '46', '4{', '42[', '42["message:send"', '451-["x",{"_placeholder":true,"num":9}]', '40{"token":1}', '40{"token":"chat_x.y"}', '42["message:send",{"to":"x","text":"y"}]'),
      fc.uint8Array({ maxLength: 100 }).map((u) => Buffer.from(u)),
    ), { minLength: 1, maxLength: 10 }), async (frames) => {
      const ws = new WebSocket(wsUrl);
      await new Promise((r) => { ws.once('open', r); ws.once('error', r); });
      for (const f of frames) { if (ws.readyState === WebSocket.OPEN) { ws.send(f); packets++; } }
      await new Promise((r) => setTimeout(r, 5));
      if (ws.readyState !== WebSocket.OPEN) closedByServer++;
      ws.terminate();
    }), { seed: SEED, numRuns: 300 });

    const health = await fetch(new URL('/healthz', d.url));
    const s = await openSocket(d.url, a.auth.accessToken);
    const sent = await new Promise<Ack<Message>>((r) => s.emit('message:send', { to: b.name, text: 'after the fuzz' }, r));
    console.log(`fuzz: ${events} events (${JSON.stringify(Object.fromEntries(codes))}); ${packets} raw packets on 300 connections, ${closedByServer} closed by the server; /healthz ${health.status}; normal send ${sent.ok ? 'ok' : sent.error.code}`);
    // Every event the server handles answers its ack, whatever the payload.
    expect(codes.get('no ack') ?? 0).toBe(0);
    expect(health.status).toBe(200);
    expect(sent.ok).toBe(true);
    for (const x of [...sockets, s]) x.close();
  }, 180_000);

  it('answers every acked event whatever its arguments: none, one, or more than one (an extra argument never takes the ack\'s place)', async () => {
    const a = await registerUser(d.url);
    const b = await registerUser(d.url);
    await befriend(a, b);
    const s = await openSocket(d.url, a.auth.accessToken);
    const call = (...args: unknown[]) => Promise.race([
      new Promise<string>((r) => (s.emit as (...x: unknown[]) => void)(...args, (x: Ack<unknown>) => r(x.ok ? 'ok' : x.error.code))),
      new Promise<string>((r) => setTimeout(() => r('no ack'), 3000)),
    ]);
    const answers = {
      'no payload': await call('message:send'),
      'payload and an extra argument': await call('message:send', { to: b.name, text: 'with an extra argument' }, 'extra'),
      'two extra arguments, an object first': await call('message:sync', { cursors: {} }, { x: 1 }, 2),
      'an event named by a number': await call(42, { to: b.name, text: 'x' }),
    };
    console.log('acked events by arguments ->', answers);
    expect(answers).toEqual({ 'no payload': 'CHAT_ERR_VALIDATION', 'payload and an extra argument': 'ok', 'two extra arguments, an object first': 'ok', 'an event named by a number': 'CHAT_ERR_UNKNOWN_EVENT' });
    expect((await a.api.history(b.name)).map((m) => m.text)).toEqual(['with an extra argument']);
    s.close();
  });

  it(`typing and sync floods of seeded random sizes end with the flooder, under the default limits (seed ${SEED})`, async () => {
    const node = await startDaemon();
    try {
      const a = await registerUser(node.url);
      const b = await registerUser(node.url);
      await befriend(a, b);
      const bystander = await openSocket(node.url, b.auth.accessToken);
      const [typingN, syncN, order] = fc.sample(fc.tuple(fc.integer({ min: 300, max: 3000 }), fc.integer({ min: 300, max: 3000 }), fc.boolean()), { seed: SEED, numRuns: 1 })[0]!;
      const outcome: Record<string, string> = {};
      for (const [event, n, p] of (order ? [['typing:update', typingN, { to: b.name, typing: true }], ['message:sync', syncN, { cursors: {} }]] : [['message:sync', syncN, { cursors: {} }], ['typing:update', typingN, { to: b.name, typing: true }]]) as [string, number, unknown][]) {
        const s = await openSocket(node.url, a.auth.accessToken);
        const ended = new Promise<string>((r) => s.once('session:end', (e) => r(e.code)));
        const answers = new Map<string, number>();
        for (let i = 0; i < n; i++) (s.emit as (e: string, p: unknown, cb: (r: Ack<unknown>) => void) => void)(event, p, (r) => { const k = r.ok ? 'ok' : r.error.code; answers.set(k, (answers.get(k) ?? 0) + 1); });
        const code = await Promise.race([ended, new Promise<string>((r) => setTimeout(() => r('still connected'), 10_000))]);
        outcome[`${n} ${event}`] = `${JSON.stringify(Object.fromEntries(answers))}, then ${code}`;
        expect(code).toBe('CHAT_ERR_RATE_LIMITED');
        s.close();
      }
      const health = await fetch(new URL('/healthz', node.url));
      const sent = await new Promise<Ack<Message>>((r) => bystander.emit('message:send', { to: a.name, text: 'after the floods' }, r));
      console.log('floods ->', outcome, `; /healthz ${health.status}; the other user's send ${sent.ok ? 'ok' : sent.error.code}`);
      expect(health.status).toBe(200);
      expect(sent.ok).toBe(true);
      bystander.close();
    } finally {
      await node.close();
    }
  }, 60_000);
});
