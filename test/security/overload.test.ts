/**
 * Issue 25, item 12, on the embedded node: offered more than it can take, it sheds the rest with
 * coded answers, stays up, stores every acknowledged message once, and sends normally afterwards.
 * (The scale-out node: test/real-engines/overload.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tmpDir } from '../support/daemon.js';
import { expectSurvived, friendPairs, offer } from '../support/overload.js';
import { spawnChatd } from '../support/procs.js';

describe('25.12 overload on the embedded node', () => {
  let chatd: Awaited<ReturnType<typeof spawnChatd>>;
  beforeAll(async () => {
    chatd = await spawnChatd(tmpDir(), { CHAT_MESSAGE_RATE_LIMIT: '10000000', CHAT_REQUEST_RATE_LIMIT: '100000', CHAT_MAX_PENDING_CONNECTIONS: '1000', CHAT_MAX_QUEUED_MESSAGES: '2000' });
  });
  afterAll(async () => {
    chatd.child.kill('SIGTERM');
    await chatd.exited;
  });

  it('offered 45,000 msg/s for 8 s from 50 pairs in 3 processes (about twice what one node takes here): the node stays up, sheds with coded answers, stores every acked message once', async () => {
    const pairs = await friendPairs(chatd.url, 50);
    const run = await offer(chatd.url, pairs, 45_000, 8, 60, 3);
    await expectSurvived(chatd, pairs, run);
  }, 180_000);
});
