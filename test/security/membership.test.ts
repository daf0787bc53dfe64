/**
 * Issue 25, items 4, 5 and 6: a removal's cut-off, a re-enabled account, and group handles.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ack, Message } from '../../src/protocol/index.js';
import { ApiClient, staticCredentials } from '../../src/client/api.js';
import { befriend, errorCode, openSocket, registerUser, startDaemon, uniqueName, type TestDaemon, type TestUser } from '../support/daemon.js';

/** A conversation's whole history as `u` may read it, page by page. */
async function everything(u: TestUser, peer: string): Promise<Message[]> {
  const out: Message[] = [];
  for (let after = 0; ;) {
    const page = await u.api.history(peer, { afterSeq: after, limit: 500 });
    out.push(...page);
    if (page.length < 500) return out;
    after = page.at(-1)!.seq;
  }
}

describe('25.4 a removed member reads everything sequenced before their removal', () => {
  let d: TestDaemon;
  beforeAll(async () => { d = await startDaemon({ CHAT_GROUP_RATE_LIMIT: '100000', CHAT_MESSAGE_RATE_LIMIT: '100000' }); });
  afterAll(async () => { await d.close(); });

  it('10 rounds of a member sending 150 messages while the owner removes them: every acked message before the notice is readable by its sender', async () => {
    const owner = await registerUser(d.url);
    const member = await registerUser(d.url);
    await befriend(owner, member);
    const s = await openSocket(d.url, member.auth.accessToken);
    const rounds: string[] = [];
    let unreadable = 0;
    for (let round = 0; round < 10; round++) {
      const handle = `cut${round}${uniqueName('g')}`.slice(0, 32);
      await owner.api.createGroup(handle, [member.name]);
      const acks: Promise<Ack<Message>>[] = [];
      for (let i = 0; i < 150; i++) acks.push(new Promise((r) => s.emit('message:send', { to: `#${handle}`, text: `m${i}` }, r)));
      // The removal lands somewhere in the middle of the burst.
      await new Promise((r) => setTimeout(r, round * 3));
      await owner.api.removeGroupMember(handle, member.name);
      const answered = await Promise.all(acks);
      const acked = answered.filter((a): a is { ok: true; data: Message } => a.ok).map((a) => a.data);
      const all = await everything(owner, `#${handle}`);
      const notice = all.find((m) => m.kind === 'system' && m.text.includes(`removed ${member.name}`))!;
      const before = acked.filter((m) => m.seq < notice.seq);
      const readable = await everything(member, `#${handle}`);
      const readIds = new Set(readable.map((m) => m.id));
      const missing = before.filter((m) => !readIds.has(m.id)).length;
      unreadable += missing;
      const after = readable.filter((m) => m.seq >= notice.seq).length;
      rounds.push(`round ${round}: acked ${acked.length}, before the notice (seq ${notice.seq}) ${before.length}, unreadable by their sender ${missing}, readable at or after the notice ${after}`);
      expect(after).toBe(0);
    }
    console.log(rounds.join('\n'));
    expect(unreadable).toBe(0);
    s.close();
  }, 120_000);
});

describe('25.5 a re-enabled user is let in at once', () => {
  let d: TestDaemon;
  beforeAll(async () => { d = await startDaemon(); });
  afterAll(async () => { await d.close(); });

  it('after enable, a fresh login works on the next request (the handshake cache forgot the disabled record)', async () => {
    const root = await registerUser(d.url, uniqueName('root'));
    const u = await registerUser(d.url);
    await root.api.adminUser(u.name, 'disable');
    // Reading the user while disabled puts the disabled record in the credential cache.
    const whileDisabled = await errorCode(u.api.whoami());
    await root.api.adminUser(u.name, 'enable');
    const t0 = performance.now();
    const again = await new ApiClient(d.url).login(u.name, 'correct horse battery');
    const me = await errorCode(new ApiClient(d.url, staticCredentials(again.accessToken)).whoami());
    const sock = await openSocket(d.url, again.accessToken).then((s) => { s.close(); return 'connected'; }, (e: Error & { data?: { code?: string } }) => e.data?.code ?? e.message);
    console.log(`while disabled -> ${whileDisabled}; after enable and login: GET /v1/me -> ${me}, socket -> ${sock} (${(performance.now() - t0).toFixed(0)} ms)`);
    expect(whileDisabled).toBe('CHAT_ERR_ACCOUNT_DISABLED');
    expect(me).toBe('ok');
    expect(sock).toBe('connected');
  });
});

describe('25.6 group handles are a public namespace, and probing it is rate limited', () => {
  it('a taken handle answers HANDLE_TAKEN to anyone (like a taken username at registration); attempts count against CHAT_GROUP_RATE_LIMIT', async () => {
    const d = await startDaemon({ CHAT_GROUP_RATE_LIMIT: '20' });
    try {
      const owner = await registerUser(d.url);
      await owner.api.createGroup('takenhandle');
      const prober = await registerUser(d.url);
      const answers: string[] = [];
      for (let i = 0; i < 30; i++) answers.push(await errorCode(prober.api.createGroup(i % 2 ? 'takenhandle' : `free${i}${uniqueName('h')}`.slice(0, 32))));
      const counts = answers.reduce<Record<string, number>>((m, a) => ({ ...m, [a]: (m[a] ?? 0) + 1 }), {});
      console.log('30 create attempts, every other one a taken handle, limit 20 a minute ->', counts);
      expect(answers.slice(0, 20).filter((a) => a === 'CHAT_ERR_HANDLE_TAKEN')).toHaveLength(10);
      expect(answers.slice(20).every((a) => a === 'CHAT_ERR_RATE_LIMITED')).toBe(true);
      // A non-member still learns nothing else about the group: not its members, name or history.
      expect(await errorCode(prober.api.group('takenhandle'))).toBe('CHAT_ERR_GROUP_NOT_FOUND');
    } finally {
      await d.close();
    }
  });
});
