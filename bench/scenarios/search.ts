/**
 * The search scenario (issue 29), embedded deployment:
 * 1. A store of `total` messages (1M; 20k with --quick) in 2000 direct conversations of 200 users,
 *    texts of 6 to 14 words drawn from a 5000-word vocabulary with Zipf frequencies, written
 *    straight into the data dir of a chatd that ran with the index off (as an older chatd left it).
 * 2. chatd started on it with the index on: the backfill's rate (rows per second, from its log).
 * 3. Queries by one user (20 conversations, about 1% of the store): two common words (each in
 *    1-10% of messages), ranked, then the same newest first; p50 and p99 over HTTP, one at a time.
 * 4. The send rate with the index on against off: two chatd, the same stepped open-loop dm load
 *    with texts of words, interleaved rate by rate; server CPU per message and the highest rate
 *    passed (p99 <= 100 ms, nothing lost). Target: on >= 0.9x off.
 * 5. With the engines (OPENSEARCH_URL too), scale-out: see scaleoutSearch below.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { median, busyRetries, nextMove, verdict, verdictText, type Verdict } from '../figures.js';
import { client, onlyRates, quick, scaleout as scaleoutEnv, type Target } from '../options.js';
import { json, runLoad, serverMetrics, startServer, stopServer, users, type Server } from '../server.js';
import type { DmStep } from './dm.js';

const VOCABULARY = 5000;
const USERS = 200;
const PEERS = 10;

/** A deterministic pseudo-random generator (mulberry32), so every run searches the same store. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Pronounceable distinct words: w0 = "ba", ... (syllables from the index). */
function word(i: number): string {
  const syl = ['ba', 'ko', 'ri', 'te', 'mu', 'sa', 'ne', 'lo', 'fi', 'du', 'ga', 'pe', 'zo', 'hi', 'va', 'ju'];
  let s = '';
  let n = i + 1;
  while (n > 0) { s += syl[n % 16]; n = Math.floor(n / 16); }
  return s;
}

/** Zipf(1) ranks by inverse CDF over VOCABULARY words. */
function zipf(random: () => number): () => number {
  const h: number[] = [];
  let sum = 0;
  for (let k = 1; k <= VOCABULARY; k++) { sum += 1 / k; h.push(sum); }
  return () => {
    const x = random() * sum;
    let lo = 0;
    let hi = h.length - 1;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (h[mid]! < x) lo = mid + 1; else hi = mid; }
    return lo;
  };
}

const pct = (xs: number[], p: number) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!; };
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

interface Seeded { id: string; conversationId: string; seq: number; from: string; to: string; text: string; createdAt: string }

/**
 * The bench's store: `total` messages in the direct conversations of each user with their next
 * PEERS users, one second apart from 2026-01-01, in chunks (the same every run: seeded).
 */
function* corpus(names: string[], total: number, chunk: number): Generator<Seeded[]> {
  const random = rng(29);
  const rank = zipf(random);
  const convs: { id: string; a: string; b: string }[] = [];
  for (let i = 0; i < names.length; i++) {
    for (let k = 1; k <= PEERS; k++) {
      const [a, b] = [names[i]!, names[(i + k) % names.length]!].sort() as [string, string];
      convs.push({ id: `dm:${a}:${b}`, a, b });
    }
  }
  const seqs = new Map<string, number>();
  const start = Date.parse('2026-01-01T00:00:00Z');
  for (let done = 0; done < total; done += chunk) {
    const out: Seeded[] = [];
    for (let i = done; i < Math.min(total, done + chunk); i++) {
      const c = convs[Math.floor(random() * convs.length)]!;
      const seq = (seqs.get(c.id) ?? 0) + 1;
      seqs.set(c.id, seq);
      const n = 6 + Math.floor(random() * 9);
      const text = Array.from({ length: n }, () => word(rank())).join(' ');
      const from = random() < 0.5 ? c.a : c.b;
      out.push({ id: crypto.randomUUID(), conversationId: c.id, seq, from, to: from === c.a ? c.b : c.a, text, createdAt: new Date(start + i * 1000).toISOString() });
    }
    yield out;
  }
}

const conversationsOf = (names: string[]) => new Set(names.flatMap((a, i) => Array.from({ length: PEERS }, (_, k) => [a, names[(i + k + 1) % names.length]!].sort().join(':')))).size;

/** Writes `total` messages into a stopped chatd's data dir, in conversations between its users. */
async function seedStore(dir: string, names: string[], total: number) {
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(path.join(dir, 'chat.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  const addConv = db.prepare('INSERT OR IGNORE INTO conversations (id, member_a, member_b, last_seq, updated_at) VALUES (?, ?, ?, 1, ?)');
  const insert = db.prepare("INSERT INTO messages (id, conversation_id, seq, from_user, to_user, text, kind, created_at) VALUES (?, ?, ?, ?, ?, ?, 'user', ?)");
  const t0 = Date.now();
  for (const chunk of corpus(names, total, 50_000)) {
    db.transaction(() => {
      for (const m of chunk) {
        if (m.seq === 1) addConv.run(m.conversationId, ...m.conversationId.slice(3).split(':'), m.createdAt);
        insert.run(m.id, m.conversationId, m.seq, m.from, m.to, m.text, m.createdAt);
      }
    })();
  }
  db.close();
  return { conversations: conversationsOf(names), seedSeconds: round((Date.now() - t0) / 1000, 1) };
}

/** Waits for chatd's log line that ends the backfill: { rows, ms }. */
function backfillDone(s: Server): Promise<{ rows: number; ms: number }> {
  return new Promise((resolve) => {
    let buf = '';
    const on = (c: Buffer) => {
      buf += c.toString();
      const line = buf.split('\n').find((l) => l.includes('every stored message is indexed'));
      if (line) { s.proc.stdout!.off('data', on); const j = JSON.parse(line) as { rows: number; ms: number }; resolve({ rows: j.rows, ms: j.ms }); }
      buf = buf.slice(buf.lastIndexOf('\n') + 1);
    };
    s.proc.stdout!.on('data', on);
  });
}

async function queries(s: Server, token: string, n: number, sort: 'relevance' | 'recent') {
  const random = rng(7);
  const times: number[] = [];
  let hits = 0;
  for (let i = 0; i < n; i++) {
    // Two common words (ranks 5-200 of 5000: each in 1-10% of messages).
    const q = `${word(5 + Math.floor(random() * 195))} ${word(5 + Math.floor(random() * 195))}`;
    const t = performance.now();
    const r = await json<{ hits: unknown[] }>(`${s.url}/v1/search?q=${encodeURIComponent(q)}&sort=${sort}&limit=20`, { headers: { authorization: `Bearer ${token}` } });
    times.push(performance.now() - t);
    hits += r.hits.length;
  }
  return { queries: n, p50Ms: round(pct(times, 50)), p99Ms: round(pct(times, 99)), maxMs: round(Math.max(...times)), meanHits: round(hits / n, 1) };
}

/** `targets`: chatd runs the embedded parts (1-4), chatd-scaleout the scale-out part (5); both by default. */
export async function searchScenario(targets: Target[] = ['chatd', 'chatd-scaleout']) {
  const embedded = targets.includes('chatd') ? await embeddedSearch() : undefined;
  const wantScaleout = targets.includes('chatd-scaleout');
  if (wantScaleout && !scaleoutReady) console.log('search: scale-out part skipped (needs MONGODB_URI, REDIS_URL, KAFKA_BROKERS and OPENSEARCH_URL: npm run services:up && source .services/env)');
  const scaleout = wantScaleout && scaleoutReady ? await scaleoutSearch() : undefined;
  return { ...embedded, ...(scaleout ? { scaleout } : {}) };
}

async function embeddedSearch() {
  const total = quick ? 20_000 : 1_000_000;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chat-bench-search-'));
  let store: Record<string, unknown> = {};
  let query: Record<string, unknown> = {};
  try {
    // 1. The store, as an older chatd (no index) would have left it.
    const seed = await startServer('chatd', { dataDir: dir, env: { CHAT_SEARCH_INDEX: 'off' } });
    const list = await users(seed, quick ? 20 : USERS, 'srch');
    await stopServer(seed);
    const seeded = await seedStore(dir, list.map((u) => u.name), total);
    console.log(`search: seeded ${total} messages in ${seeded.conversations} conversations in ${seeded.seedSeconds} s`);
    // 2. The backfill.
    const s = await startServer('chatd', { dataDir: dir, env: { CHAT_SEARCH_RATE_LIMIT: '1000000', CHAT_LOOKUP_RATE_LIMIT: '1000000' } });
    try {
      const done = await backfillDone(s);
      const rate = Math.round(done.rows / (done.ms / 1000));
      console.log(`search: backfill indexed ${done.rows} messages in ${round(done.ms / 1000, 1)} s (${rate}/s)`);
      const size = fs.readdirSync(dir).filter((f) => f.startsWith('chat.db')).reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0);
      store = { messages: total, ...seeded, backfillRows: done.rows, backfillSeconds: round(done.ms / 1000, 1), backfillPerSec: rate, fileMB: round(size / 2 ** 20, 1) };
      // 3. Queries by one user (in 2 x PEERS conversations).
      const token = list[0]!.token;
      const n = quick ? 50 : 300;
      await queries(s, token, 20, 'relevance'); // warm the page cache
      const ranked = await queries(s, token, n, 'relevance');
      const recent = await queries(s, token, n, 'recent');
      console.log(`search: two-word queries of one user (${2 * PEERS} conversations), ranked: p50 ${ranked.p50Ms} ms p99 ${ranked.p99Ms} ms (${ranked.meanHits} hits); newest first: p50 ${recent.p50Ms} ms p99 ${recent.p99Ms} ms`);
      query = { ranked, recent, p99TargetMs: 50, ranked99Met: ranked.p99Ms <= 50 };
    } finally {
      await stopServer(s);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const sends = await indexOnOff();
  return { store, query, sends };
}

const scaleoutReady = scaleoutEnv && !!process.env.OPENSEARCH_URL;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * 5. Scale-out: a chatd with the search feeder, on its own topic, database and index.
 *    - The same corpus (200k messages; 20k with --quick) written into its MongoDB, then indexed
 *      by `chat admin reindex` (the route): its rate.
 *    - The same queries as the embedded ones, over HTTP: p50 and p99 (OpenSearch's answer, then
 *      the hits read back from the log).
 *    - The indexing lag at a fixed send rate: during a dm load at a quarter of scale-out's recorded
 *      maximum, a probe message every 100 ms over REST, each timed from its acknowledgement until
 *      OpenSearch finds it (after a refresh, as a search would: refresh_interval is 1 s).
 */
async function scaleoutSearch() {
  const total = quick ? 20_000 : 200_000;
  const index = `bench-search-${Date.now().toString(36)}`;
  const { Client } = await import('@opensearch-project/opensearch');
  const opensearch = new Client({ node: process.env.OPENSEARCH_URL! });
  const s = await startServer('chatd-scaleout', { env: { OPENSEARCH_URL: process.env.OPENSEARCH_URL, CHAT_OPENSEARCH_INDEX: index, CHAT_SEARCH_RATE_LIMIT: '1000000', CHAT_LOOKUP_RATE_LIMIT: '1000000' } });
  try {
    const list = await users(s, quick ? 20 : USERS, 'srch');
    // The deployment's own database, through the factory chatd builds it with (nothing else of it is started).
    const { createDeployment } = await import('../../src/daemon/deployments/index.js');
    const { loadConfig } = await import('../../src/daemon/config.js');
    const { default: pino } = await import('pino');
    const seedDir = fs.mkdtempSync(path.join(os.tmpdir(), 'chat-bench-seed-'));
    const { config } = loadConfig({ env: { ...process.env, ...s.env, CHAT_DATA_DIR: seedDir } as Record<string, string> });
    // Its store part (the database behind the ports), started alone: the messages written as the persister writes them.
    const part = createDeployment(config, pino({ level: 'error' })).parts().find(([role]) => role === 'store')?.[1];
    if (!part) throw new Error('the scale-out deployment has no store part');
    const db = part as typeof part & { archive: { insertMessages(m: unknown[]): Promise<unknown>; get(c: string, seqs: number[]): Promise<unknown> } };
    await db.start();
    const t0 = performance.now();
    let seedSeconds: number;
    const reads: number[] = [];
    try {
      for (const chunk of corpus(list.map((u) => u.name), total, 5000)) await db.archive.insertMessages(chunk.map((m) => ({ ...m, kind: 'user' as const })));
      seedSeconds = round((performance.now() - t0) / 1000, 1);
      // The baseline for reading hits back: one message by conversation and seq, straight from the store, as the log reads it.
      for (let i = 0; i < 50; i++) {
        const conv = `dm:${[list[i % list.length]!.name, list[(i + 1) % list.length]!.name].sort().join(':')}`;
        const t = performance.now();
        await db.archive.get(conv, [1 + (i % 5)]);
        reads.push(performance.now() - t);
      }
    } finally {
      await db.close();
      fs.rmSync(seedDir, { recursive: true, force: true });
    }
    const storeRead = { p50Ms: round(pct(reads, 50)), p99Ms: round(pct(reads, 99)) };
    console.log(`search scale-out: seeded ${total} messages into MongoDB in ${seedSeconds} s`);
    console.log(`search scale-out: one message read from the store by conversation and seq (the read-back of a hit): p50 ${storeRead.p50Ms} ms p99 ${storeRead.p99Ms} ms`);
    const admin = { authorization: `Bearer ${list[0]!.token}` };
    const t1 = performance.now();
    const { indexed } = await json<{ indexed: number }>(`${s.url}/v1/admin/search/reindex`, { method: 'POST', headers: admin });
    const reindexSeconds = (performance.now() - t1) / 1000;
    await opensearch.indices.refresh({ index });
    const reindex = { messages: indexed, seconds: round(reindexSeconds, 1), perSec: Math.round(indexed / reindexSeconds) };
    console.log(`search scale-out: chat admin reindex indexed ${indexed} messages in ${reindex.seconds} s (${reindex.perSec}/s)`);
    const n = quick ? 50 : 300;
    await queries(s, list[0]!.token, 20, 'relevance');
    const ranked = await queries(s, list[0]!.token, n, 'relevance');
    const recent = await queries(s, list[0]!.token, n, 'recent');
    console.log(`search scale-out: two-word queries of one user (${2 * PEERS} conversations), ranked: p50 ${ranked.p50Ms} ms p99 ${ranked.p99Ms} ms (${ranked.meanHits} hits); newest first: p50 ${recent.p50Ms} ms p99 ${recent.p99Ms} ms`);
    // OpenSearch's own answer to the same queries (the same body chatd sends, minus reading the hits back).
    const names = list.map((u) => u.name);
    const mine = [...new Set(names.flatMap((a, i) => Array.from({ length: PEERS }, (_, k) => [a, names[(i + k + 1) % names.length]!].sort().join(':'))))].filter((p) => p.split(':').includes(names[0]!)).map((p) => `dm:${p}`);
    await direct(opensearch, index, mine, 20, 'relevance');
    const engine = { ranked: await direct(opensearch, index, mine, n, 'relevance'), recent: await direct(opensearch, index, mine, n, 'recent') };
    console.log(`search scale-out: the same queries straight to OpenSearch (no read-back), ranked: p50 ${engine.ranked.p50Ms} ms p99 ${engine.ranked.p99Ms} ms; newest first: p50 ${engine.recent.p50Ms} ms p99 ${engine.recent.p99Ms} ms`);
    const lag = await indexingLag(s, opensearch, index);
    return { store: { messages: total, seedSeconds, storeRead }, reindex, query: { ranked, recent }, engine, lag };
  } finally {
    await stopServer(s);
    await opensearch.indices.delete({ index }).catch(() => undefined);
    await opensearch.indices.deleteIndexTemplate({ name: index }).catch(() => undefined);
    await opensearch.close();
  }
}

/** The queries of `queries` (same words, same order), as chatd's OpenSearch index builds them, sent straight to OpenSearch. */
async function direct(opensearch: OpenSearchClient, index: string, conversations: string[], n: number, sort: 'relevance' | 'recent') {
  const random = rng(7);
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const words = [word(5 + Math.floor(random() * 195)), word(5 + Math.floor(random() * 195))];
    const body = {
      query: { bool: { filter: [{ bool: { minimum_should_match: 1, should: [{ terms: { conversationId: conversations } }] } }], must: words.map((w) => ({ match_phrase: { text: w } })), must_not: [] } },
      sort: sort === 'recent' ? [{ createdAt: 'desc' }, { conversationId: 'asc' }, { seq: 'desc' }] : ['_score', { createdAt: 'desc' }],
      size: 21, _source: ['conversationId', 'seq'], track_total_hits: false,
    };
    const t = performance.now();
    await opensearch.search({ index, body } as never);
    times.push(performance.now() - t);
  }
  return { queries: n, p50Ms: round(pct(times, 50)), p99Ms: round(pct(times, 99)) };
}

type OpenSearchClient = InstanceType<typeof import('@opensearch-project/opensearch').Client>;

async function indexingLag(s: Server, opensearch: OpenSearchClient, index: string) {
  const rate = quick ? 100 : 1000;
  const durationMs = quick ? 3000 : 20_000;
  const pairs = quick ? 4 : 20;
  const load = await users(s, pairs * 2, 'lagl');
  const [pa, pb] = await users(s, 2, 'lagp');
  const job = { mode: 'dm' as const, target: 'chatd' as const, client, url: s.url, users: load, textBytes: 64, prose: true, serverPids: [s.proc.pid!] };
  await runLoad<DmStep>({ ...job, rate: Math.min(rate, 200), durationMs: quick ? 500 : 2000 });
  const probes: { word: string; id: string; acked: number; found?: number }[] = [];
  let sending = true;
  const sender = (async () => {
    for (let i = 0; sending; i++) {
      const word = `probe${i}q${Date.now().toString(36)}`;
      const m = await json<{ conversationId: string; seq: number }>(`${s.url}/v1/messages`, { method: 'POST', headers: { authorization: `Bearer ${pa!.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ to: pb!.name, text: `lag ${word}` }) });
      probes.push({ word, id: `${m.conversationId}#${m.seq}`, acked: performance.now() });
      await sleep(100);
    }
  })();
  let polling = true;
  const poller = (async () => {
    while (polling) {
      const pending = probes.filter((p) => p.found === undefined);
      if (pending.length) {
        const r = await opensearch.search({ index, body: { query: { terms: { text: pending.map((p) => p.word) } }, size: pending.length, _source: false } } as never);
        const now = performance.now();
        const ids = new Set((r.body as { hits: { hits: { _id: string }[] } }).hits.hits.map((h) => h._id));
        for (const p of pending) if (ids.has(p.id)) p.found = now;
      }
      await sleep(20);
    }
  })();
  const step = await runLoad<DmStep>({ ...job, rate, durationMs, warmupMs: 0 });
  sending = false;
  await sender;
  const deadline = Date.now() + 30_000;
  while (probes.some((p) => p.found === undefined) && Date.now() < deadline) await sleep(50);
  polling = false;
  await poller;
  const lags = probes.filter((p) => p.found !== undefined).map((p) => p.found! - p.acked);
  const out = { rate, durationMs, probes: probes.length, found: lags.length, p50Ms: round(pct(lags, 50), 0), p99Ms: round(pct(lags, 99), 0), maxMs: round(Math.max(...lags), 0), load: { deliveredPerSec: step.deliveredPerSec, p99Ms: step.e2eMs.p99, lost: step.lost, loadgenCpuPct: step.loadgenCpuPct, verdict: verdict(step) } };
  console.log(`search scale-out: indexing lag at ${rate} msg/s (${probes.length} probes, ${lags.length} found): p50 ${out.p50Ms} ms p99 ${out.p99Ms} ms max ${out.maxMs} ms; the load: delivered ${step.deliveredPerSec}/s p99 ${step.e2eMs.p99} ms lost ${step.lost}${verdictText(out.load.verdict)}`);
  return out;
}

type Mode = 'on' | 'off';

/** The dm send path with the index on and off, interleaved rate by rate on two chatd. */
async function indexOnOff() {
  const rates = onlyRates ?? (quick ? [200, 400] : [2000, 4000, 6000, 8000, 10000, 12000, 14000, 16000, 18000, 20000, 22000, 24000]);
  const pairs = quick ? 4 : 50;
  const durationMs = quick ? 1500 : 5000;
  const warmupMs = quick ? 200 : 1000;
  const servers: Record<Mode, Server> = { on: await startServer('chatd'), off: await startServer('chatd', { env: { CHAT_SEARCH_INDEX: 'off' } }) };
  const steps: Record<Mode, (DmStep & { serverCpuUsPerMessage?: number })[]> = { on: [], off: [] };
  const maxRate: Record<Mode, number> = { on: 0, off: 0 };
  const failed = new Set<Mode>();
  try {
    const lists = { on: await users(servers.on, pairs * 2), off: await users(servers.off, pairs * 2) };
    const job = (m: Mode) => ({ mode: 'dm' as const, target: 'chatd' as const, client, url: servers[m].url, users: lists[m], textBytes: 64, prose: true, serverPids: [servers.on.proc.pid!, servers.off.proc.pid!] });
    for (const m of ['on', 'off'] as const) await runLoad<DmStep>({ ...job(m), rate: Math.min(rates[0]!, 200), durationMs: quick ? 500 : 2000 });
    for (const rate of rates) {
      for (const m of ['on', 'off'] as const) {
        if (failed.has(m)) continue;
        let r: DmStep;
        let v: Verdict;
        let cpu: number | undefined;
        for (let attempt = 0; ; attempt++) {
          const before = await serverMetrics(servers[m]).catch(() => null);
          r = await runLoad<DmStep>({ ...job(m), rate, durationMs, warmupMs });
          const after = await serverMetrics(servers[m]).catch(() => null);
          cpu = before?.cpuSeconds !== undefined && after?.cpuSeconds !== undefined && r.sent > 0 ? Math.round(((after.cpuSeconds - before.cpuSeconds) / r.sent) * 1e7) / 10 : undefined;
          v = verdict(r);
          if (nextMove(v, attempt, busyRetries(quick)) !== 'again') break;
          console.log(`search sends (index ${m}) rate ${rate}: the machine was busy; running the step again`);
        }
        steps[m].push({ ...r, verdict: v, ...(cpu !== undefined ? { serverCpuUsPerMessage: cpu } : {}) });
        const pass = r.lost === 0 && r.dup === 0 && r.e2eMs.p99 <= 100 && v === 'counts';
        console.log(`search sends index ${m.padEnd(3)} rate ${String(rate).padStart(6)}/s  delivered ${String(r.deliveredPerSec).padStart(6)}/s  p99 ${r.e2eMs.p99}ms  lost ${r.lost} dup ${r.dup}  loadgen cpu ${r.loadgenCpuPct}%${cpu !== undefined ? `  server CPU ${cpu}us/message` : ''}${pass ? '' : '  ✗'}${verdictText(v)}`);
        if (pass) maxRate[m] = rate;
        else failed.add(m);
      }
      if (failed.size === 2) break;
    }
  } finally {
    await stopServer(servers.on);
    await stopServer(servers.off);
  }
  const ratios = steps.on.map((on, i) => ({ rate: on.offeredRate, on: on.serverCpuUsPerMessage, off: steps.off[i]?.serverCpuUsPerMessage }))
    .filter((x) => x.on !== undefined && x.off !== undefined && steps.off.find((o) => o.offeredRate === x.rate)?.verdict === 'counts')
    .map((x) => ({ rate: x.rate, cpuOnToOff: round(x.on! / x.off!) }));
  const rateRatio = maxRate.off > 0 ? round(maxRate.on / maxRate.off) : null;
  const cpuRatio = ratios.length ? median(ratios.map((x) => x.cpuOnToOff)) : null;
  console.log(`search: send rate with the index on ${maxRate.on}/s against off ${maxRate.off}/s: ${rateRatio ?? '-'}x (target >= 0.9: ${rateRatio !== null && rateRatio >= 0.9 ? 'met' : 'not met'}); server CPU per message on/off (median over ${ratios.length} rates): ${cpuRatio ?? '-'}x`);
  return { maxRate, rateRatio, rateTargetMet: rateRatio !== null && rateRatio >= 0.9, cpuRatios: ratios, cpuOnToOff: cpuRatio, steps, settings: { rates, pairs, durationMs, warmupMs, textBytes: 64, prose: true } };
}
