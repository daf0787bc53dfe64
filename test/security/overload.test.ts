/**
 * Issue 25, item 12, on the embedded node: offered more than it can take, it sheds the rest with
 * coded answers, stays up, stores every acknowledged message once, and sends normally afterwards.
 * (The scale-out node: test/services/overload.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { befriend, registerUser, tmpDir } from '../support/daemon.js';
import { friendPairs, offer, peakRssMiB, verifyStored } from '../support/overload.js';
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
    const { report, acked } = await offer(chatd.url, pairs, 45_000, 8, 60, 3);
    const alive = await fetch(new URL('/healthz', chatd.url)).then((r) => r.status, (e: Error) => e.message);
    const counts = await verifyStored(pairs, acked);
    const [a, b] = [await registerUser(chatd.url), await registerUser(chatd.url)];
    await befriend(a, b);
    const after = await a.api.sendRest({ to: b.name, text: 'after the storm' }).then(() => 'ok', (e: { code?: string }) => e.code);
    const errors = chatd.lines.filter((l) => /"level":(50|60)|Maximum call stack|uncaught/i.test(l));
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
  }, 180_000);
});
