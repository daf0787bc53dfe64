import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { afterAll, beforeAll } from 'vitest';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tmpDir } from './tmp.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CHAT_BIN = path.join(root, 'bin/chat.js');
export const CHATD_BIN = path.join(root, 'bin/chatd.js');

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs bin/chat as a subprocess. */
export function runChat(args: string[], opts: { env?: Record<string, string>; input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHAT_BIN, ...args], { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    const t = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`chat ${args.join(' ')} timed out\n${stderr}`)); }, opts.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code) => { clearTimeout(t); resolve({ code, stdout, stderr }); });
    child.stdin.end(opts.input ?? '');
  });
}

export interface Proc {
  child: ChildProcess;
  lines: string[];
  /** Resolves with the first stdout line matching. */
  waitLine(re: RegExp, timeoutMs?: number): Promise<string>;
  exited: Promise<number | null>;
}

/** Every child still running when the test process exits is killed, so a failed test leaks no daemon. */
const alive = new Set<ReturnType<typeof spawn>>();
process.once('exit', () => { for (const c of alive) c.kill('SIGKILL'); });

export function spawnProc(bin: string, args: string[], env: Record<string, string>, opts: { cwd?: string } = {}): Proc {
  const child = spawn(process.execPath, [bin, ...args], { cwd: opts.cwd, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  alive.add(child);
  child.once('exit', () => alive.delete(child));
  const lines: string[] = [];
  const waiters: { re: RegExp; resolve: (l: string) => void }[] = [];
  let buf = '';
  const onData = (c: Buffer) => {
    buf += c.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      lines.push(line);
      for (const w of [...waiters]) if (w.re.test(line)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(line); }
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return {
    child, lines, exited,
    waitLine(re, timeoutMs = 20_000) {
      const found = lines.find((l) => re.test(l));
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no line matching ${re}; got:\n${lines.join('\n')}`)), timeoutMs);
        waiters.push({ re, resolve: (l) => { clearTimeout(t); resolve(l); } });
      });
    },
  };
}

/** Starts bin/chatd on port 0 (or the given one) and resolves once it listens. */
export async function spawnChatd(dataDir: string, env: Record<string, string> = {}, port = '0'): Promise<Proc & { url: string; port: number }> {
  const p = spawnProc(CHATD_BIN, ['start', '--port', port, '--data-dir', dataDir], { LOG_LEVEL: 'info', CHAT_AUTH_RATE_LIMIT: '1000', ...env });
  const line = await p.waitLine(/chatd listening on/);
  const url = /listening on (http:\/\/[^"\s]+)/.exec(line)![1]!;
  return Object.assign(p, { url, port: Number(new URL(url).port) });
}

/** A `chat` user with its own config dir against `server`: `run` the CLI, or get its `--json` output. */
export function cliUser(server: string, name: string, configDir: string) {
  const env = { CHAT_CONFIG_DIR: configDir, CHAT_SERVER: server };
  return {
    name, env,
    run: (args: string[], input?: string) => runChat(args, { env, input }),
    async json<T>(args: string[]): Promise<T> {
      const r = await runChat([...args, '--json'], { env });
      if (r.code !== 0) throw new Error(`chat ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
      return JSON.parse(r.stdout) as T;
    },
  };
}

/**
 * One bin/chatd for a test file: started before its tests, stopped after them, with every
 * process the tests register in `started` killed too. `user(name)` is a CLI user of it.
 */
export function chatdForFile() {
  let chatd: Awaited<ReturnType<typeof spawnChatd>> | undefined;
  const started: Proc[] = [];
  beforeAll(async () => { chatd = await spawnChatd(tmpDir()); });
  afterAll(async () => {
    for (const p of started) p.child.kill('SIGKILL');
    chatd?.child.kill('SIGTERM');
    await chatd?.exited;
  });
  const get = () => { if (!chatd) throw new Error('chatd is not started yet'); return chatd; };
  return {
    started,
    get chatd() { return get(); },
    user: (name: string) => cliUser(get().url, name, path.join(tmpDir('chat-cli-'), 'cfg')),
  };
}
