/**
 * examples/echo-bot.mjs, run as a user would run it: a subprocess with an API token made by
 * `chat token create`, against a real chatd. People talk to it with the `chat` CLI.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Message } from '../../src/protocol/index.js';
import { chatdForFile, spawnProc, CHAT_BIN } from '../support/procs.js';

const BOT = path.resolve(import.meta.dirname, '../../examples/echo-bot.mjs');
const file = chatdForFile();

describe('examples/echo-bot.mjs', () => {
  it('accepts a friend request, answers ping with pong in a DM and in a group, and repeats anything else', async () => {
    const bot = file.user('echo_bot');
    const ann = file.user('bot_ann');
    expect((await bot.run(['register', bot.name, '--password-stdin'], 'bot-password\n')).code).toBe(0);
    expect((await ann.run(['register', ann.name, '--password-stdin'], 'ann-password\n')).code).toBe(0);
    const created = await bot.run(['token', 'create', 'echo', '--password-stdin'], 'bot-password\n');
    expect(created.code).toBe(0);
    const token = created.stdout.trim();
    expect(token).toMatch(/^chat_/);

    const proc = spawnProc(BOT, [], { CHAT_SERVER: file.chatd.url, CHAT_BOT_TOKEN: token });
    file.started.push(proc);
    await proc.waitLine(/echo-bot: connected to .* as echo_bot/);

    const listen = spawnProc(CHAT_BIN, ['listen', '--json'], ann.env);
    file.started.push(listen);
    await listen.waitLine(/connected/);
    expect((await ann.run(['friends', 'add', bot.name])).code).toBe(0);
    await proc.waitLine(/echo-bot: accepted bot_ann/);

    expect((await ann.run(['send', bot.name, 'ping'])).code).toBe(0);
    const pong = JSON.parse(await listen.waitLine(/"from":"echo_bot".*"text":"pong"/)) as Message;
    expect(pong.conversationId).toBe('dm:bot_ann:echo_bot');

    expect((await ann.run(['group', 'create', 'botlab', bot.name])).code).toBe(0);
    expect((await ann.run(['send', '#botlab', 'hello', 'bot'])).code).toBe(0);
    const echoed = JSON.parse(await listen.waitLine(/"from":"echo_bot".*"text":"you said: hello bot"/)) as Message;
    expect(echoed.conversationId).toMatch(/^g:/);
    const history = await ann.json<Message[]>(['history', '#botlab']);
    const lines = history.map((m) => `${m.from}: ${m.text}`);
    console.log(`the bot's group, as ann reads it: ${lines.join(' | ')}`);
    expect(lines.slice(-2)).toEqual(['bot_ann: hello bot', 'echo_bot: you said: hello bot']);
  });

  it('accepts a friend request sent while it was not running, and says the error code of a refused token', async () => {
    const bot = file.user('echo_bot3');
    const bea = file.user('bot_bea');
    expect((await bot.run(['register', bot.name, '--password-stdin'], 'bot-password\n')).code).toBe(0);
    expect((await bea.run(['register', bea.name, '--password-stdin'], 'bea-password\n')).code).toBe(0);
    const token = (await bot.run(['token', 'create', 'echo', '--password-stdin'], 'bot-password\n')).stdout.trim();
    // The request comes first; the bot starts later, and gets no friend:update for it.
    expect((await bea.run(['friends', 'add', bot.name])).code).toBe(0);
    const proc = spawnProc(BOT, [], { CHAT_SERVER: file.chatd.url, CHAT_BOT_TOKEN: token });
    file.started.push(proc);
    await proc.waitLine(/echo-bot: accepted bot_bea/);
    const friends = await bea.json<{ username: string }[]>(['friends', 'list']);
    expect(friends.map((f) => f.username)).toContain(bot.name);

    const bad = spawnProc(BOT, [], { CHAT_SERVER: file.chatd.url, CHAT_BOT_TOKEN: 'chat_not-a-real-token' });
    expect(await bad.exited).toBe(1);
    console.log(`a bot with a bad token: ${bad.lines.filter(Boolean).join(' | ')}`);
    expect(bad.lines.join('\n')).toMatch(/echo-bot: GET \/v1\/me: CHAT_ERR_\w+/);
  });

  it('refuses to start without a token, and stops when its token is revoked', async () => {
    const none = spawnProc(BOT, [], { CHAT_SERVER: file.chatd.url });
    expect(await none.exited).toBe(2);
    expect(none.lines.join('\n')).toMatch(/set CHAT_BOT_TOKEN/);

    const bot = file.user('echo_bot2');
    expect((await bot.run(['register', bot.name, '--password-stdin'], 'bot-password\n')).code).toBe(0);
    const made = await bot.run(['token', 'create', 'echo', '--password-stdin', '--json'], 'bot-password\n');
    expect(made.code).toBe(0);
    const created = JSON.parse(made.stdout) as { id: string; token: string };
    const proc = spawnProc(BOT, [], { CHAT_SERVER: file.chatd.url, CHAT_BOT_TOKEN: created.token });
    file.started.push(proc);
    await proc.waitLine(/connected/);
    expect((await bot.run(['token', 'revoke', created.id])).code).toBe(0);
    expect(await proc.exited).toBe(1);
    expect(proc.lines.join('\n')).toMatch(/the server ended the session: CHAT_ERR_/);
  });
});
