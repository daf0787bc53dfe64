/**
 * Rewrites the benchmark tables of docs/benchmarks.md from bench/results/{dm,group,connections,persist}.json,
 * between the `<!-- bench:start -->` and `<!-- bench:end -->` markers, so that page always
 * quotes the recorded run.   npx tsx bench/readme.ts
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuPerDocText } from './figures.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const read = (name: string) => JSON.parse(fs.readFileSync(path.join(root, 'bench/results', `${name}.json`), 'utf8'));
/**
 * A record with a newer probe's targets laid over it (a probe reruns some targets only): the
 * merged record says which targets came from which run.
 */
function readMerged(name: string): { data: Record<string, unknown>; note: string } {
  const rec = read(name);
  const file = path.join(root, 'bench/results', `${name}.probe.json`);
  if (!fs.existsSync(file)) return { data: rec, note: '' };
  const probe = JSON.parse(fs.readFileSync(file, 'utf8'));
  if (String(probe.date) <= String(rec.date)) return { data: rec, note: '' };
  const meta = new Set(['scenario', 'date', 'machine']);
  const targets = Object.keys(probe).filter((k) => !meta.has(k));
  return { data: { ...rec, ...probe }, note: `${name}: ${targets.join(', ')} from a run on ${String(probe.date).slice(0, 10)}, the rest from ${String(rec.date).slice(0, 10)}.` };
}

interface Step { verdict?: string; engineCpuUsPerMsg?: Record<string, number>; offeredRate: number; e2eMs: { p50: number; p99: number; p999: number }; ackMs: { p99: number }; lost: number; dup: number; loadgenLoopDelayP99Ms: number; loadgenCpuPct?: number; serverCpuUsPerMsg?: number; serverCpuUsPerMsgByThread?: { eventLoop: number; busiestOther: number; rest: number }; meanGroupSize?: number; meanGroupMs?: number; groups?: number; groupsOver20ms?: number }
interface DmTarget { maxRate: number; p99AtMaxMs: number | null; boundedByGenerator?: boolean; steps: Step[]; storeCaughtUpMs?: number | null; summary?: Record<string, unknown> }

function dmTable(dm: Record<string, unknown>) {
  const rows = ['| dm | max sustained (msg/s) | p50 ms | p99 ms | p99.9 ms | ack p99 ms | server CPU µs/msg | load generator CPU / loop p99 ms | first failing step |', '| --- | --- | --- | --- | --- | --- | --- | --- | --- |'];
  for (const target of ['socketio', 'ws', 'chatd', 'chatd:no-clientMsgId', 'chatd-scaleout', 'chatd-scaleout:no-clientMsgId']) {
    const t = dm[target] as DmTarget | undefined;
    if (!t) continue;
    const at = t.steps.find((s) => s.offeredRate === t.maxRate);
    const fail = t.steps.find((s) => s.lost > 0 || s.dup > 0 || s.e2eMs.p99 > 100);
    const bound = t.boundedByGenerator ? t.steps.find((s) => s.verdict === 'generator-bound') : undefined;
    const failText = bound ? `none: the load generator was saturated at ${bound.offeredRate} (${bound.loadgenCpuPct}%), so ${t.maxRate} is a lower bound` : fail ? `${fail.offeredRate}: ${fail.lost || fail.dup ? `lost ${fail.lost}, dup ${fail.dup}` : `p99 ${fail.e2eMs.p99} ms`}` : `none: the grid's top step passed, so ${t.maxRate} is a lower bound`;
    rows.push(`| ${target} | ${t.maxRate} | ${at?.e2eMs.p50 ?? '–'} | ${at?.e2eMs.p99 ?? '–'} | ${at?.e2eMs.p999 ?? '–'} | ${at?.ackMs.p99 ?? '–'} | ${at?.serverCpuUsPerMsg ?? '–'} | ${at ? `${at.loadgenCpuPct ?? '–'}% / ${at.loadgenLoopDelayP99Ms}` : '–'} | ${failText} |`);
  }
  return rows.join('\n');
}

/** chatd and the relay at the same offered rates: where the latency goes as load rises. */
function dmSideBySide(dm: Record<string, unknown>) {
  const relay = dm.socketio as DmTarget | undefined;
  const chatd = dm.chatd as DmTarget | undefined;
  if (!relay || !chatd) return '';
  const rows = ['| offered msg/s | relay p99 ms | relay CPU µs/msg | chatd p50 ms | chatd p99 ms | chatd CPU µs/msg | chatd ÷ relay CPU | of which event loop / writer thread / rest | chatd group commit | load generator CPU (relay, chatd) |', '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |'];
  for (const s of chatd.steps) {
    const r = relay.steps.find((x) => x.offeredRate === s.offeredRate);
    if (s.verdict === 'disturbed') continue;
    const t = s.serverCpuUsPerMsgByThread;
    const ratio = r?.serverCpuUsPerMsg && s.serverCpuUsPerMsg ? Math.round((s.serverCpuUsPerMsg / r.serverCpuUsPerMsg) * 100) / 100 : '–';
    const pass = (x: Step) => x.lost === 0 && x.dup === 0 && x.e2eMs.p99 <= 100;
    rows.push(`| ${s.offeredRate} | ${r ? `${r.e2eMs.p99}${pass(r) ? '' : ' ✗'}` : '–'} | ${r?.serverCpuUsPerMsg ?? '–'} | ${s.e2eMs.p50} | ${s.e2eMs.p99}${pass(s) ? '' : ' ✗'} | ${s.serverCpuUsPerMsg ?? '–'} | ${ratio} | ${t ? `${t.eventLoop} / ${t.busiestOther} / ${t.rest}` : '–'} | ${s.meanGroupSize !== undefined ? `${s.meanGroupSize} msg in ${s.meanGroupMs} ms${s.groupsOver20ms !== undefined ? `; ${s.groupsOver20ms} of ${s.groups} over 20 ms` : ''}` : '–'} | ${r?.loadgenCpuPct !== undefined ? `${r.loadgenCpuPct}%` : '–'}, ${s.loadgenCpuPct !== undefined ? `${s.loadgenCpuPct}%` : '–'} |`);
  }
  return rows.join('\n');
}

/**
 * Scale-out next to embedded at the same offered rates: chatd's own CPU per message (the issue's
 * ≤ 2× target), and each co-located engine's, per process, from /proc.
 */
function scaleoutTable(dm: Record<string, unknown>) {
  const so = dm['chatd-scaleout'] as DmTarget | undefined;
  const emb = dm.chatd as DmTarget | undefined;
  if (!so || !emb) return '';
  const rows = ['| scale-out, sends | offered msg/s | p50 ms | p99 ms | chatd CPU µs/msg | embedded chatd CPU µs/msg | ratio | Redis | Kafka | FerretDB | PostgreSQL | OpenSearch | all engines | chatd + engines, cores at this rate |', '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |'];
  const variants: [string, DmTarget | undefined, DmTarget | undefined][] = [['with clientMsgId', so, emb], ['without', dm['chatd-scaleout:no-clientMsgId'] as DmTarget | undefined, dm['chatd:no-clientMsgId'] as DmTarget | undefined]];
  for (const [kind, scale, embedded] of variants) {
    for (const s of scale?.steps ?? []) {
      const e = embedded?.steps.find((x) => x.offeredRate === s.offeredRate);
      const g = s.engineCpuUsPerMsg ?? {};
      const engines = Object.values(g).reduce((a, b) => a + b, 0);
      const ratio = e?.serverCpuUsPerMsg && s.serverCpuUsPerMsg ? Math.round((s.serverCpuUsPerMsg / e.serverCpuUsPerMsg) * 100) / 100 : '–';
      const cores = s.serverCpuUsPerMsg !== undefined ? Math.round(((s.serverCpuUsPerMsg + engines) * s.offeredRate) / 1e4) / 100 : '–';
      rows.push(`| ${kind} | ${s.offeredRate} | ${s.e2eMs.p50} | ${s.e2eMs.p99} | ${s.serverCpuUsPerMsg ?? '–'} | ${e?.serverCpuUsPerMsg ?? '–'} | ${ratio} | ${g.redis ?? '–'} | ${g.kafka ?? '–'} | ${g.ferretdb ?? '–'} | ${g.postgres ?? '–'} | ${g.opensearch ?? '–'} | ${Math.round(engines * 10) / 10} | ${cores} |`);
    }
  }
  const caught = so.storeCaughtUpMs !== undefined ? ` MongoDB had every message ${so.storeCaughtUpMs} ms after the last step.` : '';
  const two = Object.entries(dm).find(([k]) => /^chatd-scaleout-x\d+$/.test(k))?.[1] as DmTarget | undefined;
  const t = two?.summary as { rate: number; crossNodeP99Ms: number | null; lost: number; dup: number; cpuUsPerMsgBothNodes: number; cpuUsPerMsgOneNode: number; cpuRatio: number | null } | undefined;
  const twoText = t ? ` Two nodes, every pair split across them, at half of one node's maximum (${t.rate} msg/s): cross-node p99 **${t.crossNodeP99Ms} ms** (target ≤ 50), lost ${t.lost}, duplicated ${t.dup}; chatd CPU ${t.cpuUsPerMsgBothNodes} µs per message on both nodes together against ${t.cpuUsPerMsgOneNode} on one node at that rate (ratio **${t.cpuRatio}**, target ≤ 1.2).` : '';
  return `${rows.join('\n')}\n\nEngine columns are µs of CPU per message of each engine's processes (all PostgreSQL backends together; OpenSearch when the nodes have \`OPENSEARCH_URL\`, for their search feeders).${caught}${twoText}`;
}

function connectionsTable(c: Record<string, { count: number; connectPerSec: number; rssPerConnKB: number; heapPerConnKB: number; rssMB: number; afterGc?: { rssPerConnKB: number; heapPerConnKB: number } }[]>) {
  const rows = ['| connections (idle, authenticated) | count | connect/s | RSS KB/conn | heap KB/conn | server RSS MB | after a full GC: RSS KB/conn | after a full GC: heap KB/conn |', '| --- | --- | --- | --- | --- | --- | --- | --- |'];
  for (const [target, list] of Object.entries(c)) {
    if (!Array.isArray(list)) continue;
    for (const r of list) rows.push(`| ${target} | ${r.count} | ${r.connectPerSec} | ${r.rssPerConnKB} | ${r.heapPerConnKB} | ${r.rssMB} | ${r.afterGc?.rssPerConnKB ?? '–'} | ${r.afterGc?.heapPerConnKB ?? '–'} |`);
  }
  return rows.join('\n');
}

function persistTable(p: Record<string, Record<string, unknown>>) {
  const rows = ['| persist | messages | seconds | stored msg/s | measured to |', '| --- | --- | --- | --- | --- |'];
  for (const target of ['chatd', 'chatd-scaleout']) {
    const r = p[target];
    if (r) rows.push(`| ${target} (send → row, closed loop, 500 in flight) | ${r.messages} | ${r.seconds} | ${r.perSec} | ${r.measuredTo} |`);
  }
  const raw = p['mongodb-raw-insert'];
  if (raw) {
    const cpu = cpuPerDocText(raw.cpuUsPerDoc as Record<string, number> | null | undefined);
    const cpuText = cpu ? `; ${cpu}` : '';
    rows.push(`| MongoDB wire raw insertMany (the engine's ceiling) | ${raw.messages} | ${raw.seconds} | ${raw.perSec} | driver insertMany${raw.writers ? ` from ${raw.writers} writers at once (as the persister)` : ''}, same documents and unique indexes${cpuText} |`);
  }
  const k = p['kafka-to-mongodb'];
  if (k) {
    const cpu = cpuPerDocText(k.cpuUsPerDoc as Record<string, number> | null | undefined);
    const bound = k.ratioBoundByCpu ? `; ${k.cpuUsPerDocTotal} µs of CPU per row in all against the raw insert's ${k.rawCpuUsPerDocTotal}, so on these shared cores the ratio is bound by ${k.ratioBoundByCpu}` : '';
    rows.push(`| Kafka → MongoDB (chatd's persister alone) | ${k.messages} | ${k.drainSeconds} | ${k.perSec} | rows counted ${k.stored}; ${Math.round(Number(k.ratioToRawInsert) * 100)}% of the raw ceiling${cpu ? `; ${cpu}` : ''}${bound} |`);
  }
  return rows.join('\n');
}

/** With --repeat: every run's maxima, so the spread shows next to the median. */
function repeatsText(dm: { repeats?: Record<string, { maxRate: number } | number | null>[] }) {
  if (!dm.repeats || dm.repeats.length < 2) return '';
  const runs = dm.repeats.map((r, i) => `run ${i + 1}: socketio ${(r.socketio as { maxRate: number } | undefined)?.maxRate}, chatd ${(r.chatd as { maxRate: number } | undefined)?.maxRate}, ratio ${r.ratioToSocketio as number}`);
  return `, the median of ${dm.repeats.length} runs (${runs.join('; ')}); the tables show the median run`;
}

/** The issue's target point: chatd and the relay at 0.6x the relay's maximum, in each run. */
function atTargetText(dm: { atTargetRate?: AtGoal; repeats?: { atTargetRate?: AtGoal }[] }) {
  const a = dm.atTargetRate;
  if (!a) return '';
  const each = (dm.repeats ?? []).map((r) => r.atTargetRate).filter((x): x is AtGoal => !!x);
  const spread = each.length > 1 ? ` Every run: ${each.map((x) => `${x.rate}/s chatd ${chatdAt(x)}, relay ${x.socketioP99Ms ?? 'failed'} ms`).join('; ')}.` : '';
  return `At 0.6× the relay's maximum (${a.rate} msg/s): chatd **${chatdAt(a)}**${a.chatdMeasuredBy === 'ramp' ? ' (chatd failed a lower step first, so it was run again up to this rate)' : a.chatdMeasuredBy === 'fresh' ? ' (a fresh chatd, warmed up, once the relay’s maximum was known)' : ''}, the bare Socket.IO relay at the same rate ${a.socketioP99Ms ?? 'failed'} ms; the target (p99 ≤ 50 ms) is ${a.met ? 'met' : 'not met'}.${spread}`;
}
interface AtGoal { rate: number; chatdP99Ms: number | null; socketioP99Ms: number | null; met: boolean; chatdMeasuredBy?: 'steps' | 'fresh' | 'ramp'; chatd?: { p99Ms: number; lost: number; dup: number } }
/** chatd at the target rate: its p99, or what failed there (records before the ramp have only chatdP99Ms). */
function chatdAt(x: AtGoal) {
  if (x.chatd) return `p99 ${x.chatd.p99Ms} ms${x.chatd.lost || x.chatd.dup ? ` with ${x.chatd.lost} lost, ${x.chatd.dup} duplicated` : ''}`;
  return x.chatdP99Ms !== null ? `p99 ${x.chatdP99Ms} ms` : 'not reached';
}

interface GroupRow { maxRate: number; maxCopiesPerSec: number; p99AtMaxMs: number | null; boundedByGenerator?: boolean; steps: { verdict?: string; offeredRate: number; copiesPerSec: number; e2eMs: { p50: number; p99: number }; lost: number; dup: number; loadgenCpuPct: number; serverCpuUsPerCopy?: number }[] }
interface GroupShape { summary: { copiesRatioToSocketio: number | null; goalCopiesPerSec: number | null; chatdP99AtGoalMs: number | null; met: boolean }; settings: { groups: number; members: number; users: number } }

/** Group fan-out, per shape: each target's maximum in messages and copies, and the target point. */
function groupTable(rec: Record<string, unknown> | null) {
  if (!rec) return '';
  const out: string[] = [`Groups (\`npm run bench -- group\`, ${String(rec.date).slice(0, 10)}): every member connected, messages to the groups in turn from their members; a message counts M−1 copies.`, '', '| group | target | max msg/s | copies/s there | p50 ms | p99 ms | server CPU µs/copy | load generator CPU | first failing step |', '| --- | --- | --- | --- | --- | --- | --- | --- | --- |'];
  const notes: string[] = [];
  for (const [shape, v] of Object.entries(rec)) {
    if (!/^\d+x\d+$/.test(shape)) continue;
    const g = v as Record<string, GroupRow> & GroupShape;
    for (const t of ['socketio', 'chatd', 'chatd-scaleout']) {
      const r = g[t];
      if (!r) continue;
      const at = r.steps.find((x) => x.offeredRate === r.maxRate);
      const fail = r.steps.find((x) => x.lost || x.dup || x.e2eMs.p99 > 100);
      const bound = r.boundedByGenerator ? r.steps.find((x) => x.verdict === 'generator-bound') : undefined;
      out.push(`| ${g.settings.groups} × ${g.settings.members} | ${t} | ${r.maxRate} | ${r.maxCopiesPerSec} | ${at?.e2eMs.p50 ?? '–'} | ${at?.e2eMs.p99 ?? '–'} | ${at?.serverCpuUsPerCopy ?? '–'} | ${at ? `${at.loadgenCpuPct}%` : '–'} | ${bound ? `none: the load generator was saturated at ${bound.offeredRate} (${bound.loadgenCpuPct}%), so ${r.maxRate} is a lower bound` : fail ? `${fail.offeredRate}: p99 ${fail.e2eMs.p99} ms${fail.lost || fail.dup ? `, lost ${fail.lost}, dup ${fail.dup}` : ''}` : '–'} |`);
    }
    const s = g.summary;
    notes.push(`${g.settings.groups} × ${g.settings.members}: chatd embedded delivers **${s.copiesRatioToSocketio}×** the relay's copies per second; at 0.6× the relay (${s.goalCopiesPerSec} copies/s) its p99 is ${s.chatdP99AtGoalMs ?? 'not reached'} ms, so the target (≥ 0.6× with p99 ≤ 50 ms) is ${s.met ? 'met' : 'not met'}.`);
  }
  return [...out, '', ...notes.map((n) => `- ${n}`)].join('\n');
}

/** The day the load generator became the wire-level one with the saturation checks: records before it are not comparable. */
const GENERATOR_SINCE = '2026-12-05';
const dm = read('dm');
const group = fs.existsSync(path.join(root, 'bench/results/group.json')) ? read('group') : null;
const connections = readMerged('connections');
const persist = readMerged('persist');
const repeatNote = dm.repeats?.length > 1 ? ` --repeat=${dm.repeats.length}\` (dm runs ${dm.repeats.length} times, the others once)` : '`';
const m = dm.machine as { cores: number; cpu: string; memGB: number; node: string };
const block = [
  `Recorded run: ${m.cores} cores (${m.cpu}), ${m.memGB} GB, Node ${m.node}, ${String(dm.date).slice(0, 10)}; ${dm.settings.pairs} user pairs, ${dm.settings.textBytes}-byte messages, ${dm.settings.durationMs / 1000} s recorded per step${dm.settings.warmupMs ? `, after ${dm.settings.warmupMs / 1000} s at the same rate unrecorded` : ''} (and one unrecorded warm-up per server). Reproduce with \`npm run services:up && source .services/env && npm run bench -- all${repeatNote}, then \`npx tsx bench/readme.ts\` to rewrite these tables.`,
  '',
  dmTable(dm),
  '',
  `\`ratioToSocketio\` (chatd embedded ÷ bare Socket.IO relay, maximum sustained rates in the same run): **${dm.ratioToSocketio}**${repeatsText(dm)}.`,
  '',
  atTargetText(dm),
  '',
  dmSideBySide(dm),
  '',
  scaleoutTable(dm),
  '',
  groupTable(group),
  '',
  connectionsTable(connections.data as never),
  '',
  persistTable(persist.data as never),
  ...[connections.note, persist.note].filter(Boolean).map((n) => `\n${n}`),
  ...[['connections', connections.data], ['persist', persist.data]].filter(([, d]) => String((d as { date?: string }).date) < GENERATOR_SINCE).map(([n, d]) => `\nThe ${n} table is from ${String((d as { date: string }).date).slice(0, 10)}, before the load generator was rewritten (${GENERATOR_SINCE}): it measures the server's memory per connection and its store's throughput, but its figures are not comparable with the tables above.`),
].join('\n');

const file = path.join(root, 'docs/benchmarks.md');
const readme = fs.readFileSync(file, 'utf8');
const start = readme.indexOf('<!-- bench:start -->');
const end = readme.indexOf('<!-- bench:end -->');
if (start < 0 || end < 0) throw new Error('docs/benchmarks.md has no <!-- bench:start --> / <!-- bench:end --> markers');
fs.writeFileSync(file, `${readme.slice(0, start)}<!-- bench:start -->\n${block}\n${readme.slice(end)}`);
console.log('docs/benchmarks.md: benchmark tables rewritten from bench/results');
