import crypto from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ack, Message } from '../../src/protocol/index.js';
import { ApiClient, staticCredentials } from '../../src/client/api.js';
import { befriend, nextEvents, openSocket, registerUser, sleep, startDaemon, waitFor, type TestDaemon, type TestSocket } from '../support/daemon.js';
import { isolation } from '../support/services.js';
import { convergence } from '../support/changes.js';
import { services } from './env.js';

const env = services('MONGODB_URI', 'REDIS_URL', 'KAFKA_BROKERS');

function send(s: TestSocket, payload: unknown): Promise<Ack<Message>> {
  return (s.timeout(15_000) as unknown as { emitWithAck: (e: string, p: unknown) => Promise<Ack<Message>> }).emitWithAck('message:send', payload);
}

if (env) {
  describe('two chatd nodes sharing Redis, Kafka and MongoDB', () => {
    let a: TestDaemon;
    let b: TestDaemon;
    let shared: Record<string, string>;
    beforeAll(async () => {
      shared = isolation('twonodes').env(env);
      a = await startDaemon({ ...shared, CHAT_MESSAGE_RATE_LIMIT: '100000', CHAT_GROUP_RATE_LIMIT: '100000', CHAT_CHANGE_RATE_LIMIT: '100000', CHAT_SYNC_RATE_LIMIT: '100000', CHAT_MAX_EDITS: '3' });
      b = await startDaemon({ ...shared, CHAT_MESSAGE_RATE_LIMIT: '100000', CHAT_GROUP_RATE_LIMIT: '100000', CHAT_CHANGE_RATE_LIMIT: '100000', CHAT_SYNC_RATE_LIMIT: '100000', CHAT_MAX_EDITS: '3' });
    });
    afterAll(async () => {
      await a?.close();
      await b?.close();
    });

    it('runs on the scale-out engines', async () => {
      const ready = await (await fetch(new URL('/readyz', a.url))).json() as { backends: Record<string, { kind: string }> };
      expect(Object.values(ready.backends).map((x) => x.kind)).toEqual(['mongodb', 'redis', 'scaleout', 'gridfs', 'kafka-persister']);
      // The pipeline's backlog is on /metrics, read at each scrape.
      const metrics = await (await fetch(new URL('/metrics', a.url))).text();
      for (const kind of ['consumer_lag', 'failed_publishes', 'dead_letters']) expect(metrics).toMatch(new RegExp(`^chatd_pipeline_backlog\\{kind="${kind}"\\} \\d+$`, 'm'));
      expect(metrics).toMatch(/^chatd_build_info\{.*store="mongodb",log="scaleout",cache="redis"\} 1$/m);
    });

    it('catch-up converges across nodes: 500 seeded sends, edits, deletes and reactions on node A; a live and an offline client on node B end with the server\'s view', async () => {
      const r = await convergence(a.url, b.url, 'scale-out, two nodes');
      expect(r.changes).toBeGreaterThan(100);
    }, 180_000);

    it('a client on node A and a client on node B exchange messages live', async () => {
      const alice = await registerUser(a.url);
      const bob = await registerUser(b.url);
      await befriend(alice, bob);
      const sa = await openSocket(a.url, alice.auth.accessToken);
      const sb = await openSocket(b.url, bob.auth.accessToken);
      const sb2 = await openSocket(a.url, bob.auth.accessToken);
      const n = 50;
      // The sending sockets get their own messages as acks; bob's socket on A gets everything.
      const toBob = nextEvents<Message>(sb, 'message:new', n);
      const toBobOnA = nextEvents<Message>(sb2, 'message:new', 2 * n);
      const toAlice = nextEvents<Message>(sa, 'message:new', n);
      const acks: Ack<Message>[] = [];
      for (let i = 0; i < n; i++) {
        acks.push(await send(sa, { to: bob.name, text: `a→b ${i}`, clientMsgId: `ab${i}` }));
        acks.push(await send(sb, { to: alice.name, text: `b→a ${i}`, clientMsgId: `ba${i}` }));
      }
      expect(acks.every((r) => r.ok)).toBe(true);
      const [gotB, gotB2, gotA] = await Promise.all([toBob, toBobOnA, toAlice]);
      const seqs = (ms: Message[]) => ms.map((m) => m.seq);
      const all = Array.from({ length: 2 * n }, (_, i) => i + 1);
      const acked = (from: string) => acks.flatMap((r) => (r.ok && r.data.from === from ? [r.data] : []));
      expect(seqs(gotB2)).toEqual(all);
      expect(gotB.every((m) => m.from === alice.name) && gotA.every((m) => m.from === bob.name)).toBe(true);
      // What each sending socket saw, live and in its acks, is the whole conversation once.
      expect(seqs([...gotB, ...acked(bob.name)]).sort((x, y) => x - y)).toEqual(all);
      expect(seqs([...gotA, ...acked(alice.name)]).sort((x, y) => x - y)).toEqual(all);
      const stored = await waitFor(async () => { const h = await alice.api.history(bob.name, { limit: 500 }); return h.length >= 2 * n && h; });
      console.log(`two nodes: sent=${2 * n} acked=${acks.filter((r) => r.ok).length} delivered(b on B)=${gotB.length} delivered(b on A)=${gotB2.length} delivered(a)=${gotA.length} history=${stored.length}`);
      for (const s of [sa, sb, sb2]) s.close();
    });

    it('a burst of messages crosses nodes in fewer publishes than messages, each delivered once', async () => {
      const alice = await registerUser(a.url);
      const bob = await registerUser(b.url);
      await befriend(alice, bob);
      const sa = await openSocket(a.url, alice.auth.accessToken);
      const sb = await openSocket(b.url, bob.auth.accessToken);
      // Every publish on the adapter's channels (broadcasts and server-side events) that carries one of this test's messages.
      const marker = `burst-${Date.now().toString(36)}`;
      const sub = new Redis(env!.REDIS_URL!);
      let publishes = 0;
      let carried = 0;
      sub.on('pmessageBuffer', (_p: Buffer, _c: Buffer, msg: Buffer) => {
        const n = msg.toString('latin1').split(marker).length - 1;
        if (n > 0) { publishes++; carried += n; }
      });
      await sub.psubscribe(`${shared.CHAT_REDIS_PREFIX}socket.io*`);
      // Malformed batches on the nodes' own channel (an older or broken node) are dropped, and disturb nothing after them.
      const pub = new Redis(env!.REDIS_URL!);
      for (const data of [42, [[1, 2, 3], ['x'], [[{}], null, {}], [['r'], 5, null]]]) {
        await pub.publish(`${shared.CHAT_REDIS_PREFIX}socket.io-request#/#`, JSON.stringify({ uid: 'elsewhere', type: 6, data: ['message:batch', data] }));
      }
      pub.disconnect();
      const n = 40;
      const got = nextEvents<Message>(sb, 'message:new', n);
      const acks = await Promise.all(Array.from({ length: n }, (_, i) => send(sa, { to: bob.name, text: `${marker} ${i}`, clientMsgId: crypto.randomUUID() })));
      const received = await got;
      await new Promise((r) => setTimeout(r, 300));
      const texts = received.map((m) => m.text);
      console.log(`cross-node burst: sent=${n} acked=${acks.filter((r) => r.ok).length} delivered=${received.length} distinct=${new Set(texts).size} publishes=${publishes} carrying ${carried} messages`);
      expect(acks.every((r) => r.ok)).toBe(true);
      expect(new Set(texts).size).toBe(n);
      expect(carried).toBe(n);
      expect(publishes).toBeLessThan(n / 2);
      // Nothing more arrives: no copy was delivered twice.
      await new Promise((r) => setTimeout(r, 200));
      expect(received.length).toBe(n);
      sub.disconnect();
      sa.close();
      sb.close();
    });

    it('presence crosses nodes', async () => {
      const alice = await registerUser(a.url);
      const bob = await registerUser(b.url);
      await befriend(alice, bob);
      const sa = await openSocket(a.url, alice.auth.accessToken);
      const online = nextEvents<{ username: string; online: boolean }>(sa, 'presence:update');
      const sb = await openSocket(b.url, bob.auth.accessToken);
      expect((await online)[0]).toEqual({ username: bob.name, online: true });
      expect(await alice.api.friends()).toEqual([{ username: bob.name, online: true }]);
      const offline = nextEvents<{ username: string; online: boolean }>(sa, 'presence:update');
      sb.close();
      expect((await offline)[0]).toEqual({ username: bob.name, online: false });
      sa.close();
    });

    it('one clientMsgId sent to A and then to B stores a single message', async () => {
      const alice = await registerUser(a.url);
      const bob = await registerUser(b.url);
      await befriend(alice, bob);
      const onA = await openSocket(a.url, alice.auth.accessToken);
      const onB = await openSocket(b.url, alice.auth.accessToken);
      const first = await send(onA, { to: bob.name, text: 'exactly once', clientMsgId: 'cross-node-1' });
      const second = await send(onB, { to: bob.name, text: 'exactly once', clientMsgId: 'cross-node-1' });
      if (!first.ok || !second.ok) throw new Error('send failed');
      expect(second.data).toEqual(first.data);
      await new Promise((r) => setTimeout(r, 1000));
      const stored = await bob.api.history(alice.name);
      console.log(`cross-node dedupe: sent=2 acked=2 distinct ids=${new Set([first.data.id, second.data.id]).size} stored=${stored.length}`);
      expect(stored).toHaveLength(1);
      onA.close();
      onB.close();
    });

    it('revoking a session on one node cuts its socket on the other', async () => {
      const u = await registerUser(a.url);
      const t = await u.api.createToken('bot', 'correct horse battery');
      const s = await openSocket(b.url, t.token);
      const ended = new Promise<{ code: string }>((r) => s.once('session:end', r));
      await u.api.revokeToken(t.id);
      expect((await ended).code).toBe('CHAT_ERR_SESSION_REVOKED');
      s.close();
    });

    it('a change made on one node reaches the caches of the other node at once: unfriend, logout', async () => {
      const x = await registerUser(a.url);
      const y = await registerUser(a.url);
      await befriend(x, y);
      const onB = new ApiClient(b.url, staticCredentials(x.auth.accessToken));
      // B reads x's user, session and friendship once: they are cached there now.
      const s = await openSocket(b.url, x.auth.accessToken);
      expect((await send(s, { to: y.name, text: 'hello' })).ok).toBe(true);
      await onB.whoami();
      // Unfriend on A: B refuses the next send (its friendship cache would have said yes for 10 s).
      await y.api.removeFriend(x.name);
      const unfriended = await waitFor(async () => { const r = await send(s, { to: y.name, text: 'again' }); return r.ok ? undefined : r.error.code; }, 2000);
      s.close();
      // Logout on A: B refuses the same access token at once (its cache would have said yes for 30 s).
      await x.api.logout(x.auth.refreshToken);
      const loggedOut = await waitFor(async () => { const code = await onB.whoami().then(() => undefined, (e: { code: string }) => e.code); return code; }, 2000);
      console.log('on node B after a change on node A: send ->', unfriended, '; whoami ->', loggedOut);
      expect(unfriended).toBe('CHAT_ERR_NOT_FRIENDS');
      expect(loggedOut).toBe('CHAT_ERR_SESSION_REVOKED');
    });

    it('caps sockets per user across nodes, and a guesser on one node does not lock the owner out on the other', async () => {
      const shared = isolation('caps').env(env);
      const x = await startDaemon({ ...shared, CHAT_MAX_SOCKETS_PER_USER: '2', CHAT_TRUST_PROXY: 'true', CHAT_AUTH_FREE_FAILURES: '2' });
      const y = await startDaemon({ ...shared, CHAT_MAX_SOCKETS_PER_USER: '2', CHAT_TRUST_PROXY: 'true', CHAT_AUTH_FREE_FAILURES: '2' });
      try {
        const u = await registerUser(x.url);
        const s1 = await openSocket(x.url, u.auth.accessToken);
        const s2 = await openSocket(y.url, u.auth.accessToken);
        const third = await openSocket(x.url, u.auth.accessToken).then(() => 'connected', (e: Error & { data?: { code: string } }) => e.data?.code);
        const login = (url: string, ip: string, password: string) => fetch(new URL('/v1/auth/login', url), { method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': ip }, body: JSON.stringify({ username: u.name, password }) }).then((r) => r.status);
        const guesses: number[] = [];
        for (let i = 0; i < 6; i++) guesses.push(await login(i % 2 ? y.url : x.url, '10.9.0.1', `guess ${i}`));
        const owner = await login(y.url, '10.9.0.2', 'correct horse battery');
        console.log(`third socket across two nodes with a cap of 2 -> ${third}; guesses on both nodes: ${guesses.join(',')}; owner from another address -> ${owner}`);
        expect(third).toBe('CHAT_ERR_LIMIT_REACHED');
        expect(guesses.slice(0, 3)).toEqual([401, 401, 401]);
        expect(guesses.slice(4)).toEqual([429, 429]);
        expect(owner).toBe(200);
        s1.close();
        s2.close();
      } finally {
        await x.close();
        await y.close();
      }
    });

    it('shares rate limits across nodes', async () => {
      const shared = isolation('ratelimit').env(env);
      const x = await startDaemon({ ...shared, CHAT_AUTH_RATE_LIMIT: '4' });
      const y = await startDaemon({ ...shared, CHAT_AUTH_RATE_LIMIT: '4' });
      try {
        const statuses: number[] = [];
        for (let i = 0; i < 6; i++) {
          const url = i % 2 ? y.url : x.url;
          const res = await fetch(new URL('/v1/auth/login', url), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'nobody-here', password: 'whatever1' }) });
          statuses.push(res.status);
        }
        expect(statuses).toEqual([401, 401, 401, 401, 429, 429]);
      } finally {
        await x.close();
        await y.close();
      }
    });

    it('a group with members on both nodes: a member added and one removed while messages flow; nothing lost, nothing doubled, nothing after the removal', async () => {
      const [ann, bob, cat, dan, eve] = [await registerUser(a.url), await registerUser(b.url), await registerUser(a.url), await registerUser(b.url), await registerUser(b.url)];
      for (const u of [bob, cat, dan, eve]) await befriend(ann, u);
      const g = await ann.api.createGroup(`two${Date.now().toString(36)}`, [bob.name, cat.name, dan.name]);
      const ref = `#${g.handle}`;
      // Sockets: ann on A; bob and dan on B; cat on both; eve on B (added later).
      const [sAnn, sBob, sCatA, sCatB, sDan, sEve] = await Promise.all([
        openSocket(a.url, ann.auth.accessToken), openSocket(b.url, bob.auth.accessToken), openSocket(a.url, cat.auth.accessToken),
        openSocket(b.url, cat.auth.accessToken), openSocket(b.url, dan.auth.accessToken), openSocket(b.url, eve.auth.accessToken),
      ]);
      const inbox = new Map<TestSocket, Message[]>();
      for (const s of [sAnn, sBob, sCatA, sCatB, sDan, sEve]) {
        const got: Message[] = [];
        inbox.set(s, got);
        s.on('message:new', (m) => { if (m.conversationId === g.conversationId) got.push(m); });
      }
      const acked: Message[] = [];
      let flowing = true;
      const flow = async (s: TestSocket, tag: string) => {
        for (let i = 0; flowing || i < 20; i++) {
          const r = await send(s, { to: ref, text: `${tag} ${i}`, clientMsgId: `${tag}-${i}` });
          if (!r.ok) throw new Error(r.error.code);
          acked.push(r.data);
        }
      };
      const senders = Promise.all([flow(sAnn, 'ann'), flow(sBob, 'bob')]);
      await sleep(150);
      await ann.api.addGroupMembers(ref, [eve.name]);
      await sleep(150);
      await ann.api.removeGroupMember(ref, cat.name);
      await sleep(150);
      flowing = false;
      await senders;
      await sleep(500);
      const history = await waitFor(async () => {
        const h = await dan.api.history(ref, { limit: 500 });
        return h.length === acked.length + 3 && h; // + created, added, removed
      }, 15_000);
      const addSeq = history.find((m) => m.kind === 'system' && m.text.includes(`added ${eve.name}`))!.seq;
      const removeSeq = history.find((m) => m.kind === 'system' && m.text.includes(`removed ${cat.name}`))!.seq;
      const last = history.at(-1)!.seq;
      // Live order across nodes may differ from seq order (a node delivers its own sends at once,
      // the other node's a loop turn later); clients put them in order by seq. Counted here: each
      // seq once.
      const seqs = (s: TestSocket) => inbox.get(s)!.map((m) => m.seq).sort((x, y) => x - y);
      const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
      const dups = (xs: number[]) => xs.length - new Set(xs).size;
      // dan saw everything after the group was created, once, in order.
      expect(seqs(sDan)).toEqual(range(2, last));
      // bob and ann saw everything but their own sends (those came as acks).
      const own = (who: string) => acked.filter((m) => m.from === who).map((m) => m.seq);
      expect([...seqs(sBob), ...own(bob.name)].sort((x, y) => x - y)).toEqual(range(2, last));
      expect([...seqs(sAnn), ...own(ann.name)].sort((x, y) => x - y)).toEqual(range(2, last));
      // eve: everything from her addition on; cat: nothing after the removal, on either node.
      expect(seqs(sEve).filter((q) => q >= addSeq)).toEqual(range(addSeq, last));
      for (const s of [sCatA, sCatB]) {
        expect(Math.max(...seqs(s))).toBe(removeSeq);
        expect(dups(seqs(s))).toBe(0);
      }
      expect(new Set(acked.map((m) => m.seq)).size).toBe(acked.length);
      console.log(`two-node group: ${acked.length} sent and acked, ${history.length} stored (with 3 system), dan got ${seqs(sDan).length} lost ${last - 1 - seqs(sDan).length} dup ${dups(seqs(sDan))}; eve added at #${addSeq} got ${seqs(sEve).filter((q) => q >= addSeq).length}/${last - addSeq + 1}; cat removed at #${removeSeq} got ${seqs(sCatA).filter((q) => q > removeSeq).length} (A) + ${seqs(sCatB).filter((q) => q > removeSeq).length} (B) after`);
      for (const s of [sAnn, sBob, sCatA, sCatB, sDan, sEve]) s.close();
    });
  });
}
