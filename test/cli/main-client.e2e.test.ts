import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tmpDir, waitFor } from '../support/daemon.js';
import { chatdForFile, runChat, spawnChatd, spawnProc, CHAT_BIN } from '../support/procs.js';

/** Issue 31's CLI defects: completion after arguments and from the names cache, "did you mean '#ops'", exit codes, wording. */
const file = chatdForFile();

/**
 * Completes `line` (the cursor at its end) with the generated script in a real shell, as the
 * shell's completion would call it: bash's `complete -F`, or zsh's compinit with bashcompinit
 * (zsh from Debian; `.ci/run` installs it).
 */
function completer(script: string, env: Record<string, string>, shell: 'bash' | 'zsh' = 'bash') {
  const run = shell === 'bash'
    ? `${script}\nCOMP_LINE="$1"; COMP_POINT=\${#COMP_LINE}; _chat; printf '%s\\n' "\${COMPREPLY[@]}"`
    : `autoload -U +X compinit && compinit -u -D\n${script}\nCOMP_LINE="$1"; COMP_POINT=\${#COMP_LINE}; _chat; printf '%s\\n' "\${COMPREPLY[@]}"`;
  return (line: string) => execFileSync(shell, shell === 'zsh' ? ['-f', '-c', run, 'complete', line] : ['-c', run, 'complete', line], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', HOME: tmpDir('chat-shell-'), ...env } }).split('\n').filter(Boolean);
}

describe('the CLI around the TUI (issue 31)', () => {
  it('5: bash completes options after an argument, skips option values, and offers friends and #groups from the cache the CLI keeps', async () => {
    const ann = file.user('mc_ann');
    const ben = file.user('mc_ben');
    expect((await ann.run(['register', ann.name, '--password-stdin'], 'password-ann\n')).code).toBe(0);
    expect((await ben.run(['register', ben.name, '--password-stdin'], 'password-ben\n')).code).toBe(0);
    expect((await ann.run(['friends', 'add', ben.name])).code).toBe(0);
    expect((await ben.run(['friends', 'accept', ann.name])).code).toBe(0);
    expect((await ann.run(['group', 'create', 'mcops', ben.name])).code).toBe(0);
    const complete = completer((await runChat(['completion', 'bash'])).stdout, { CHAT_CONFIG_DIR: ann.env.CHAT_CONFIG_DIR });
    // Before anything listed them, no names: only what the command tree gives.
    expect(complete('chat send mc_')).toEqual([]);
    expect((await ann.run(['friends', 'list'])).code).toBe(0);
    expect((await ann.run(['group', 'list'])).code).toBe(0);
    const cache = path.join(ann.env.CHAT_CONFIG_DIR, 'completion-names');
    expect(fs.statSync(cache).mode & 0o777).toBe(0o600);
    const cases: [string, string[]][] = [
      ['chat send mc_', ['mc_ben']],
      ['chat send ', ['\\#mcops', 'mc_ben'].sort()],
      [`chat send ${ben.name} --i`, ['--idempotency-key']],
      [`chat send ${ben.name} hello --t`, ['--timeout']],
      ['chat --server http://127.0.0.1:3000 fr', ['friends']],
      ['chat history --limit 5 mc', ['mc_ben']],
      ['chat group add mc', ['mcops']],
      ['chat group add mcops ', ['mc_ben']],
      ['chat group role mcops mc_ben a', ['admin']],
      ['chat friends remove ', ['mc_ben']],
      ['chat login ', []],
      ['chat completion z', ['zsh']],
    ];
    const got = cases.map(([line]) => [line, complete(line).sort()] as const);
    for (const [line, words] of got) console.log(`completion: ${JSON.stringify(line)} -> ${words.join(' ') || '(nothing)'}`);
    expect(got).toEqual(cases.map(([line, want]) => [line, want.sort()]));
    // The same in zsh, from its own script (bashcompinit): it once failed with "unrecognized modifier 'C'".
    const zsh = completer((await runChat(['completion', 'zsh'])).stdout, { CHAT_CONFIG_DIR: ann.env.CHAT_CONFIG_DIR }, 'zsh');
    expect(cases.map(([line]) => [line, zsh(line).sort()])).toEqual(cases.map(([line, want]) => [line, want.sort()]));
    const namesFile = path.join(ann.env.CHAT_CONFIG_DIR, 'completion-names');
    for (const shell of [complete, zsh]) expect(shell(`chat send --file ${namesFile.slice(0, -3)}`)).toEqual([namesFile]);
    // The cache is read, never the server: with chatd unreachable, names still complete.
    const offline = completer((await runChat(['completion', 'bash'])).stdout, { CHAT_CONFIG_DIR: ann.env.CHAT_CONFIG_DIR, CHAT_SERVER: 'http://127.0.0.1:1' });
    expect(offline('chat send mc_')).toEqual(['mc_ben']);
    // A name completed with # is escaped, so the shell does not read it as a comment.
    const bash = execFileSync('bash', ['-c', 'printf "%s" \\#mcops'], { encoding: 'utf8' });
    expect(bash).toBe('#mcops');
  });

  it('8: "chat send ops" to a group of mine asks "did you mean \'#ops\'?"; a stranger learns nothing', async () => {
    const cy = file.user('mc_cy');
    const dee = file.user('mc_dee');
    const eve = file.user('mc_eve');
    for (const u of [cy, dee, eve]) expect((await u.run(['register', u.name, '--password-stdin'], `password-${u.name}\n`)).code).toBe(0);
    expect((await cy.run(['friends', 'add', dee.name])).code).toBe(0);
    expect((await dee.run(['friends', 'accept', cy.name])).code).toBe(0);
    expect((await cy.run(['group', 'create', 'mcteam', dee.name])).code).toBe(0);
    const send = await cy.run(['send', 'mcteam', 'hello team']);
    console.log(`chat send mcteam: exit ${send.code}, ${send.stderr.trim()}`);
    expect(send.code).toBe(1);
    expect(send.stderr).toContain("did you mean '#mcteam'?");
    // History with a user of that name is empty (as for any stranger), and says what was likely meant.
    const history = await cy.run(['history', 'mcteam']);
    expect(history.code).toBe(0);
    expect(history.stderr).toContain("no messages with mcteam; did you mean '#mcteam'?");
    // With the #, it goes.
    expect((await cy.run(['send', '#mcteam', 'hello team'])).code).toBe(0);
    // eve is in no such group: the same refusal as for any stranger, no hint.
    const stranger = await eve.run(['send', 'mcteam', 'hi']);
    expect(stranger.code).toBe(1);
    expect(stranger.stderr).not.toContain('#mcteam');
  });

  it('15: chat conversations lists mine, latest first, with unread and the last message; --json gives the views', async () => {
    const fay = file.user('mc_fay');
    const gus = file.user('mc_gus');
    for (const u of [fay, gus]) expect((await u.run(['register', u.name, '--password-stdin'], `password-${u.name}\n`)).code).toBe(0);
    expect((await fay.run(['conversations'])).stdout.trim()).toBe('no conversations yet');
    expect((await fay.run(['friends', 'add', gus.name])).code).toBe(0);
    expect((await gus.run(['friends', 'accept', fay.name])).code).toBe(0);
    expect((await fay.run(['group', 'create', 'mcfam', gus.name])).code).toBe(0);
    expect((await gus.run(['send', fay.name, 'first'])).code).toBe(0);
    expect((await gus.run(['send', fay.name, 'second'])).code).toBe(0);
    const human = await fay.run(['conversations']);
    console.log(`chat conversations:\n${human.stdout}`);
    const lines = human.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^mc_gus \(2\)\s+\d{4}-\d\d-\d\d \d\d:\d\d mc_gus: second$/);
    expect(lines[1]).toMatch(/^#mcfam\s+.* system: mc_fay created #mcfam with mc_gus$/);
    const json = await fay.json<{ with: string; unread: number; kind: string }[]>(['conversations']);
    expect(json.map((c) => [c.with, c.kind, c.unread])).toEqual([['mc_gus', 'dm', 2], ['#mcfam', 'group', 0]]);
  });

  it('9: without a terminal, "chat" and "chat friends" both exit 2 with the help on stderr; --json is in "chat --help"', async () => {
    const bare = await runChat([]);
    const friends = await runChat(['friends']);
    console.log(`chat: exit ${bare.code}; chat friends: exit ${friends.code}`);
    expect([bare.code, friends.code]).toEqual([2, 2]);
    expect(bare.stderr).toContain('Usage: chat');
    expect(bare.stdout).toBe('');
    expect(friends.stderr).toContain('Usage: chat friends');
    const help = await runChat(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--json\s+print data as JSON/);
    expect((await runChat(['tui', '--help'])).stdout).not.toContain('--json');
  });

  it('9: chat listen says in words why the connection dropped, and that it reconnects', async () => {
    const dir = tmpDir();
    let chatd = await spawnChatd(dir);
    const cfg = path.join(tmpDir('chat-cli-'), 'cfg');
    const env = { CHAT_CONFIG_DIR: cfg, CHAT_SERVER: chatd.url };
    expect((await runChat(['register', 'mc_lis', '--password-stdin'], { env, input: 'password-lis\n' })).code).toBe(0);
    const listen = spawnProc(CHAT_BIN, ['listen'], env);
    file.started.push(listen);
    await listen.waitLine(/^connected/);
    chatd.child.kill('SIGTERM');
    await chatd.exited;
    const line = await listen.waitLine(/disconnected/);
    console.log(`chat listen, chatd stopped: ${line}`);
    expect(line).toMatch(/^disconnected: the (server closed the connection|connection was closed); reconnecting$/);
    chatd = await spawnChatd(dir, {}, String(chatd.port));
    await waitFor(() => listen.lines.filter((l) => /^connected/.test(l)).length >= 2, 30_000);
    listen.child.kill('SIGINT');
    await listen.exited;
    chatd.child.kill('SIGTERM');
    await chatd.exited;
  }, 60_000);
});
