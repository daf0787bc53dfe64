/**
 * Issue 25, item 12: offered several times what it can take, a scale-out node sheds the rest with
 * coded answers and stays up; every acknowledged message is stored once, and a normal send works
 * afterwards. (The embedded node: test/security/overload.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerUser, befriend, tmpDir, waitFor } from '../support/daemon.js';
import { isolation } from '../support/services.js';
import { friendPairs, offer, peakRssMiB, verifyStored } from '../support/overload.js';
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
      const { report, acked } = await offer(chatd.url, pairs, 12_000, 10, 60);
      const alive = await fetch(new URL('/healthz', chatd.url)).then((r) => r.status, (e: Error) => e.message);
      // The persister drains Kafka into MongoDB: wait until every acked message reads back.
      let counts = await verifyStored(pairs, acked);
      await waitFor(async () => (counts = await verifyStored(pairs, acked)).lost === 0, 120_000, 2000).catch(() => {});
      const [a, b] = [await registerUser(chatd.url), await registerUser(chatd.url)];
      await befriend(a, b);
      const after = await a.api.sendRest({ to: b.name, text: 'after the storm' }).then(() => 'ok', (e: { code?: string }) => e.code);
      const errors = chatd.lines.filter((l) => /"level":(50|60)|Maximum call stack|not iterable|uncaught/i.test(l));
      console.log(`offered ${report.sent} in ${report.offeredFor.toFixed(1)} s -> answers ${JSON.stringify(report.answers)}, unanswered ${report.unanswered}, connections dropped ${report.disconnected}; ack p50/p99 ${report.p50?.toFixed(0)}/${report.p99?.toFixed(0)} ms`);
      console.log(`after: /healthz ${alive}; sent=${report.sent} acked=${counts.acked} stored=${counts.stored} duplicates=${counts.duplicates} lost=${counts.lost} seqGaps=${counts.seqGaps}; a normal send: ${after}; error lines: ${errors.length}; chatd's peak RSS ${peakRssMiB(chatd.child.pid)} MiB`);
      expect(chatd.child.exitCode).toBeNull();
      expect(alive).toBe(200);
      expect(report.disconnected).toBe(0);
      expect(report.unanswered).toBe(0);
      for (const code of Object.keys(report.answers)) expect(['ok', 'CHAT_ERR_UNAVAILABLE']).toContain(code);
      expect(counts.lost).toBe(0);
      expect(counts.duplicates).toBe(0);
      expect(counts.seqGaps).toBe(0);
      expect(after).toBe('ok');
      expect(errors).toEqual([]);
    }, 300_000);
  });
}
