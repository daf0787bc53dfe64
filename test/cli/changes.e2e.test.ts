/**
 * `chat edit`, `chat delete`, `chat react`, `chat send --reply-to` and what `history` and
 * `listen` show of them, run as subprocesses against a real chatd.
 */
import { describe, expect, it } from 'vitest';
import type { Message, MessageEdits } from '../../src/protocol/index.js';
import { chatdForFile, spawnProc, CHAT_BIN } from '../support/procs.js';

const file = chatdForFile();
const user = file.user;

describe('chat CLI: messages that change', () => {
  it('edits, reacts, replies and deletes from the shell; history and listen show it, plain and --json', async () => {
    const a = user('chg_ann');
    const b = user('chg_ben');
    expect((await a.run(['register', a.name, '--password-stdin'], 'password-a\n')).code).toBe(0);
    expect((await b.run(['register', b.name, '--password-stdin'], 'password-b\n')).code).toBe(0);
    expect((await a.run(['friends', 'add', b.name])).code).toBe(0);
    expect((await b.run(['friends', 'accept', a.name])).code).toBe(0);
    const listen = spawnProc(CHAT_BIN, ['listen', '--json', '--events'], b.env);
    file.started.push(listen);
    await listen.waitLine(/connected/);
    const m = await a.json<Message>(['send', b.name, 'helo', 'world']);
    const edit = await a.json<Message>(['edit', b.name, String(m.seq), 'hello world']);
    expect(edit).toMatchObject({ kind: 'edit', target: m.seq, text: 'hello world' });
    expect(JSON.parse(await listen.waitLine(/"event":"message:change"/))).toMatchObject({ event: 'message:change', data: { kind: 'edit', seq: edit.seq } });
    expect((await b.run(['react', a.name, String(m.seq), '🎉'])).stderr).toMatch(/^reacted 🎉 to #1 \(change #3\)/);
    const reply = await b.json<Message>(['send', a.name, '--reply-to', String(m.seq), 'agreed']);
    expect(reply.reply).toEqual({ seq: m.seq, from: a.name, snippet: 'hello world' });
    const plain = (await b.run(['history', a.name])).stdout;
    expect(plain).toMatch(/#1 chg_ann → chg_ben: hello world \(edited\)  \[🎉 1\]/);
    expect(plain).toMatch(/#4 chg_ben → chg_ann: agreed\n {4}│ ↪ re #1 chg_ann: hello world/);
    const edits = await b.json<MessageEdits>(['history', a.name, '--edits', String(m.seq)]);
    expect(edits.versions.map((v) => v.text)).toEqual(['helo world', 'hello world']);
    const records = (await b.run(['history', a.name, '--after-seq', '0'])).stdout;
    expect(records).toMatch(/#2 chg_ann edited #1: hello world/);
    expect(records).toMatch(/#3 chg_ben reacted 🎉 to #1/);
    expect((await a.run(['delete', b.name, String(m.seq)])).code).toBe(0);
    expect((await b.run(['history', a.name])).stdout).toMatch(/#1 chg_ann → chg_ben: \(deleted by chg_ann\)\n.*#4 chg_ben → chg_ann: agreed\n {4}│ ↪ re #1 chg_ann: \(deleted\)/);
    expect((await b.json<Message[]>(['history', a.name, '--changed-since', '3'])).map((x) => [x.seq, x.deleted?.by])).toEqual([[1, a.name]]);
    // Refusals exit 1 with their code; bad arguments exit 2.
    const again = await a.run(['edit', b.name, String(m.seq), 'resurrect']);
    expect([again.code, again.stderr]).toEqual([1, expect.stringContaining('CHAT_ERR_MESSAGE_DELETED')]);
    const notMine = await b.run(['edit', a.name, String(reply.seq - 2), 'x']);
    expect(notMine.code).toBe(1);
    expect((await b.run(['react', a.name, '4', 'lol'])).code).toBe(2);
    expect((await b.run(['react', a.name, '4', '👍', '--add', '--remove'])).code).toBe(2);
    expect((await b.run(['delete', a.name, 'four'])).code).toBe(2);
    expect((await b.run(['history', a.name, '--edits', '1', '--changed-since', '1'])).code).toBe(2);
  });
});
