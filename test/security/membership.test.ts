/**
 * Issue 25, items 4, 5 and 6: a removal's cut-off, a re-enabled account, and group handles.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, staticCredentials } from '../../src/client/api.js';
import { errorCode, openSocket, registerUser, startDaemon, uniqueName, type TestDaemon } from '../support/daemon.js';
import { removalRounds } from '../support/removal.js';

describe('25.4 a removed member reads everything sequenced before their removal', () => {
  let d: TestDaemon;
  beforeAll(async () => { d = await startDaemon({ CHAT_GROUP_RATE_LIMIT: '100000', CHAT_MESSAGE_RATE_LIMIT: '100000' }); });
  afterAll(async () => { await d.close(); });

  it('10 rounds of a member sending 150 messages while the owner removes them: every acked message before the notice is readable by its sender', async () => {
    expect(await removalRounds(d)).toBe(0);
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
