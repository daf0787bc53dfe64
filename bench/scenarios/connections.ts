/** The connections scenario: authenticated connects per second and memory per idle connection. */
import { quick, type Target } from '../options.js';
import { forceGc, loadgen, serverMetrics, startServer, stopServer, users } from '../server.js';

export async function connectionsScenario(targets: Target[]) {
  const counts = quick ? [200] : [1000, 5000, 10000];
  const out: Record<string, { count: number; connectPerSec: number; rssPerConnKB: number; heapPerConnKB: number; rssMB: number; afterGc: { rssPerConnKB: number; heapPerConnKB: number; rssMB: number } }[]> = {};
  for (const target of targets) {
    out[target] = [];
    for (const count of counts) {
      const s = await startServer(target, { inspect: true });
      try {
        const list = await users(s, quick ? 10 : 100);
        await new Promise((r) => setTimeout(r, 500));
        const before = await serverMetrics(s);
        await forceGc(s);
        const beforeGc = await serverMetrics(s);
        const { proc, lines } = loadgen({ mode: 'connect', target: target === 'chatd-scaleout' ? 'chatd' : target, url: s.url, users: list, count });
        let res: { connected: number; connectPerSec: number } | undefined;
        for await (const l of lines) if (l.startsWith('{')) { res = JSON.parse(l); break; }
        await new Promise((r) => setTimeout(r, 2000));
        const after = await serverMetrics(s);
        // The same after a full GC: what the idle connections retain, without handshake garbage.
        await forceGc(s);
        await new Promise((r) => setTimeout(r, 500));
        const afterGc = await serverMetrics(s);
        proc.stdin!.end();
        await new Promise((r) => proc.on('exit', r));
        const perConn = (a: number, b: number) => Math.round(((b - a) / count / 1024) * 10) / 10;
        const row = {
          count, connectPerSec: res!.connectPerSec, rssPerConnKB: perConn(before.rss, after.rss), heapPerConnKB: perConn(before.heapUsed, after.heapUsed), rssMB: Math.round(after.rss / 1048576),
          afterGc: { rssPerConnKB: perConn(beforeGc.rss, afterGc.rss), heapPerConnKB: perConn(beforeGc.heapUsed, afterGc.heapUsed), rssMB: Math.round(afterGc.rss / 1048576) },
        };
        out[target].push(row);
        console.log(`connections ${target.padEnd(15)} ${String(count).padStart(6)}: connect ${row.connectPerSec}/s  RSS ${row.rssPerConnKB} KB/conn  heap ${row.heapPerConnKB} KB/conn  total RSS ${row.rssMB} MB; after a full GC: RSS ${row.afterGc.rssPerConnKB} KB/conn  heap ${row.afterGc.heapPerConnKB} KB/conn`);
      } finally {
        await stopServer(s);
      }
    }
  }
  return out;
}
