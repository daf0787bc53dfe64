/** The persist scenario: send to stored row, and the Kafka-to-MongoDB pipeline against the engine's raw insert ceiling. */
import { cpuPerDocText } from '../figures.js';
import { quick, type Target } from '../options.js';
import { json, runLoad, startServer, stopServer, users } from '../server.js';

interface FloodResult { total: number; acked: number; failed: number; seconds: number; ackedPerSec: number; ackMs: { p50: number; p99: number } }

/**
 * Send to stored row. Closed loop: 20 users in pairs keep 500 sends in flight in all, as fast
 * as acks return. Embedded: an ack means the row is committed, so acks/s is the figure.
 * Scale-out: the clock stops when the consumer has no lag and the failed store is empty,
 * that is when every acked message is a row in MongoDB. Then the pipeline alone: records
 * produced to Kafka beforehand, drained into MongoDB by chatd's persister.
 */
export async function persistScenario(targets: Target[]) {
  const total = quick ? 500 : 20_000;
  const out: Record<string, unknown> = {};
  for (const target of targets.filter((t) => t.startsWith('chatd'))) {
    const s = await startServer(target);
    try {
      const list = await users(s, 20);
      const admin = list[0]!.token;
      const t0 = Date.now();
      const r = await runLoad<FloodResult>({ mode: 'flood', target: 'chatd', url: s.url, users: list, total, inflight: 500, textBytes: 64 });
      const ackSeconds = (Date.now() - t0) / 1000;
      let measuredTo = 'ack (committed to SQLite)';
      if (target === 'chatd-scaleout') {
        measuredTo = 'consumer lag 0 and failed store empty (rows in MongoDB)';
        for (;;) {
          const st = await json<{ consumerLag: number | null; failedStore: number | null }>(`${s.url}/v1/admin/status`, { headers: { authorization: `Bearer ${admin}` } });
          if (st.consumerLag === 0 && st.failedStore === 0) break;
          await new Promise((res) => setTimeout(res, 100));
        }
      }
      const seconds = (Date.now() - t0) / 1000;
      const row = { messages: r.acked, failed: r.failed, perSec: Math.round(r.acked / seconds), seconds: Math.round(seconds * 100) / 100, ackedPerSec: Math.round(r.acked / ackSeconds), ackMs: r.ackMs, measuredTo };
      out[target] = row;
      console.log(`persist ${target.padEnd(15)} ${r.acked} messages (${r.failed} refused) in ${row.seconds}s = ${row.perSec}/s stored; acks ${row.ackedPerSec}/s, ack p50 ${r.ackMs.p50}ms p99 ${r.ackMs.p99}ms (${measuredTo})`);
    } finally {
      await stopServer(s, 'persist');
    }
  }
  if (targets.includes('chatd-scaleout')) {
    const { persistPipeline, rawInsertCeiling } = await import('./persist-pipeline.js');
    const total = quick ? 2000 : 100_000;
    // The pipeline first: the raw ceiling writes against the indexes its deployment made, with as
    // many writers as its persister runs.
    const r = await persistPipeline({ total, conversations: 50, batchSize: 5000, partitions: 6 });
    const raw = await rawInsertCeiling({ total, conversations: 50, batchSize: 5000, writers: r.writers });
    out['mongodb-raw-insert'] = raw;
    console.log(`persist mongodb-raw-insert ${raw.messages} documents bulk-inserted straight through the driver by ${raw.writers} writers in ${raw.seconds}s = ${raw.perSec}/s (the engine's ceiling here)${raw.cpuUsPerDoc ? `; ${cpuPerDocText(raw.cpuUsPerDoc)}` : ''}`);
    // Both runs saturate the same cores, so the ratio cannot exceed what they cost per document in
    // all (the engines, the broker and the writing process): that bound is reported beside it.
    const cpuSum = (cpu: Record<string, number> | null) => (cpu ? Object.values(cpu).reduce((a, b) => a + b, 0) : null);
    const rawCpu = cpuSum(raw.cpuUsPerDoc);
    const pipeCpu = cpuSum(r.cpuUsPerDoc);
    const cpuBound = rawCpu && pipeCpu ? Math.round((rawCpu / pipeCpu) * 100) / 100 : null;
    out['kafka-to-mongodb'] = { ...r, ratioToRawInsert: Math.round((r.perSec / raw.perSec) * 100) / 100, cpuUsPerDocTotal: pipeCpu, rawCpuUsPerDocTotal: rawCpu, ratioBoundByCpu: cpuBound };
    console.log(`persist kafka-to-mongodb ${r.messages} records produced in ${r.produceSeconds}s, drained into MongoDB in ${r.drainSeconds}s = ${r.perSec}/s (rows counted ${r.stored}), ${Math.round((r.perSec / raw.perSec) * 100)}% of the raw insert ceiling${r.cpuUsPerDoc ? `; ${cpuPerDocText(r.cpuUsPerDoc)}; ${pipeCpu} µs per document in all against the raw insert's ${rawCpu}: on shared cores the ratio is bound by ${cpuBound}` : ''}`);
  }
  return out;
}
