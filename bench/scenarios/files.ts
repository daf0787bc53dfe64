/**
 * The files scenario (issue 30, item 12), against the raw ceiling of the same disk or database
 * in the same run:
 * 1. Embedded: one file of SIZE uploaded through chatd (POST, then the bytes streamed in one
 *    PATCH) and downloaded (GET, streamed to a file), against a plain copy of the same file on
 *    the same disk (`dd bs=1M`, with fsync as chatd's upload ends; without, as the download
 *    writes), interleaved, medians of ROUNDS. chatd runs on core 0, and so does the copy; the
 *    client is curl on core 1 (node's fetch was slower than chatd: it measured itself). chatd's
 *    CPU per MiB from /proc. Target: >= 0.8x the copy.
 * 2. 20 uploads at once (each SMALL) against one upload of 20 x SMALL, same run.
 * 3. Memory: a 1 GiB upload and download through chatd, its RSS sampled every 20 ms (growth
 *    over its RSS before), and `chat send --file` / `chat download` of the same file as
 *    subprocesses, their peak RSS against `chat whoami`'s. Target: growth < 32 MiB.
 * 4. Scale-out (with the engines): the same upload and download of SCALE_SIZE through chatd,
 *    against the driver's own GridFSBucket put and get on the same MongoDB (FerretDB here).
 */
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import mongoose from 'mongoose';
import { CLK_TCK } from '../cpu.js';
import { median } from '../figures.js';
import { quick, root, scaleout as scaleoutEnv, type Target } from '../options.js';
import { pinned, startServer, stopServer, users, type Server } from '../server.js';

const MiB = 1024 * 1024;
const SIZE = (quick ? 64 : 256) * MiB;
const ROUNDS = quick ? 2 : 3;
const SMALL = (quick ? 4 : 16) * MiB;
const CONCURRENT = 20;
const BIG = (quick ? 256 : 1024) * MiB;
const SCALE_SIZE = (quick ? 16 : 64) * MiB;

const mibps = (bytes: number, ms: number) => Math.round((bytes / MiB / (ms / 1000)) * 10) / 10;
/** A growth with its sign: +5.7, -9.3. */
const signed = (x: number) => (x < 0 ? String(x) : `+${x}`);
const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;

/** A file of `size` bytes that no two blocks repeat (so nothing downstream can shortcut it). */
async function makeFile(file: string, size: number) {
  const block = crypto.randomBytes(MiB);
  const fh = await fsp.open(file, 'w');
  try {
    for (let at = 0, n = 0; at < size; at += MiB, n++) {
      block.writeUInt32LE(n, 0);
      await fh.write(block, 0, Math.min(MiB, size - at));
    }
    // On disk before anything is timed: else its writeback runs during the next upload, whose
    // fsync waits for it (one upload of 320 MiB, right after its 336 MiB of test files were made,
    // measured at 170-300 MiB/s against 500 for the same upload of 256 MiB).
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** A copy on the same disk, on chatd's core: the ceiling of an upload (with fsync) or a download (without). */
async function copy(from: string, to: string, sync: boolean) {
  const [cmd, argv] = pinned(0, 'dd', [`if=${from}`, `of=${to}`, 'bs=1M', 'status=none', ...(sync ? ['conv=fsync'] : [])]);
  const t0 = performance.now();
  const r = spawnSync(cmd, argv);
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`dd: ${r.stderr.toString()}`);
  await fsp.rm(to, { force: true });
  return ms;
}

/** curl on core 1 (the client side of every transfer): its output (-w) and status. */
function curl(args: string[]): Promise<string> {
  const [cmd, argv] = pinned(1, 'curl', ['-sS', ...args]);
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (c: Buffer) => { out += c.toString(); });
    p.stderr.on('data', (c: Buffer) => { err += c.toString(); });
    // 'close', not 'exit': exit can come before stdout is drained, and a busy machine then read
    // an empty status code (CI failed once that way with 20 uploads at once).
    p.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`curl ${args.join(' ')}: ${code} ${err}`))));
  });
}

/** CPU seconds of a process so far (user + system), from /proc. */
function cpuSeconds(pid: number): number {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** A process's resident memory (VmRSS) or its peak (VmHWM), in bytes. */
function memory(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) * 1024;
}

/** Samples a process's RSS every 20 ms while `fn` runs: its highest. */
async function peakRss<T>(pid: number, fn: () => Promise<T>): Promise<{ value: T; peak: number }> {
  let peak = memory(pid, 'VmRSS');
  const t = setInterval(() => { peak = Math.max(peak, memory(pid, 'VmRSS')); }, 20);
  try {
    const value = await fn();
    peak = Math.max(peak, memory(pid, 'VmRSS'));
    return { value, peak };
  } finally {
    clearInterval(t);
  }
}

interface Client { url: string; token: string }

async function begin(c: Client, name: string, size: number): Promise<string> {
  const r = await fetch(`${c.url}/v1/files`, { method: 'POST', headers: { authorization: `Bearer ${c.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ name, size }) });
  if (r.status !== 201) throw new Error(`begin: ${r.status} ${await r.text()}`);
  return ((await r.json()) as { id: string }).id;
}

/** Uploads a file in one streamed PATCH (curl -T); resolves with the milliseconds from POST to the stored answer. */
async function upload(c: Client, file: string): Promise<{ id: string; ms: number }> {
  const size = fs.statSync(file).size;
  const t0 = performance.now();
  const id = await begin(c, path.basename(file), size);
  const out = await curl(['-o', '/dev/null', '-w', '%{http_code}', '-X', 'PATCH', '-T', file, '-H', `authorization: Bearer ${c.token}`, '-H', 'content-type: application/offset+octet-stream', '-H', 'upload-offset: 0', '-H', 'expect:', `${c.url}/v1/files/${id}/content`]);
  const ms = performance.now() - t0;
  if (out !== '200') throw new Error(`upload: ${out}`);
  return { id, ms };
}

/** Downloads a file to `to` (curl -o); the milliseconds it took. */
async function download(c: Client, id: string, to: string): Promise<number> {
  const t0 = performance.now();
  const out = await curl(['-o', to, '-w', '%{http_code}', '-H', `authorization: Bearer ${c.token}`, `${c.url}/v1/files/${id}/content`]);
  const ms = performance.now() - t0;
  if (out !== '200') throw new Error(`download: ${out}`);
  await fsp.rm(to, { force: true });
  return ms;
}

async function cancel(c: Client, id: string) {
  await fetch(`${c.url}/v1/files/${id}`, { method: 'DELETE', headers: { authorization: `Bearer ${c.token}` } });
}

const LIMITS = { CHAT_MAX_FILE_SIZE: String(4 * 1024 * MiB), CHAT_FILE_QUOTA_BYTES: String(1e13), CHAT_MAX_UPLOADS_IN_FLIGHT: '100' };

async function embedded(work: string) {
  const s = await startServer('chatd', { env: LIMITS });
  const pid = s.proc.pid!;
  try {
    const [a] = await users(s, 2, 'files');
    const c: Client = { url: s.url, token: a!.token };
    const src = path.join(work, 'source.bin');
    await makeFile(src, SIZE);
    const copySync: number[] = [];
    const copyPlain: number[] = [];
    const up: number[] = [];
    const down: number[] = [];
    const cpuUp: number[] = [];
    const cpuDown: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      copySync.push(await copy(src, path.join(work, 'copy.bin'), true));
      let c0 = cpuSeconds(pid);
      const u = await upload(c, src);
      cpuUp.push(cpuSeconds(pid) - c0);
      up.push(u.ms);
      copyPlain.push(await copy(src, path.join(work, 'copy.bin'), false));
      c0 = cpuSeconds(pid);
      down.push(await download(c, u.id, path.join(work, 'down.bin')));
      cpuDown.push(cpuSeconds(pid) - c0);
      await cancel(c, u.id);
      console.log(`files round ${i + 1}: copy+fsync ${mibps(SIZE, copySync.at(-1)!)} MiB/s, upload ${mibps(SIZE, u.ms)}; copy ${mibps(SIZE, copyPlain.at(-1)!)} MiB/s, download ${mibps(SIZE, down.at(-1)!)}`);
    }
    const sizeMiB = SIZE / MiB;
    const result = {
      sizeMiB, rounds: ROUNDS,
      upload: { mibps: mibps(SIZE, median(up)), ceilingMibps: mibps(SIZE, median(copySync)), ratio: ratio(median(copySync), median(up)), cpuMsPerMiB: Math.round((median(cpuUp) * 1000 / sizeMiB) * 100) / 100 },
      download: { mibps: mibps(SIZE, median(down)), ceilingMibps: mibps(SIZE, median(copyPlain)), ratio: ratio(median(copyPlain), median(down)), cpuMsPerMiB: Math.round((median(cpuDown) * 1000 / sizeMiB) * 100) / 100 },
    };
    console.log(`files embedded ${sizeMiB} MiB: upload ${result.upload.mibps} MiB/s = ${result.upload.ratio}x a copy with fsync (${result.upload.ceilingMibps}), ${result.upload.cpuMsPerMiB} ms CPU/MiB; download ${result.download.mibps} MiB/s = ${result.download.ratio}x a copy (${result.download.ceilingMibps}), ${result.download.cpuMsPerMiB} ms CPU/MiB`);

    // 20 at once against one of the same total, in the same run.
    const small = path.join(work, 'small.bin');
    await makeFile(small, SMALL);
    const whole = path.join(work, 'whole.bin');
    await makeFile(whole, SMALL * CONCURRENT);
    const one = await upload(c, whole);
    await cancel(c, one.id);
    const t0 = performance.now();
    const many = await Promise.all(Array.from({ length: CONCURRENT }, () => upload(c, small)));
    const manyMs = performance.now() - t0;
    for (const m of many) await cancel(c, m.id);
    const each = many.map((m) => m.ms).sort((x, y) => x - y);
    const concurrent = {
      uploads: CONCURRENT, eachMiB: SMALL / MiB,
      aggregateMibps: mibps(SMALL * CONCURRENT, manyMs), oneUploadOfTheSameTotalMibps: mibps(SMALL * CONCURRENT, one.ms), ratio: ratio(one.ms, manyMs),
      eachMsP50: Math.round(median(each)), eachMsMax: Math.round(each.at(-1)!),
    };
    console.log(`files embedded: ${CONCURRENT} uploads of ${SMALL / MiB} MiB at once: ${concurrent.aggregateMibps} MiB/s in all (${concurrent.ratio}x one upload of the same ${SMALL * CONCURRENT / MiB} MiB: ${concurrent.oneUploadOfTheSameTotalMibps}); each p50 ${concurrent.eachMsP50} ms, slowest ${concurrent.eachMsMax} ms`);
    await fsp.rm(whole, { force: true });

    // Memory with a 1 GiB file: chatd's RSS, and the CLI's.
    const big = path.join(work, 'big.bin');
    await makeFile(big, BIG);
    const memoryResult = { ...(await chatdMemory(work, big)), ...cliMemory(s, a!, big, work), target: 'growth < 32 MiB' };
    console.log(`files memory, ${BIG / MiB} MiB: chatd RSS ${memoryResult.chatdRssBeforeMiB} MiB before (fresh, after a ${WARM / MiB} MiB transfer), ${signed(memoryResult.chatdUploadGrowthMiB)} MiB at most during the upload, ${signed(memoryResult.chatdDownloadGrowthMiB)} during the download (with ${SIZE / MiB} MiB first: ${signed(memoryResult.smallUploadGrowthMiB)}, ${signed(memoryResult.smallDownloadGrowthMiB)}); chat whoami peaks at ${memoryResult.cliWhoamiPeakMiB} MiB, chat send --file at ${memoryResult.cliSendPeakMiB} (${signed(memoryResult.cliSendGrowthMiB)}), chat download at ${memoryResult.cliDownloadPeakMiB} (${signed(memoryResult.cliDownloadGrowthMiB)})`);
    await fsp.rm(big, { force: true });
    return { ...result, concurrent, memory: memoryResult, targets: { throughput: '>= 0.8x the copy', memory: 'growth < 32 MiB' } };
  } finally {
    await stopServer(s);
  }
}

/** A transfer to warm chatd's file path up (its code loaded and compiled) before memory is read. */
const WARM = 4 * MiB;

/**
 * chatd's RSS growth while it receives and serves a file, on a chatd of its own: after earlier
 * transfers a process's allocator keeps the memory they freed, and the next transfer's growth
 * would hide in it. After one small transfer (the code path warm), `before` is read; then a
 * file of SIZE and the big one, each uploaded and downloaded, against that same `before`, so a
 * growth that follows the file's size shows as a difference between the two.
 */
async function chatdMemory(work: string, big: string) {
  const s = await startServer('chatd', { env: LIMITS });
  const pid = s.proc.pid!;
  try {
    const [a] = await users(s, 1, 'mem');
    const c: Client = { url: s.url, token: a!.token };
    const warm = path.join(work, 'warm.bin');
    const sized = path.join(work, 'sized.bin');
    await makeFile(warm, WARM);
    await makeFile(sized, SIZE);
    const w = await upload(c, warm);
    await download(c, w.id, path.join(work, 'down.bin'));
    await cancel(c, w.id);
    await new Promise((r) => setTimeout(r, 1000));
    const before = memory(pid, 'VmRSS');
    const growth = async (file: string) => {
      const up = await peakRss(pid, () => upload(c, file));
      // A download's growth is over the lower of `before` and its own start (the upload's
      // collections may have left RSS below `before`).
      const start = memory(pid, 'VmRSS');
      const down = await peakRss(pid, () => download(c, up.value.id, path.join(work, 'down.bin')));
      await cancel(c, up.value.id);
      return [Math.round((up.peak - before) / MiB * 10) / 10, Math.round((down.peak - Math.min(before, start)) / MiB * 10) / 10] as const;
    };
    const [smallUp, smallDown] = await growth(sized);
    const [bigUp, bigDown] = await growth(big);
    await fsp.rm(warm, { force: true });
    await fsp.rm(sized, { force: true });
    return {
      fileMiB: BIG / MiB, chatdRssBeforeMiB: Math.round(before / MiB),
      chatdUploadGrowthMiB: bigUp, chatdDownloadGrowthMiB: bigDown,
      smallFileMiB: SIZE / MiB, smallUploadGrowthMiB: smallUp, smallDownloadGrowthMiB: smallDown,
    };
  } finally {
    await stopServer(s);
  }
}

/** Peak RSS of `chat` subprocesses: whoami (the floor), send --file and download of `file`. */
function cliMemory(s: Server, u: { name: string }, file: string, work: string) {
  const cfg = fs.mkdtempSync(path.join(os.tmpdir(), 'chat-bench-files-'));
  const chat = path.join(root, 'bin/chat.js');
  const env = { ...process.env, CHAT_SERVER: s.url, CHAT_CONFIG_DIR: cfg };
  const login = spawnSync(process.execPath, [chat, 'login', u.name, '--password-stdin'], { env, input: 'bench-password\n' });
  if (login.status !== 0) throw new Error(`chat login failed: ${login.stderr.toString()}`);
  // GNU time's %M is the peak RSS in KiB; without it, VmHWM is read at the end by a wrapper.
  const peak = (argv: string[]): { kib: number; stdout: string } => {
    const r = spawnSync('/usr/bin/time', ['-f', 'PEAK %M', process.execPath, chat, ...argv], { env, maxBuffer: 64 * MiB });
    if (r.status !== 0) throw new Error(`chat ${argv.join(' ')} exited ${r.status}: ${r.stderr.toString().slice(-500)}`);
    const m = /PEAK (\d+)/.exec(r.stderr.toString());
    return { kib: Number(m?.[1] ?? 0), stdout: r.stdout.toString() };
  };
  const whoami = peak(['whoami']);
  const friend = 'files1';
  const send = peak(['send', friend, '--file', file, 'bench file', '--json']);
  const id = (JSON.parse(send.stdout) as { files: { id: string }[] }).files[0]!.id;
  const out = path.join(work, 'cli-down.bin');
  const down = peak(['download', id, '-o', out]);
  fs.rmSync(out, { force: true });
  fs.rmSync(cfg, { recursive: true, force: true });
  const mib = (k: number) => Math.round(k / 1024);
  return {
    cliWhoamiPeakMiB: mib(whoami.kib), cliSendPeakMiB: mib(send.kib), cliDownloadPeakMiB: mib(down.kib),
    cliSendGrowthMiB: mib(send.kib - whoami.kib), cliDownloadGrowthMiB: mib(down.kib - whoami.kib),
  };
}

async function scaleOut(work: string) {
  const s = await startServer('chatd-scaleout', { env: LIMITS });
  const pid = s.proc.pid!;
  const conn = await mongoose.createConnection(s.env!.MONGODB_URI!).asPromise();
  try {
    const [a] = await users(s, 2, 'files');
    const c: Client = { url: s.url, token: a!.token };
    const src = path.join(work, 'scale.bin');
    await makeFile(src, SCALE_SIZE);
    const bucket = new mongoose.mongo.GridFSBucket(conn.db!, { bucketName: 'benchraw' });
    const put: number[] = [];
    const get: number[] = [];
    const up: number[] = [];
    const down: number[] = [];
    const cpuUp: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      let t0 = performance.now();
      const id = `raw${i}`;
      await pipeline(fs.createReadStream(src, { highWaterMark: 256 * 1024 }), bucket.openUploadStreamWithId(id as never, id));
      put.push(performance.now() - t0);
      t0 = performance.now();
      await pipeline(bucket.openDownloadStream(id as never), fs.createWriteStream(path.join(work, 'raw-down.bin')));
      get.push(performance.now() - t0);
      await bucket.delete(id as never);
      const c0 = cpuSeconds(pid);
      const u = await upload(c, src);
      cpuUp.push(cpuSeconds(pid) - c0);
      up.push(u.ms);
      down.push(await download(c, u.id, path.join(work, 'down.bin')));
      await cancel(c, u.id);
      console.log(`files scale-out round ${i + 1}: GridFS put ${mibps(SCALE_SIZE, put.at(-1)!)} MiB/s, through chatd ${mibps(SCALE_SIZE, u.ms)}; get ${mibps(SCALE_SIZE, get.at(-1)!)}, through chatd ${mibps(SCALE_SIZE, down.at(-1)!)}`);
    }
    const sizeMiB = SCALE_SIZE / MiB;
    const result = {
      sizeMiB, rounds: ROUNDS, store: 'GridFS on the MongoDB at MONGODB_URI (FerretDB 1.24 on PostgreSQL here)',
      upload: { mibps: mibps(SCALE_SIZE, median(up)), driverPutMibps: mibps(SCALE_SIZE, median(put)), ratio: ratio(median(put), median(up)), cpuMsPerMiB: Math.round((median(cpuUp) * 1000 / sizeMiB) * 100) / 100 },
      download: { mibps: mibps(SCALE_SIZE, median(down)), driverGetMibps: mibps(SCALE_SIZE, median(get)), ratio: ratio(median(get), median(down)) },
    };
    console.log(`files scale-out ${sizeMiB} MiB: upload ${result.upload.mibps} MiB/s = ${result.upload.ratio}x the driver's GridFS put (${result.upload.driverPutMibps}); download ${result.download.mibps} = ${result.download.ratio}x its get (${result.download.driverGetMibps})`);
    return result;
  } finally {
    await conn.close();
    await stopServer(s);
  }
}

export async function filesScenario(targets: Target[]) {
  if (spawnSync('/usr/bin/time', ['-f', '%M', 'true']).status !== 0) throw new Error('the files scenario reads peak memory with GNU time (/usr/bin/time): install it (Debian: time)');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'chat-bench-files-'));
  try {
    const out: Record<string, unknown> = {};
    if (targets.includes('chatd')) out.embedded = await embedded(work);
    if (targets.includes('chatd-scaleout') && scaleoutEnv) out.scaleout = await scaleOut(work);
    return out;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

