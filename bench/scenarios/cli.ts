/** The cli scenario: what a shell script pays per `chat` call. */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { median } from '../figures.js';
import { quick, root } from '../options.js';
import { startServer, stopServer, users } from '../server.js';

/**
 * How long `chat` takes to start and finish, which is what a shell script pays per call: `chat
 * --help`, `chat whoami` and `chat send` against `node -e 0` (the floor), timed in turns in the
 * same run, medians and ratios to the floor.
 */
export async function cliScenario() {
  const s = await startServer('chatd');
  try {
    const [a, b] = await users(s, 2);
    const cfg = fs.mkdtempSync(path.join(os.tmpdir(), 'chat-bench-cli-'));
    const chat = path.join(root, 'bin/chat.js');
    const env = { ...process.env, CHAT_SERVER: s.url, CHAT_CONFIG_DIR: cfg };
    const login = spawnSync(process.execPath, [chat, 'login', a!.name, '--password-stdin'], { env, input: 'bench-password\n' });
    if (login.status !== 0) throw new Error(`chat login failed: ${login.stderr.toString()}`);
    const commands: Record<string, string[]> = {
      'node -e 0': ['-e', '0'],
      'chat --help': [chat, '--help'],
      'chat whoami': [chat, 'whoami'],
      'chat send': [chat, 'send', b!.name, 'bench message'],
    };
    const runs = quick ? 3 : 15;
    const times: Record<string, number[]> = Object.fromEntries(Object.keys(commands).map((k) => [k, []]));
    for (let i = 0; i < runs; i++) {
      for (const [name, argv] of Object.entries(commands)) {
        const t0 = performance.now();
        const r = spawnSync(process.execPath, argv, { env, stdio: ['ignore', 'ignore', 'pipe'] });
        const ms = performance.now() - t0;
        if (r.status !== 0) throw new Error(`${name} exited ${r.status}: ${r.stderr.toString()}`);
        times[name]!.push(ms);
      }
    }
    const floor = median(times['node -e 0']!);
    const out: Record<string, { medianMs: number; ratioToNode: number; runs: number }> = {};
    for (const [name, t] of Object.entries(times)) {
      const m = median(t);
      out[name] = { medianMs: Math.round(m), ratioToNode: Math.round((m / floor) * 100) / 100, runs: t.length };
      console.log(`cli ${name.padEnd(12)} median ${Math.round(m)} ms  ${out[name]!.ratioToNode}x node -e 0  (${t.length} runs)`);
    }
    return { commands: out, targets: { help: '<= 2x node -e 0', send: '<= 4x node -e 0' } };
  } finally {
    await stopServer(s);
  }
}
