import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import type { Message } from '../../src/protocol/index.js';
import { befriend, registerUser, tmpDir, waitFor, type TestUser } from './daemon.js';
import type { spawnChatd } from './procs.js';

const GENERATOR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'overload.mjs');

export interface OverloadReport {
  sent: number;
  offeredFor: number;
  answers: Record<string, number>;
  unanswered: number;
  disconnected: number;
  p50: number | null;
  p99: number | null;
}

/** `n` pairs of friends on a chatd: each pair's first user sends to the second. */
export async function friendPairs(url: string, n: number): Promise<[TestUser, TestUser][]> {
  const out: [TestUser, TestUser][] = [];
  for (let i = 0; i < n; i++) {
    const a = await registerUser(url);
    const b = await registerUser(url);
    await befriend(a, b);
    out.push([a, b]);
  }
  return out;
}

/**
 * Offers `rate` messages a second for `seconds` from test/support/overload.mjs (open loop: it never
 * waits for an ack before the next send), split over `processes` generator processes (one tops out
 * near 19k msg/s here), then waits up to `drainSeconds` for the acks still out. Returns the reports
 * summed, and every acknowledged message (id, conversation, seq).
 */
export async function offer(url: string, pairs: [TestUser, TestUser][], rate: number, seconds: number, drainSeconds = 30, processes = 1): Promise<{ report: OverloadReport; acked: [string, string, number][] }> {
  const runs = await Promise.all(Array.from({ length: processes }, async (_, p) => {
    const mine = pairs.filter((_, i) => i % processes === p);
    const file = path.join(tmpDir('chat-overload-'), 'acked.json');
    const senders = mine.map(([a, b]) => ({ token: a.auth.accessToken, to: b.name }));
    const child = spawn(process.execPath, [GENERATOR, url, JSON.stringify(senders), String(rate / processes), String(seconds), String(drainSeconds), file], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
    const code = await new Promise<number | null>((r) => child.on('close', r));
    if (code !== 0) throw new Error(`the load generator exited ${code}: ${out}`);
    return { report: JSON.parse(out) as OverloadReport, acked: JSON.parse(fs.readFileSync(file, 'utf8')) as [string, string, number][] };
  }));
  const answers: Record<string, number> = {};
  for (const r of runs) for (const [k, n] of Object.entries(r.report.answers)) answers[k] = (answers[k] ?? 0) + n;
  const report: OverloadReport = {
    sent: runs.reduce((n, r) => n + r.report.sent, 0),
    offeredFor: Math.max(...runs.map((r) => r.report.offeredFor)),
    answers,
    unanswered: runs.reduce((n, r) => n + r.report.unanswered, 0),
    disconnected: runs.reduce((n, r) => n + r.report.disconnected, 0),
    // The worst generator's percentiles: each saw its own share of the load.
    p50: Math.max(...runs.map((r) => r.report.p50 ?? 0)),
    p99: Math.max(...runs.map((r) => r.report.p99 ?? 0)),
  };
  return { report, acked: runs.flatMap((r) => r.acked) };
}

/**
 * Reads every pair's conversation back through REST history and counts, for the acknowledged
 * messages: stored, stored more than once (by id or by clientMsgId), and lost.
 */
export async function verifyStored(pairs: [TestUser, TestUser][], acked: [string, string, number][]): Promise<{ acked: number; stored: number; duplicates: number; lost: number; seqGaps: number }> {
  const byId = new Map<string, number>();
  const byClientId = new Map<string, number>();
  let seqGaps = 0;
  for (const [a, b] of pairs) {
    let after = 0;
    let expected = 1;
    for (;;) {
      const page: Message[] = await b.api.history(a.name, { afterSeq: after, limit: 500 });
      for (const m of page) {
        byId.set(m.id, (byId.get(m.id) ?? 0) + 1);
        if (m.clientMsgId) byClientId.set(m.clientMsgId, (byClientId.get(m.clientMsgId) ?? 0) + 1);
        if (m.seq !== expected) seqGaps++;
        expected = m.seq + 1;
      }
      if (page.length < 500) break;
      after = page.at(-1)!.seq;
    }
  }
  let stored = 0;
  let lost = 0;
  for (const [id] of acked) {
    if (byId.has(id)) stored++;
    else lost++;
  }
  const duplicates = [...byId.values(), ...byClientId.values()].filter((n) => n > 1).length;
  return { acked: acked.length, stored, duplicates, lost, seqGaps };
}

/** A process's peak resident memory in MiB (VmHWM), from /proc. */
export function peakRssMiB(pid: number | undefined): number | null {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : null;
  } catch {
    return null;
  }
}

/**
 * After an overload run against a chatd process: it is still running and answers /healthz, no
 * connection was dropped and every send was answered, only with ok or CHAT_ERR_UNAVAILABLE; every
 * acknowledged message reads back once, in seq order without gaps (waiting up to `storedWithinMs`
 * for a pipeline to drain); a new pair's send works; and chatd logged no error. Prints the counts.
 */
export async function expectSurvived(chatd: Awaited<ReturnType<typeof spawnChatd>>, pairs: [TestUser, TestUser][], run: { report: OverloadReport; acked: [string, string, number][] }, storedWithinMs = 0) {
  const { report, acked } = run;
  const alive = await fetch(new URL('/healthz', chatd.url)).then((r) => r.status, (e: Error) => e.message);
  let counts = await verifyStored(pairs, acked);
  if (counts.lost > 0 && storedWithinMs > 0) await waitFor(async () => (counts = await verifyStored(pairs, acked)).lost === 0, storedWithinMs, 2000).catch(() => {});
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
}
