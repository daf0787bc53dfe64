import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeGemini } from '../support/fake-gemini.js';
import { tmpDir, waitFor } from '../support/daemon.js';
import { CHAT_BIN, runChat, spawnChatd } from '../support/procs.js';

/** The TUI in a real terminal: tmux runs `chat`, send-keys types, capture-pane reads the screen. */
const tmux = (...args: string[]) => execFileSync('tmux', ['-L', `chat-test-${process.pid}`, ...args], { encoding: 'utf8' });
const screen = (s: string) => tmux('capture-pane', '-p', '-t', s);
const type = (s: string, ...keys: string[]) => tmux('send-keys', '-t', s, ...keys);

/** waitFor that shows both screens when it gives up. */
const until = (f: () => boolean, ms = 10_000) => waitFor(f, ms).catch((e: Error) => {
  const show = (s: string) => { try { return screen(s); } catch { return '(no session)'; } };
  console.log(`alice:\n${show('alice')}\nbob:\n${show('bob')}`);
  throw e;
});

let chatd: Awaited<ReturnType<typeof spawnChatd>>;
let chatdDir = '';
let chatdEnv: Record<string, string> = {};
let gemini: Awaited<ReturnType<typeof startFakeGemini>>;
const cfg = { alice: '', bob: '' };
let editor = '';

beforeAll(async () => {
  gemini = await startFakeGemini({ chunks: () => ['The answer ', 'is ', 'forty', '-two.'], chunkDelayMs: 700 });
  chatdDir = tmpDir();
  chatdEnv = { GEMINI_API_KEY: 'k', GEMINI_BASE_URL: gemini.url };
  chatd = await spawnChatd(chatdDir, chatdEnv);
  for (const name of ['alice', 'bob'] as const) {
    cfg[name] = path.join(tmpDir('chat-tui-'), 'cfg');
    expect((await runChat(['register', `tmux_${name}`, '--password-stdin'], { env: { CHAT_CONFIG_DIR: cfg[name], CHAT_SERVER: chatd.url }, input: `password-${name}\n` })).code).toBe(0);
  }
  expect((await runChat(['friends', 'add', 'tmux_bob'], { env: { CHAT_CONFIG_DIR: cfg.alice } })).code).toBe(0);
  expect((await runChat(['friends', 'add', 'tmux_alice'], { env: { CHAT_CONFIG_DIR: cfg.bob } })).code).toBe(0);
  // bob's $EDITOR: appends to what he had typed; when the draft says "cancel" it fails (exit 1)
  // and leaves a marker beside itself.
  editor = path.join(tmpDir('chat-editor-'), 'editor.sh');
  fs.writeFileSync(editor, `#!/bin/sh\nif grep -q cancel "$1"; then touch '${editor}.cancelled'; exit 1; fi\nprintf ' and more from the editor\\nsecond line\\n' >> "$1"\n`, { mode: 0o700 });
  for (const name of ['alice', 'bob'] as const) {
    // `chat` with no arguments on a terminal opens the TUI; the shell line reports how it exited.
    // CI=1 as many shells have it: the TUI must still draw (ink alone would not).
    // bob's terminal asks for no colour (NO_COLOR); alice's does not.
    // Each shell prints 200 numbered lines first: its scrollback must survive the TUI.
    tmux('new-session', '-d', '-s', name, '-x', '100', '-y', '30', `seq -f 'shell line %g' 1 200; env CI=1 ${name === 'bob' ? `NO_COLOR=1 VISUAL=${editor} EDITOR=${editor} ` : ''}CHAT_CONFIG_DIR=${cfg[name]} TERM=xterm-256color ${process.execPath} ${CHAT_BIN}; echo "EXITED $?"; sleep 30`);
  }
});

afterAll(async () => {
  try { tmux('kill-server'); } catch { /* already gone */ }
  chatd.child.kill('SIGTERM');
  await chatd.exited;
  await gemini.close();
});

describe('TUI in tmux', () => {
  it('alice and bob chat; typing, read state, a streamed /ai answer, inert escapes, NO_COLOR, $EDITOR and a resize show on screen', async () => {
    await until(() => screen('alice').includes('● online') && screen('bob').includes('● online'), 20_000);
    await until(() => screen('alice').includes('to tmux_bob>'));
    type('alice', 'hello bob, this is alice', 'Enter');
    await until(() => /tmux_alice: hello bob, this is alice/.test(screen('bob')));
    // bob has the conversation open, so alice sees it delivered and read.
    await until(() => /hello bob, this is alice ✓✓/.test(screen('alice')));

    type('bob', 'I am typing');
    await until(() => screen('alice').includes('tmux_bob is typing…'));
    type('bob', 'Enter');
    await until(() => screen('alice').includes('tmux_bob: I am typing'));

    type('alice', '/ai what is the answer', 'Enter');
    // Mid-stream: part of the answer with the cursor, on both screens.
    await until(() => /AI: The answer( is)?\s+▍/.test(screen('bob')), 15_000);
    const partial = screen('alice');
    await until(() => /\d\d:\d\d AI: The answer is forty-two\./.test(screen('alice')) && /AI: The answer is forty-two\./.test(screen('bob')), 15_000);
    expect(partial).not.toMatch(/forty-two\./);

    expect((await runChat(['send', 'tmux_alice', '-'], { env: { CHAT_CONFIG_DIR: cfg.bob }, input: 'evil \u001b]0;pwned\u0007 \u001b]52;c;ZXZpbA==\u0007 \u001b[2J\u001b[31mred\n' })).code).toBe(0);
    await until(() => screen('alice').includes('evil ^[]0;pwned^G ^[]52;c;ZXZpbA==^G ^[[2J^[[31mred'));
    expect(tmux('display-message', '-p', '-t', 'alice', '#{pane_title}').trim()).not.toBe('pwned');
    console.log(`tmux screen of alice:\n${screen('alice')}`);

    // Colours as the terminal shows them (capture-pane -e keeps the attributes): alice's screen
    // has foreground colours; bob's, under NO_COLOR, has none (bold, dim and inverse remain).
    const COLOUR = /\u001b\[(?:[0-9;]*;)?(?:3[0-7]|9[0-7]|38;[25];[0-9;]+)m/;
    expect(tmux('capture-pane', '-p', '-e', '-t', 'alice')).toMatch(COLOUR);
    const bobScreen = tmux('capture-pane', '-p', '-e', '-t', 'bob');
    expect(bobScreen).toContain('AI: The answer is forty-two.');
    expect(bobScreen).not.toMatch(COLOUR);

    // A keypress rewrites only what changed, and nothing ever clears the scrollback (ESC[3J).
    const bytes = path.join(tmpDir('chat-pipe-'), 'alice.out');
    tmux('pipe-pane', '-o', '-t', 'alice', `cat >> ${bytes}`);
    await new Promise((r) => setTimeout(r, 1500));
    const before = fs.existsSync(bytes) ? fs.statSync(bytes).size : 0;
    type('alice', 'x');
    await until(() => /to tmux_bob> x\s*$/m.test(screen('alice')));
    await new Promise((r) => setTimeout(r, 1500));
    const keypressBytes = fs.statSync(bytes).size - before;
    type('alice', 'BSpace');
    await until(() => /to tmux_bob>\s*$/m.test(screen('alice')));
    console.log(`bytes written for one keypress at 100x30: ${keypressBytes}`);
    expect(keypressBytes).toBeLessThan(600);

    // Ctrl+O hands the terminal to $EDITOR with the draft; what it saves comes back to the input
    // line on the TUI's own (alternate) screen, and Enter sends it. An editor that fails sends
    // nothing and keeps the draft.
    type('bob', 'draft');
    await until(() => screen('bob').includes('to tmux_alice> draft'));
    type('bob', 'C-o');
    await until(() => /to tmux_alice> draft and more from the editor\s*\n {15}second line/.test(screen('bob')) && screen('bob').includes('● online'));
    expect(tmux('display-message', '-p', '-t', 'bob', '#{alternate_on}').trim()).toBe('1');
    expect(screen('alice')).not.toContain('draft and more from the editor');
    type('bob', 'Enter');
    await until(() => screen('alice').includes('tmux_bob: draft and more from the editor') && screen('alice').includes('second line'));
    await until(() => /to tmux_alice>\s*$/m.test(screen('bob')) && screen('bob').includes('draft and more from the editor'));
    type('bob', 'cancel-it');
    await until(() => screen('bob').includes('to tmux_alice> cancel-it'));
    type('bob', 'C-o');
    await until(() => fs.existsSync(`${editor}.cancelled`));
    // Keys reach the TUI again (raw mode is back) and the draft is still there.
    type('bob', 'Z');
    await until(() => screen('bob').includes('to tmux_alice> cancel-itZ'));
    expect(screen('alice')).not.toContain('cancel-it');

    // The terminal shrinks: the layout follows, so the prompt and the status line stay on screen
    // (without a re-layout tmux would show the top rows of the old 30-row frame and cut both off).
    tmux('resize-window', '-t', 'alice', '-x', '72', '-y', '14');
    await until(() => {
      const rows = screen('alice').replace(/\n+$/, '').split('\n');
      return rows.length <= 14 && rows.some((l) => l.includes('to tmux_bob>')) && rows.some((l) => l.includes('● online')) && rows.some((l) => l.includes('hello bob, this is alice'));
    });
    console.log(`tmux screen of alice at 72x14:\n${screen('alice')}`);

    type('alice', 'C-c');
    await until(() => screen('alice').includes('EXITED 0'));
    // The alternate screen is gone: the shell's own screen is back, with its whole scrollback.
    expect(screen('alice')).not.toContain('to tmux_bob>');
    const history = tmux('capture-pane', '-p', '-S', '-', '-t', 'alice');
    const kept = history.split('\n').filter((l) => /^shell line \d+$/.test(l)).length;
    console.log(`shell lines in alice's scrollback after the TUI: ${kept} of 200`);
    expect(kept).toBe(200);
    expect(fs.readFileSync(bytes, 'latin1')).not.toContain('\u001b[3J');
  }, 120_000);

  it('chatd restarts while bob’s TUI is open: it shows offline, queues what he sends, then reconnects, sends it once and gets new messages live', async () => {
    await until(() => screen('bob').includes('● online') && screen('bob').includes('to tmux_alice>'));
    // An empty prompt (the first test leaves a draft in it). One key per write: ink reads a
    // chunk of several as one unknown key.
    for (let i = 0; i < 12 && !/to tmux_alice>\s*$/m.test(screen('bob')); i++) {
      type('bob', 'BSpace');
      await new Promise((r) => setTimeout(r, 50));
    }
    await until(() => /to tmux_alice>\s*$/m.test(screen('bob')));
    chatd.child.kill('SIGTERM');
    expect(await chatd.exited).toBe(0);
    await until(() => screen('bob').includes('○ offline, reconnecting…'));
    type('bob', 'written while the server was down', 'Enter');
    await until(() => screen('bob').includes('1 queued'));
    // The same data dir and port: the same accounts, secrets and history.
    chatd = await spawnChatd(chatdDir, chatdEnv, String(chatd.port));
    await until(() => screen('bob').includes('● online') && !screen('bob').includes('queued'), 30_000);
    const history = await runChat(['history', 'tmux_bob', '--json'], { env: { CHAT_CONFIG_DIR: cfg.alice } });
    expect(history.code).toBe(0);
    const texts = (JSON.parse(history.stdout) as { text: string }[]).map((m) => m.text);
    expect(texts.filter((t) => t === 'written while the server was down')).toHaveLength(1);
    // The live stream is back: a message alice sends now shows on bob's screen.
    expect((await runChat(['send', 'tmux_bob', 'after the restart'], { env: { CHAT_CONFIG_DIR: cfg.alice } })).code).toBe(0);
    await until(() => screen('bob').includes('tmux_alice: after the restart'));
    console.log(`tmux screen of bob after the restart:\n${screen('bob')}`);
  }, 90_000);
});
