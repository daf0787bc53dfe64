/**
 * Issue 25, items 4 and 5 on the scale-out engines: a removal's cut-off at its own notice (Redis
 * sequencing, Kafka, MongoDB), and a user re-enabled on one node let in at once by another.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, staticCredentials } from '../../src/client/api.js';
import { errorCode, registerUser, startDaemon, uniqueName, type TestDaemon, type TestUser } from '../support/daemon.js';
import { removalRounds } from '../support/removal.js';
import { isolation } from '../support/services.js';
import { services } from './env.js';

const env = services('MONGODB_URI', 'REDIS_URL', 'KAFKA_BROKERS');

if (env) {
  describe('25.4 and 25.5 on two scale-out nodes', () => {
    let a: TestDaemon;
    let b: TestDaemon;
    let root: TestUser;
    beforeAll(async () => {
      const shared = { ...isolation('membership').env(env), CHAT_GROUP_RATE_LIMIT: '100000', CHAT_MESSAGE_RATE_LIMIT: '100000' };
      a = await startDaemon(shared);
      b = await startDaemon(shared);
      root = await registerUser(a.url, uniqueName('root')); // the first account of this deployment: admin
    });
    afterAll(async () => {
      await a?.close();
      await b?.close();
    });

    it('every acked message sequenced before a removal notice is readable by its sender', async () => {
      expect(await removalRounds(a, 5)).toBe(0);
    }, 120_000);

    it('a user re-enabled by an admin on node A is let in by node B at once', async () => {
      const u = await registerUser(b.url);
      await root.api.adminUser(u.name, 'disable');
      // Node B reads the disabled record into its credential cache.
      const whileDisabled = await errorCode(new ApiClient(b.url, staticCredentials(u.auth.accessToken)).whoami());
      await root.api.adminUser(u.name, 'enable');
      const again = await new ApiClient(b.url).login(u.name, 'correct horse battery');
      const onB = await errorCode(new ApiClient(b.url, staticCredentials(again.accessToken)).whoami());
      console.log(`while disabled, on B -> ${whileDisabled}; enabled on A, then on B: GET /v1/me -> ${onB}`);
      expect(whileDisabled).toBe('CHAT_ERR_ACCOUNT_DISABLED');
      expect(onB).toBe('ok');
    });
  });
}
