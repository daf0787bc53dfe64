/**
 * Issue 25, item 15: the README's Python bot (examples/echo_bot.py) with python-socketio itself,
 * from PyPI, over the WebSocket transport as the README says: its handshake sends
 * `Origin: http://host:port` (the URL it reached), which chatd refused before. A same-origin
 * request must pass; foreign Origins stay refused (test/security/requests.test.ts).
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Message } from '../../src/protocol/index.js';
import { chatdForFile, spawnProc, CHAT_BIN } from '../support/procs.js';
import { spawn } from 'node:child_process';
import { services } from './env.js';

const env = services('CHAT_PYTHON');
const BOT = path.resolve(import.meta.dirname, '../../examples/echo_bot.py');

if (env) {
  const file = chatdForFile();
  describe('examples/echo_bot.py with python-socketio', () => {
    it('connects over WebSocket on its first try (its handshake carries a same-origin Origin), accepts a friend request (and one sent before it started) and answers ping with pong', async () => {
      const bot = file.user('py_bot');
      const ann = file.user('py_ann');
      expect((await bot.run(['register', bot.name, '--password-stdin'], 'bot-password\n')).code).toBe(0);
      expect((await ann.run(['register', ann.name, '--password-stdin'], 'ann-password\n')).code).toBe(0);
      const token = (await bot.run(['token', 'create', 'echo', '--password-stdin'], 'bot-password\n')).stdout.trim();
      expect(token).toMatch(/^chat_/);

      const early = file.user('py_early');
      expect((await early.run(['register', early.name, '--password-stdin'], 'early-password\n')).code).toBe(0);
      expect((await early.run(['friends', 'add', bot.name])).code).toBe(0);
      const child = spawn(env.CHAT_PYTHON, [BOT], { env: { PATH: process.env.PATH ?? '', CHAT_SERVER: file.chatd.url, CHAT_BOT_TOKEN: token, PYTHONUNBUFFERED: '1' } });
      const lines: string[] = [];
      const waitLine = (re: RegExp, ms = 20_000) => new Promise<string>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no line matching ${re}; got:\n${lines.join('\n')}`)), ms);
        const check = () => { const l = lines.find((x) => re.test(x)); if (l) { clearTimeout(t); resolve(l); } else setTimeout(check, 50); };
        check();
      });
      for (const s of [child.stdout, child.stderr]) s.on('data', (c: Buffer) => lines.push(...c.toString().split('\n').filter(Boolean)));
      try {
        await waitLine(/echo_bot.py: connected to .* as py_bot/);
        // A request sent before the bot started was accepted at its connect.
        await waitLine(/echo_bot.py: accepted py_early/);
        const listen = spawnProc(CHAT_BIN, ['listen', '--json'], ann.env);
        file.started.push(listen);
        await listen.waitLine(/connected/);
        expect((await ann.run(['friends', 'add', bot.name])).code).toBe(0);
        await waitLine(/echo_bot.py: accepted py_ann/);
        expect((await ann.run(['send', bot.name, 'ping'])).code).toBe(0);
        const pong = JSON.parse(await listen.waitLine(/"from":"py_bot".*"text":"pong"/)) as Message;
        const answered = await waitLine(/echo_bot.py: answered py_ann/);
        console.log(`python-socketio bot: ${lines.join(' | ')}`);
        expect(pong.conversationId).toBe('dm:py_ann:py_bot');
        expect(answered).toMatch(/over websocket$/);
        expect(lines.join('\n')).not.toMatch(/cannot connect|ORIGIN_NOT_ALLOWED/);
      } finally {
        child.kill('SIGTERM');
      }
    }, 60_000);
  });
}
