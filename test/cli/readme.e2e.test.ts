/**
 * The README's "Two users chatting from shell scripts" block, extracted from README.md and run
 * exactly as written (bash -e, bin/ on PATH) against a fresh chatd, so the docs cannot drift.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Message } from '../../src/protocol/index.js';
import { tmpDir } from '../support/daemon.js';
import { CHAT_BIN, spawnChatd } from '../support/procs.js';

const root = path.resolve(import.meta.dirname, '../..');

/** The first ```sh block after a heading. */
export function readmeBlock(heading: string): string {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const at = readme.indexOf(`\n${heading}\n`);
  if (at < 0) throw new Error(`README has no heading ${heading}`);
  const m = /```sh\n([\s\S]*?)```/.exec(readme.slice(at));
  if (!m) throw new Error(`no sh block after ${heading}`);
  return m[1]!;
}

let chatd: Awaited<ReturnType<typeof spawnChatd>>;
beforeAll(async () => { chatd = await spawnChatd(tmpDir()); });
afterAll(async () => {
  chatd.child.kill('SIGTERM');
  await chatd.exited;
});

describe('README', () => {
  it('the shell-script walkthrough runs as written', async () => {
    const script = readmeBlock('### Two users chatting from shell scripts');
    const home = tmpDir('chat-readme-');
    const env = { PATH: `${path.dirname(CHAT_BIN)}:${process.env.PATH}`, HOME: home, TMPDIR: home, CHAT_SERVER: chatd.url };
    const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const p = spawn('bash', ['-e', '-c', script], { env, cwd: home });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
      p.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
      const t = setTimeout(() => p.kill('SIGKILL'), 60_000);
      p.on('close', (code) => { clearTimeout(t); resolve({ code, stdout, stderr }); });
    });
    console.log(`README script: exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
    expect(r.code).toBe(0);
    // bob's `chat listen --json` printed one message per line.
    const heard = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Message).filter((m) => m.to === 'bob');
    const texts = heard.map((m) => m.text);
    console.log(`bob heard ${heard.length}: ${JSON.stringify(texts)}`);
    expect(texts.slice(0, 4)).toEqual(['hello bob', 'from a pipe', 'sent at most once', '/ai what is the capital of Peru?']);
    expect(new Set(heard.map((m) => m.id)).size).toBe(heard.length);
  }, 90_000);
});
