/**
 * The load generator, run as its own process (pinned to another core than the server).
 * Input: one JSON job, the first line on stdin (it holds the bench users' tokens: never in argv,
 * which every user of the machine can read in `ps`). Output: one JSON result line on stdout.
 *   dm:      open-loop direct messages between pairs at an offered rate; latency from the
 *            sender's emit to the recipient's receive, ack latency, loss and duplicates. The
 *            first `warmupMs` run at the same rate but their latencies are not recorded.
 *   flood:   closed loop: `total` messages from pair senders with `inflight` unacknowledged
 *            at a time in all, as fast as acks return; reports acks per second.
 *   group:   open-loop messages to groups (`groups`, each a ref and its members' user indexes):
 *            message i goes to group i mod G from its members in turn; every other member's
 *            socket should get one copy. Latency per copy, lost and duplicated copies.
 *   connect: opens `count` idle authenticated connections, reports the connect rate, then
 *            holds them until stdin closes (the parent measures the server meanwhile).
 *
 * It must never be what sets the pace: its own CPU share and event-loop delay are reported
 * with every step, and a step where it was saturated does not count. So the hot path is kept
 * light: Socket.IO targets are driven by `wire.ts` (the protocol over `ws`, no client library;
 * `client: 'socket.io-client'` selects the library, for comparison), a message's number is the
 * start of its text, and send times and copy counts live in typed arrays indexed by it.
 */
import { performance, monitorEventLoopDelay } from 'node:perf_hooks';
import { LOOP_SAMPLE_MS, loopDelayBeyondSampling } from './figures.js';
import * as hdr from 'hdr-histogram-js';
import { io as ioc, type Socket } from 'socket.io-client';
import WebSocket from 'ws';
import { CLK_TCK, otherTicks, otherTicksBetween, stealTicks } from './cpu.js';
import { connectWire, field, numberOf } from './wire.js';

const PROSE = 'the deploy window opens at noon so please check the release notes before you merge anything into main today ';
/** A message's text after its number: textBytes - 8 characters of x, or of words with `prose`. */
function padFor(job: { textBytes?: number; prose?: boolean }): string {
  const n = Math.max(0, (job.textBytes ?? 64) - 8);
  return job.prose ? PROSE.repeat(Math.ceil(n / PROSE.length) + 1).slice(0, n) : 'x'.repeat(n);
}

export interface Job {
  mode: 'dm' | 'connect' | 'flood' | 'group';
  target: 'chatd' | 'socketio' | 'ws';
  /** Socket.IO targets: the wire-level client (default) or the socket.io-client library. */
  client?: 'wire' | 'socket.io-client';
  url: string;
  /** name and credential of each user, and the server it connects to when not `url`; dm pairs are (0,1), (2,3)… */
  users: { name: string; token: string; url?: string }[];
  /** chatd: whether sends carry a clientMsgId (default true). */
  clientMsgIds?: boolean;
  rate?: number;
  durationMs?: number;
  /** dm: sends at the rate this long first, unrecorded (this process starts cold every step); loss and duplicates still count. */
  warmupMs?: number;
  textBytes?: number;
  /** Texts of words (as people write) instead of one run of x: what a search index has to split. */
  prose?: boolean;
  count?: number;
  total?: number;
  inflight?: number;
  /** group: each group's ref (chatd `#handle`, the relay's room) and its members, as indexes into `users`. */
  groups?: { ref: string; members: number[] }[];
  /** The servers' pids: their CPU is not counted as other processes' (see `otherCpuPct`). */
  serverPids?: number[];
  /**
   * chatd, dm and group: what each record is (default: a message). `edit` and `react` change the
   * messages `targets` names (per dm pair, or per group: seqs its sender wrote); a reaction is
   * added and removed in turn, so a message's state stays bounded whatever the rate.
   */
  op?: 'send' | 'edit' | 'react';
  targets?: number[][];
}

/** The run-wide number of a change record, from its clientMsgId (`<runId>-<n>`). */
const changeNumber = (data: string) => { const id = field(data, 'clientMsgId'); return Number(id.slice(id.indexOf('-') + 1)); };

/** A delivered message: its recipient (a user, or a group's ref) and its text. */
type Received = (to: string, text: string) => void;

interface Client {
  user: string;
  send(to: string, text: string, id: string, onAck: (ok: boolean) => void): void;
  /** chatd over the wire client: any event with a payload already in JSON. */
  emit?(event: string, json: string, onAck: (ok: boolean) => void): void;
  close(): void;
}

function hist() {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });
}

function summary(h: hdr.Histogram) {
  const ms = (us: number) => Math.round(us) / 1000;
  return { p50: ms(h.getValueAtPercentile(50)), p99: ms(h.getValueAtPercentile(99)), p999: ms(h.getValueAtPercentile(99.9)), max: ms(h.maxValue), count: h.totalCount };
}

function connectClient(job: Job, user: { name: string; token: string; url?: string }, onMessage: Received): Promise<Client> {
  const url = user.url ?? job.url;
  if (job.target === 'ws') {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/?user=${encodeURIComponent(user.name)}`, { perMessageDeflate: false });
    const acks = new Map<string, (ok: boolean) => void>();
    ws.on('message', (data) => {
      const f = JSON.parse(String(data)) as { t: string; c?: string; m: { from: string; to: string; text: string } };
      if (f.t === 'msg') onMessage(f.m.to, f.m.text);
      else if (f.t === 'ack' && f.c) { acks.get(f.c)?.(true); acks.delete(f.c); }
    });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve({
        user: user.name,
        send: (to, text, id, onAck) => { acks.set(id, onAck); ws.send(JSON.stringify({ t: 'send', to, text, c: id })); },
        close: () => ws.close(),
      }));
      ws.once('error', reject);
    });
  }
  const mine = job.groups?.filter((g) => g.members.some((i) => job.users[i]!.name === user.name)).map((g) => g.ref);
  const auth = job.target === 'chatd' ? { token: user.token } : { user: user.name, ...(mine ? { groups: mine } : {}) };
  const withIds = job.clientMsgIds !== false;
  if ((job.client ?? 'wire') === 'wire') {
    // A change record carries its number in its clientMsgId (a reaction has no text): handed on as `<n>|`.
    return connectWire(url, auth, (event, data) => { if (event === 'message:new') onMessage(field(data, 'to'), field(data, 'text')); else if (event === 'message:change') onMessage(field(data, 'to'), `${changeNumber(data)}|`); }).then((s) => ({
      user: user.name,
      emit: (event, json, onAck) => s.emit(event, json, onAck),
      // Names, texts and ids here are plain ASCII with no quote or backslash: the JSON is written as is.
      send: withIds ? (to, text, id, onAck) => s.emit('message:send', `{"to":"${to}","text":"${text}","clientMsgId":"${id}"}`, onAck) : (to, text, _id, onAck) => s.emit('message:send', `{"to":"${to}","text":"${text}"}`, onAck),
      close: () => s.close(),
    }));
  }
  const s: Socket = ioc(url, { transports: ['websocket'], auth, reconnection: false, forceNew: true });
  s.on('message:new', (m: { to: string; text: string }) => onMessage(m.to, m.text));
  return new Promise((resolve, reject) => {
    s.once('connect', () => resolve({
      user: user.name,
      send: withIds
        ? (to, text, id, onAck) => s.emit('message:send', { to, text, clientMsgId: id }, (r: { ok: boolean }) => onAck(r.ok))
        : (to, text, _id, onAck) => s.emit('message:send', { to, text }, (r: { ok: boolean }) => onAck(r.ok)),
      close: () => s.close(),
    }));
    s.once('connect_error', reject);
  });
}

/**
 * Open loop: `send(i, recorded)` is called on schedule, `rate` times a second, whether or not
 * earlier sends were answered. The first `warmupMs` run at the same rate unrecorded (this process
 * starts cold every step); `onWarm` runs when the recorded window starts. Returns the sends and
 * the share of its core the generator used while recording (near 100 %: it, not the server, sets
 * the pace).
 */
async function openLoop(rate: number, warmupMs: number, durationMs: number, loop: ReturnType<typeof monitorEventLoopDelay>, send: (i: number, recorded: boolean) => void, onWarm?: () => void, serverPids: number[] = []) {
  let sent = 0;
  const start = performance.now();
  let measureFrom = start;
  let cpu0 = process.cpuUsage();
  // Everything else that ran on the machine meanwhile (not this process, the servers or the engines).
  const mine = new Set([process.pid, process.ppid, ...serverPids]);
  let others0 = otherTicks(mine);
  let steal0 = stealTicks();
  let warm = warmupMs === 0;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const elapsed = performance.now() - start;
      if (elapsed >= warmupMs + durationMs) { clearInterval(timer); resolve(); return; }
      if (!warm && elapsed >= warmupMs) {
        // The recorded window starts: this process's own warm-up (JIT, first sends) is behind it.
        warm = true;
        measureFrom = performance.now();
        cpu0 = process.cpuUsage();
        others0 = otherTicks(mine);
        steal0 = stealTicks();
        loop.reset();
        onWarm?.();
      }
      const due = (elapsed / 1000) * rate;
      while (sent < due) send(sent++, warm);
    }, 5);
  });
  const cpu = process.cpuUsage(cpu0);
  const others = otherTicksBetween(others0, otherTicks(mine));
  const steal = stealTicks() - steal0;
  const seconds = (performance.now() - measureFrom) / 1000;
  const pct = (us: number) => Math.round((us / 1000 / (seconds * 1000)) * 100);
  return { sent, seconds, loadgenCpuPct: pct(cpu.user + cpu.system), loadgenSystemCpuPct: pct(cpu.system), otherCpuPct: Number.isNaN(others) ? undefined : pct((others / CLK_TCK) * 1e6), stealCpuPct: Number.isNaN(steal) ? undefined : pct((steal / CLK_TCK) * 1e6) };
}

/** Room for every message an open loop at `rate` can send in `ms` (it never sends ahead of its schedule). */
const capacity = (rate: number, ms: number) => Math.ceil((rate * ms) / 1000 * 1.01) + 64;

async function dm(job: Job) {
  const rate = job.rate!;
  const durationMs = job.durationMs!;
  const warmupMs = job.warmupMs ?? 0;
  const pad = padFor(job);
  const cap = capacity(rate, warmupMs + durationMs);
  /** When each recorded message was sent (ms, performance.now()); NaN: sent in the warm-up, or not yet. */
  const sentAt = new Float64Array(cap).fill(NaN);
  /** Copies received of each message (1 is right). */
  const copies = new Uint8Array(cap);
  let delivered = 0;
  let dup = 0;
  const e2e = hist();
  const ack = hist();
  let acked = 0;
  const clients: Client[] = [];
  const onMessage = (me: string) => (to: string, text: string) => {
    if (to !== me) return; // a copy for the sender's other sockets
    const i = numberOf(text);
    const n = copies[i]!;
    copies[i] = n === 255 ? 255 : n + 1;
    if (n > 0) { dup++; return; }
    delivered++;
    const t0 = sentAt[i]!;
    if (t0 === t0) e2e.recordValue(Math.max(1, Math.round((performance.now() - t0) * 1000)));
  };
  for (const u of job.users) clients.push(await connectClient(job, u, onMessage(u.name)));
  const loop = monitorEventLoopDelay({ resolution: LOOP_SAMPLE_MS });
  loop.enable();
  const pairs = Math.floor(clients.length / 2);
  // Unique per run: chatd would (rightly) treat a reused clientMsgId as a resend.
  const runId = Math.random().toString(36).slice(2, 10);
  const op = job.op ?? 'send';
  const { sent, loadgenCpuPct, loadgenSystemCpuPct, otherCpuPct, stealCpuPct } = await openLoop(rate, warmupMs, durationMs, loop, (i, recorded) => {
    const p = i % pairs;
    // Changes go from the author of the pair's messages (user 2p); messages go both ways in turn.
    const forward = op !== 'send' || Math.floor(i / pairs) % 2 === 0;
    const from = clients[2 * p + (forward ? 0 : 1)]!;
    const to = clients[2 * p + (forward ? 1 : 0)]!;
    const t = performance.now();
    if (recorded) sentAt[i] = t;
    const onAck = (ok: boolean) => { if (!ok) return; acked++; if (recorded) ack.recordValue(Math.max(1, Math.round((performance.now() - t) * 1000))); };
    if (op === 'send') return from.send(to.user, `${i}|${pad}`, `${runId}-${i}`, onAck);
    changeOf(op, from, to.user, job.targets![p]!, Math.floor(i / pairs), i, pad, runId, onAck);
  }, undefined, job.serverPids);
  // Let the last messages arrive.
  const settle = performance.now();
  while (performance.now() - settle < 3000 && (delivered < sent || acked < sent)) await new Promise((r) => setTimeout(r, 20));
  loop.disable();
  for (const c of clients) c.close();
  return {
    offeredRate: rate, sent, acked, delivered, lost: sent - delivered, dup,
    deliveredPerSec: Math.round(delivered / ((warmupMs + durationMs) / 1000)),
    e2eMs: summary(e2e), ackMs: summary(ack),
    loadgenLoopDelayP99Ms: loopDelayBeyondSampling(loop.percentile(99) / 1e6),
    loadgenCpuPct, loadgenSystemCpuPct, otherCpuPct, stealCpuPct,
  };
}

/**
 * The k-th change by `from` in its conversation: an edit of one of `targets` in turn (its text
 * carries `i` as a message's does), or a reaction to one, added on one visit and removed on the next.
 */
function changeOf(op: 'edit' | 'react', from: Client, to: string, targets: number[], k: number, i: number, pad: string, runId: string, onAck: (ok: boolean) => void) {
  const seq = targets[k % targets.length]!;
  if (op === 'edit') return from.emit!('message:edit', `{"to":"${to}","seq":${seq},"text":"${i}|${pad}","clientMsgId":"${runId}-${i}"}`, onAck);
  const add = Math.floor(k / targets.length) % 2 === 0;
  from.emit!('message:react', `{"to":"${to}","seq":${seq},"emoji":"👍","op":"${add ? 'add' : 'remove'}","clientMsgId":"${runId}-${i}"}`, onAck);
}

async function group(job: Job) {
  const rate = job.rate!;
  const durationMs = job.durationMs!;
  const warmupMs = job.warmupMs ?? 0;
  const groups = job.groups!;
  const users = job.users.length;
  const pad = padFor(job);
  const cap = capacity(rate, warmupMs + durationMs);
  const sentAt = new Float64Array(cap).fill(NaN);
  /** Copies per (message, receiver) at i * users + receiver: 1 is right, more are duplicates. */
  const copies = new Uint8Array(cap * users);
  let received = 0;
  let distinct = 0;
  let dup = 0;
  const e2e = hist();
  const ack = hist();
  let acked = 0;
  const clients: Client[] = [];
  const onMessage = (me: number) => (_to: string, text: string) => {
    const i = numberOf(text);
    const k = i * users + me;
    const n = copies[k]!;
    copies[k] = n === 255 ? 255 : n + 1;
    received++;
    if (n > 0) { dup++; return; }
    distinct++;
    const t0 = sentAt[i]!;
    if (t0 === t0) e2e.recordValue(Math.max(1, Math.round((performance.now() - t0) * 1000)));
  };
  for (let i = 0; i < users; i++) clients.push(await connectClient(job, job.users[i]!, onMessage(i)));
  const loop = monitorEventLoopDelay({ resolution: LOOP_SAMPLE_MS });
  loop.enable();
  const runId = Math.random().toString(36).slice(2, 10);
  let expected = 0;
  let measuredCopies = 0;
  const { sent, loadgenCpuPct, loadgenSystemCpuPct, otherCpuPct, stealCpuPct, seconds } = await openLoop(rate, warmupMs, durationMs, loop, (i, recorded) => {
    const g = groups[i % groups.length]!;
    const from = clients[g.members[Math.floor(i / groups.length) % g.members.length]!]!;
    const t = performance.now();
    if (recorded) sentAt[i] = t;
    expected += g.members.length - 1;
    const onAck = (ok: boolean) => { if (!ok) return; acked++; if (recorded) ack.recordValue(Math.max(1, Math.round((performance.now() - t) * 1000))); };
    if ((job.op ?? 'send') === 'send') return from.send(g.ref, `${i}|${pad}`, `${runId}-${i}`, onAck);
    changeOf(job.op as 'edit' | 'react', from, g.ref, job.targets![i % groups.length]!, Math.floor(i / groups.length), i, pad, runId, onAck);
  }, () => { measuredCopies = received; }, job.serverPids);
  const copiesPerSec = Math.round((received - measuredCopies) / seconds);
  const settle = performance.now();
  while (performance.now() - settle < 5000 && (distinct < expected || acked < sent)) await new Promise((r) => setTimeout(r, 20));
  loop.disable();
  for (const c of clients) c.close();
  return {
    offeredRate: rate, sent, acked, expectedCopies: expected, deliveredCopies: distinct, lost: expected - distinct, dup,
    copiesPerSec, e2eMs: summary(e2e), ackMs: summary(ack),
    loadgenLoopDelayP99Ms: loopDelayBeyondSampling(loop.percentile(99) / 1e6), loadgenCpuPct, loadgenSystemCpuPct, otherCpuPct, stealCpuPct,
  };
}

async function flood(job: Job) {
  const total = job.total!;
  const inflight = job.inflight ?? 200;
  const pad = padFor(job);
  const clients: Client[] = [];
  for (const u of job.users) clients.push(await connectClient(job, u, () => {}));
  const pairs = Math.floor(clients.length / 2);
  const runId = Math.random().toString(36).slice(2, 10);
  const ack = hist();
  let next = 0;
  let acked = 0;
  let failed = 0;
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    const one = () => {
      if (next >= total) return;
      const i = next++;
      const p = i % pairs;
      const from = clients[2 * p + (i % 2)]!;
      const to = clients[2 * p + 1 - (i % 2)]!;
      const t = performance.now();
      from.send(to.user, `${i}|${pad}`, `${runId}-${i}`, (ok) => {
        if (ok) { acked++; ack.recordValue(Math.max(1, Math.round((performance.now() - t) * 1000))); } else failed++;
        if (acked + failed === total) resolve();
        else one();
      });
    };
    for (let k = 0; k < Math.min(inflight, total); k++) one();
  });
  const seconds = (performance.now() - t0) / 1000;
  for (const c of clients) c.close();
  return { total, acked, failed, seconds: Math.round(seconds * 1000) / 1000, ackedPerSec: Math.round(acked / seconds), ackMs: summary(ack) };
}

async function connect(job: Job) {
  const count = job.count!;
  const clients: Client[] = [];
  const t0 = performance.now();
  const batch = 100;
  for (let i = 0; i < count; i += batch) {
    const n = Math.min(batch, count - i);
    clients.push(...(await Promise.all(Array.from({ length: n }, (_, j) => connectClient(job, job.users[(i + j) % job.users.length]!, () => {})))));
  }
  const secs = (performance.now() - t0) / 1000;
  process.stdout.write(JSON.stringify({ connected: clients.length, connectPerSec: Math.round(clients.length / secs) }) + '\n');
  // Hold the connections until the parent has measured the server.
  await new Promise<void>((r) => { process.stdin.on('end', () => r()); process.stdin.on('close', () => r()); process.stdin.resume(); });
  for (const c of clients) c.close();
}

/** The job: the first line on stdin. The rest of stdin stays open (connect mode waits for its end). */
function readJob(): Promise<Job> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const onData = (c: Buffer) => {
      buf += String(c);
      const i = buf.indexOf('\n');
      if (i < 0) return;
      process.stdin.off('data', onData);
      process.stdin.pause();
      try {
        resolve(JSON.parse(buf.slice(0, i)) as Job);
      } catch (err) {
        reject(new Error(`the job on stdin is not JSON: ${(err as Error).message}`));
      }
    };
    process.stdin.on('data', onData);
    process.stdin.once('end', () => reject(new Error('no job on stdin')));
  });
}

const run = readJob().then((job) => job.mode === 'connect' ? connect(job) : (job.mode === 'dm' ? dm(job) : job.mode === 'group' ? group(job) : flood(job)).then((r) => { process.stdout.write(JSON.stringify(r) + '\n'); }));
run.then(
  () => process.exit(0),
  (err: Error) => { process.stderr.write(`loadgen: ${err.message}\n`); process.exit(1); },
);

