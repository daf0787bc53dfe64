/**
 * Issue 25, item 12: offered several times what it can take, a scale-out node sheds the rest with
 * coded answers and stays up; every acknowledged message is stored once, and a normal send works
 * afterwards. (The embedded node: test/security/overload.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tmpDir } from '../support/daemon.js';
import { isolation } from '../support/services.js';
import { expectSurvived, friendPairs, offer } from '../support/overload.js';
import { spawnChatd } from '../support/procs.js';
import { services } from './env.js';

const env = services('MONGODB_URI', 'REDIS_URL', 'KAFKA_BROKERS');

if (env) {
  describe('25.12 overload on a scale-out node', () => {
    let chatd: Awaited<ReturnType<typeof spawnChatd>>;
    beforeAll(async () => {
      chatd = await spawnChatd(tmpDir(), { ...isolation('overload').env(env), CHAT_MESSAGE_RATE_LIMIT: '10000000', CHAT_REQUEST_RATE_LIMIT: '100000', CHAT_MAX_PENDING_CONNECTIONS: '1000' });
    }, 60_000);
    afterAll(async () => {
      chatd.child.kill('SIGTERM');
      await chatd.exited;
    });

    it('12,000 msg/s offered for 10 s from 50 pairs: the node stays up, sheds with coded answers, stores every acked message once', async () => {
      const pairs = await friendPairs(chatd.url, 50);
      const run = await offer(chatd.url, pairs, 12_000, 10, 60);
      await expectSurvived(chatd, pairs, run, 120_000);
    }, 300_000);
  });
}
