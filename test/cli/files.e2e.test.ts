/** `chat send --file`, `chat files`, `chat download`, run as subprocesses against a real chatd: output, resume, hash check, exit codes. */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Message, SharedFile } from '../../src/protocol/index.js';
import { tmpDir, waitFor } from '../support/daemon.js';
import { CHAT_BIN, chatdForFile, spawnProc } from '../support/procs.js';

const file = chatdForFile();
const user = file.user;
const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

describe('chat and files', () => {
  it('sends files with a message, lists them, and downloads them (resuming a partial download, checking the hash)', async () => {
    const a = user('fil_ann');
    const b = user('fil_ben');
    expect((await a.run(['register', a.name, '--password-stdin'], 'password-a\n')).code).toBe(0);
    expect((await b.run(['register', b.name, '--password-stdin'], 'password-b\n')).code).toBe(0);
    expect((await a.run(['friends', 'add', b.name])).code).toBe(0);
    expect((await b.run(['friends', 'accept', a.name])).code).toBe(0);
    const listen = spawnProc(CHAT_BIN, ['listen', '--json'], b.env);
    file.started.push(listen);
    await listen.waitLine(/connected/);

    const dir = tmpDir('chat-files-cli-');
    const big = crypto.randomBytes(3 * 1024 * 1024 + 17);
    fs.writeFileSync(path.join(dir, 'big.bin'), big);
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'line one\nline two\n');
    const sent = await a.run(['send', b.name, '--file', path.join(dir, 'big.bin'), '--file', path.join(dir, 'notes.txt'), 'two', 'files']);
    expect(sent.code).toBe(0);
    // No progress bar in a pipe: one sentence, no carriage returns.
    expect(sent.stderr).toBe(`sent #1 to ${b.name} with 2 files\n`);
    const heard = await waitFor(() => listen.lines.find((l) => l.startsWith('{')));
    const live = JSON.parse(heard) as Message;
    expect(live.text).toBe('two files');
    expect(live.files!.map((f) => [f.name, f.size, f.type, f.sha256])).toEqual([['big.bin', big.length, 'application/octet-stream', sha(big)], ['notes.txt', 18, 'text/plain', sha(Buffer.from('line one\nline two\n'))]]);

    const listed = await b.json<SharedFile[]>(['files', a.name]);
    expect(listed.map((f) => [f.name, f.from, f.seq])).toEqual([['big.bin', a.name, 1], ['notes.txt', a.name, 1]]);
    const plain = await b.run(['files', a.name]);
    expect(plain.stdout).toMatch(new RegExp(`#1 ${a.name}: big\\.bin \\(3 MiB, application/octet-stream\\) ${listed[0]!.id}`));
    const history = await b.run(['history', a.name]);
    expect(history.stdout).toMatch(/two files\n {4}│ 📎 big\.bin \(3 MiB, application\/octet-stream\) [0-9a-f-]{36}\n {4}│ 📎 notes\.txt \(18 B, text\/plain\) [0-9a-f-]{36}/);

    // A download interrupted after 1 MiB (its .part left behind) continues from there.
    const out = path.join(dir, 'got.bin');
    fs.writeFileSync(`${out}.part`, big.subarray(0, 1024 * 1024));
    const got = await b.json<{ path: string; resumedFrom: number; sha256: string }>(['download', listed[0]!.id, '-o', out]);
    expect(got.resumedFrom).toBe(1024 * 1024);
    expect(sha(fs.readFileSync(out))).toBe(sha(big));
    expect(fs.statSync(out).mode & 0o777).toBe(0o600);
    expect(fs.existsSync(`${out}.part`)).toBe(false);
    // An existing file is not overwritten; --force does.
    expect((await b.run(['download', listed[0]!.id, '-o', out])).code).toBe(2);
    expect((await b.run(['download', listed[1]!.id, '-o', out, '--force'])).code).toBe(0);
    expect(fs.readFileSync(out, 'utf8')).toBe('line one\nline two\n');
    // A part that is not the file's beginning fails the hash check: exit 1, the part removed.
    const bad = path.join(dir, 'bad.bin');
    fs.writeFileSync(`${bad}.part`, Buffer.alloc(1000, 0x41));
    const mismatch = await b.run(['download', listed[0]!.id, '-o', bad]);
    expect([mismatch.code, mismatch.stderr]).toEqual([1, expect.stringMatching(/does not match the file's sha256/)]);
    expect(fs.existsSync(`${bad}.part`)).toBe(false);
    expect(fs.existsSync(bad)).toBe(false);

    // Exit codes: a missing file or a bad id is a usage error (2), before any upload; a file the server does not know, 1.
    for (const args of [['send', b.name, '--file', path.join(dir, 'nope.bin')], ['download', 'not-an-id'], ['download', listed[0]!.id, '-o', path.join(dir, 'no', 'such', 'dir', 'x')]]) {
      const r = await b.run(args);
      expect([args[0], r.code]).toEqual([args[0], 2]);
    }
    const stranger = user('fil_cat');
    expect((await stranger.run(['register', stranger.name, '--password-stdin'], 'password-c\n')).code).toBe(0);
    const refused = await stranger.run(['download', listed[0]!.id, '-o', path.join(dir, 'x')]);
    expect([refused.code, refused.stderr]).toEqual([1, expect.stringContaining('CHAT_ERR_FILE_NOT_FOUND')]);
    listen.child.kill('SIGINT');
    expect(await listen.exited).toBe(0);
  });
});
