import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BINDINGS } from '../../src/tui/keys.js';
import { helpRows } from '../../src/tui/HelpOverlay.js';
import { tmpDir, waitFor } from '../support/daemon.js';
import { CHAT_BIN, runChat, spawnChatd } from '../support/procs.js';

/**
 * The TUI as a daily driver, in a real terminal (issue 14, items 5–12): tmux runs `chat` for
 * carol, dave and erin; send-keys types (bursts with -l), capture-pane reads the screen and
 * pipe-pane records the bytes the TUI writes.
 */
const tmux = (...args: string[]) => execFileSync('tmux', ['-L', `chat-daily-${process.pid}`, ...args], { encoding: 'utf8' });
const screen = (s: string) => tmux('capture-pane', '-p', '-t', s);
const type = (s: string, ...keys: string[]) => tmux('send-keys', '-t', s, ...keys);
/** One write of several bytes: the TUI reads them as one chunk. */
const burst = (s: string, bytes: string) => tmux('send-keys', '-t', s, '-l', bytes);
const rows = (s: string) => screen(s).replace(/\n+$/, '').split('\n');
const statusBar = (s: string) => rows(s).at(-1) ?? '';
/** The message pane's rows: right of the sidebar's border. */
const pane = (s: string) => rows(s).map((l) => (l.includes('│') ? l.slice(l.indexOf('│') + 1) : ''));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const SESSIONS = ['carol', 'dave', 'erin'] as const;
const until = (f: () => boolean, ms = 10_000) => waitFor(f, ms).catch((e: Error) => {
  for (const s of SESSIONS) { try { console.log(`${s}:\n${screen(s)}`); } catch { /* not started */ } }
  throw e;
});

let chatd: Awaited<ReturnType<typeof spawnChatd>>;
let chatdDir = '';
const cfg = { carol: '', dave: '', erin: '' };
const as = (who: keyof typeof cfg) => ({ env: { CHAT_CONFIG_DIR: cfg[who] } });
const bytesOf = { carol: '', erin: '' };

/** Starts a TUI in a tmux session (the shell line says how it exited). */
function openTui(name: (typeof SESSIONS)[number], extra = '', args = '', size = ['100', '30']) {
  tmux('new-session', '-d', '-s', name, '-x', size[0]!, '-y', size[1]!, `env CI=1 ${extra} CHAT_CONFIG_DIR=${cfg[name]} TERM=xterm-256color ${process.execPath} ${CHAT_BIN} ${args}; echo "EXITED $?"; sleep 60`);
}

beforeAll(async () => {
  chatdDir = tmpDir();
  chatd = await spawnChatd(chatdDir);
  for (const name of ['carol', 'erin'] as const) {
    cfg[name] = path.join(tmpDir('chat-tui-'), 'cfg');
    expect((await runChat(['register', `tmux_${name}`, '--password-stdin'], { env: { CHAT_CONFIG_DIR: cfg[name], CHAT_SERVER: chatd.url }, input: `password-${name}\n` })).code).toBe(0);
  }
  expect((await runChat(['friends', 'add', 'tmux_erin'], as('carol'))).code).toBe(0);
  expect((await runChat(['friends', 'add', 'tmux_carol'], as('erin'))).code).toBe(0);
  // dave has no account yet: he registers in the TUI's form.
  cfg.dave = path.join(tmpDir('chat-tui-'), 'cfg');
}, 60_000);

afterAll(async () => {
  try { tmux('kill-server'); } catch { /* already gone */ }
  chatd.child.kill('SIGTERM');
  await chatd.exited;
});

describe('the TUI as a daily driver, in tmux', () => {
  it('9, 8: started while chatd is down it says so, where, and that it retries; once chatd is up the bar says online and nothing else', async () => {
    const port = chatd.port;
    chatd.child.kill('SIGTERM');
    expect(await chatd.exited).toBe(0);
    openTui('carol');
    await until(() => screen('carol').includes(`Cannot reach chatd at http://127.0.0.1:${port}`) && screen('carol').includes('Retrying'), 20_000);
    const down = screen('carol');
    console.log(`carol's TUI started while chatd is down:\n${down}`);
    expect(down).not.toContain('none yet');
    await until(() => statusBar('carol').includes('○ offline, reconnecting…'));
    chatd = await spawnChatd(chatdDir, {}, String(port));
    await until(() => statusBar('carol').includes('● online') && screen('carol').includes('tmux_erin'), 30_000);
    expect(screen('carol')).not.toContain('Cannot reach');
    expect(statusBar('carol')).not.toMatch(/offline|Cannot reach/);
    // The live stream works although it could not start with the TUI.
    expect((await runChat(['send', 'tmux_carol', 'live after the late start'], as('erin'))).code).toBe(0);
    await until(() => screen('carol').includes('tmux_erin: live after the late start'));
  }, 90_000);

  it('6: a burst of keys in the login form loses none (name+Enter, password+Enter); a burst of Backspaces deletes each', async () => {
    tmux('new-session', '-d', '-s', 'dave', '-x', '100', '-y', '30', `env CI=1 CHAT_SERVER=${chatd.url} CHAT_CONFIG_DIR=${cfg.dave} TERM=xterm-256color ${process.execPath} ${CHAT_BIN}; echo "EXITED $?"; sleep 60`);
    await until(() => screen('dave').includes('Log in to'));
    type('dave', 'C-r');
    await until(() => screen('dave').includes('Register to'));
    burst('dave', 'tmux_dave\r');
    await until(() => screen('dave').includes('username: tmux_dave'));
    burst('dave', 'password-dave\r');
    await until(() => statusBar('dave').includes('● online') && screen('dave').includes('No conversation selected. Alt+A adds a friend'), 20_000);
    expect(statusBar('dave')).toContain('tmux_dave@');
    burst('dave', 'abcdefgh');
    await until(() => /^> abcdefgh\s*$/m.test(screen('dave')));
    burst('dave', '\x7f'.repeat(6));
    await until(() => /^> ab\s*$/m.test(screen('dave')));
    type('dave', 'C-u');
    await until(() => /^>\s*$/m.test(screen('dave')));
  }, 60_000);

  it('5, 8: a friend request and its acceptance reach both open TUIs live; the notice then expires', async () => {
    type('carol', 'M-a');
    await until(() => /^add friend:/m.test(screen('carol')));
    burst('carol', 'tmux_dave\r');
    await until(() => statusBar('carol').includes('friend request sent to tmux_dave'));
    await until(() => statusBar('dave').includes('tmux_carol sent you a friend request (Alt+Y accepts)') && screen('dave').includes('requests (Alt+Y):'));
    type('dave', 'M-y');
    await until(() => statusBar('dave').includes('you and tmux_carol are now friends') && screen('dave').includes('to tmux_carol>'));
    await until(() => statusBar('carol').includes('you and tmux_dave are now friends') && screen('carol').includes('tmux_dave'));
    expect(screen('dave')).not.toContain('requests (Alt+Y):');
    // Notices expire (8 s): the bar goes back to its hint, and never ends in a stray "…".
    const shown = Date.now();
    await until(() => statusBar('carol').includes('? for keys'), 15_000);
    console.log(`the notice cleared after ${Date.now() - shown} ms; carol's bar: ${JSON.stringify(statusBar('carol').trim())}`);
    expect(statusBar('carol')).not.toContain('now friends');
    expect(statusBar('carol').trimEnd()).not.toMatch(/…$/);
  }, 60_000);

  it('7, 6, 12: the input line edits as in readline; Alt+Enter and a bracketed paste make one two-line message whose second line sits under the first', async () => {
    // capture-pane drops trailing blanks, the cursor's included.
    const prompt = (text: string) => new RegExp(`to tmux_carol>${text ? ` ${text.replace(/[[\]]/g, '\\$&')}` : ''}\\s*$`, 'm');
    // A draft of two lines: two rows of the input box, the second under the first.
    const box = (a: string, b: string) => new RegExp(`to tmux_carol> ${a}\\s*\\n {15}${b}\\s*$`, 'm');
    burst('dave', 'hello world');
    await until(() => prompt('hello world').test(screen('dave')));
    type('dave', 'Left'); type('dave', 'Left'); burst('dave', '_');
    await until(() => prompt('hello wor_ld').test(screen('dave')));
    type('dave', 'C-a'); burst('dave', '[');
    await until(() => prompt('[hello wor_ld').test(screen('dave')));
    type('dave', 'C-e'); burst('dave', ']');
    await until(() => prompt('[hello wor_ld]').test(screen('dave')));
    type('dave', 'C-w');
    await until(() => prompt('[hello').test(screen('dave')));
    type('dave', 'C-u');
    await until(() => prompt('').test(screen('dave')));
    burst('dave', 'one two three');
    await until(() => prompt('one two three').test(screen('dave')));
    type('dave', 'M-b'); type('dave', 'M-b'); type('dave', 'C-k');
    await until(() => prompt('one').test(screen('dave')));
    type('dave', 'Home'); burst('dave', '>'); type('dave', 'End'); burst('dave', '<');
    await until(() => prompt('>one <').test(screen('dave')));
    type('dave', 'C-u');
    burst('dave', 'first line');
    type('dave', 'M-Enter');
    burst('dave', 'second line');
    await until(() => box('first line', 'second line').test(screen('dave')));
    type('dave', 'Enter');
    await until(() => prompt('').test(screen('dave')));
    // carol has dave's conversation at the top: open it and see both lines, the second under the first.
    await until(() => screen('carol').includes('tmux_dave: first line'));
    type('carol', 'Tab');
    for (let i = 0; i < 3 && !screen('carol').includes('to tmux_dave>'); i++) { type('carol', 'C-n'); await sleep(300); }
    await until(() => screen('carol').includes('to tmux_dave>') && screen('carol').includes('second line'));
    const r = pane('carol');
    const first = r.findIndex((l) => l.includes('tmux_dave: first line'));
    expect(r[first + 1]!.indexOf('second line')).toBe(r[first]!.indexOf('first line'));
    // ↑ brings back the sent line (both lines of it), ↓ the empty draft again.
    type('dave', 'Up');
    await until(() => box('first line', 'second line').test(screen('dave')));
    type('dave', 'Down');
    await until(() => prompt('').test(screen('dave')));
    // A bracketed paste of two lines is one draft: nothing goes out until Enter, then one message.
    tmux('set-buffer', '-b', 'two', 'pasted line one\npasted line two');
    tmux('paste-buffer', '-p', '-b', 'two', '-t', 'dave');
    await until(() => box('pasted line one', 'pasted line two').test(screen('dave')));
    await sleep(500);
    expect(pane('carol').join('\n')).not.toContain('pasted line');
    type('dave', 'Enter');
    await until(() => pane('carol').join('\n').includes('pasted line two'));
    const p = pane('carol');
    expect(p.filter((l) => l.includes('pasted line one'))).toHaveLength(1);
    expect(p.findIndex((l) => l.includes('pasted line two'))).toBe(p.findIndex((l) => l.includes('tmux_dave: pasted line one')) + 1);
  }, 60_000);

  it('12: a message too long for the pane wraps with its continuation lines under its text, never at column 0', async () => {
    const long = Array.from({ length: 30 }, (_, i) => `word${i}`).join(' ');
    expect((await runChat(['send', 'tmux_dave', long], as('carol'))).code).toBe(0);
    await until(() => screen('dave').includes('word29'));
    const r = pane('dave');
    const first = r.findIndex((l) => l.includes('tmux_carol: word0 '));
    const last = r.findIndex((l) => l.includes('word29'));
    console.log(`dave's pane with a wrapped message:\n${r.slice(first, last + 1).join('\n')}`);
    expect(last).toBeGreaterThan(first + 1);
    const col = r[first]!.indexOf('word0');
    // Every continuation row is blank up to the column where the text started, then text.
    for (let i = first + 1; i <= last; i++) expect(r[i]!.search(/\S/), r[i]).toBe(col);
  }, 30_000);

  it('10: a refused send reads as a sentence; a short conversation shows its beginning, not "older messages"', async () => {
    expect(screen('dave')).toContain('(beginning of conversation)');
    expect(screen('dave')).not.toContain('older messages');
    expect((await runChat(['friends', 'remove', 'tmux_dave'], as('carol'))).code).toBe(0);
    await until(() => statusBar('dave').includes('tmux_carol is no longer a friend'));
    burst('dave', 'are you there');
    type('dave', 'Enter');
    await until(() => /are you there ✗ \S/.test(screen('dave')));
    const refused = screen('dave').split('\n').find((l) => l.includes('are you there ✗'))!;
    console.log(`a refused send on dave's screen: ${refused.trim()}`);
    expect(screen('dave')).not.toContain('CHAT_ERR_');
    expect(refused).toMatch(/✗ not sent: [A-Z][a-z]+ /);
    // It stays until dismissed.
    type('dave', 'Escape');
    await until(() => !screen('dave').includes('are you there'));
    // Friends again, for what follows.
    expect((await runChat(['friends', 'add', 'tmux_dave'], as('carol'))).code).toBe(0);
    expect((await runChat(['friends', 'add', 'tmux_carol'], { env: { CHAT_CONFIG_DIR: cfg.dave } })).code).toBe(0);
    await until(() => statusBar('dave').includes('now friends'));
  }, 30_000);

  it('10: Ctrl+R searches the server: the hits in a list, Enter shows one in place ("1 of 5"), Ctrl+G the next, and "no messages found"', async () => {
    for (let i = 1; i <= 5; i++) expect((await runChat(['send', 'tmux_dave', `apple number ${i}`], as('carol'))).code).toBe(0);
    await until(() => screen('dave').includes('apple number 5'));
    type('dave', 'C-r');
    await until(() => /^search /m.test(screen('dave')));
    burst('dave', 'apple\r');
    await until(() => screen('dave').includes('5 found for apple'));
    type('dave', 'Enter');
    await until(() => statusBar('dave').includes('search "apple": 1 of 5'));
    type('dave', 'C-g');
    await until(() => statusBar('dave').includes('search "apple": 2 of 5'));
    type('dave', 'C-r');
    await until(() => /^search /m.test(screen('dave')));
    burst('dave', 'zzz\r');
    await until(() => statusBar('dave').includes('search "zzz": no messages found'));
  }, 30_000);

  it('10: 30 unread messages open at a "new messages" line, with the first unread right under it', async () => {
    // carol looks at erin's conversation while dave sends 30.
    for (let i = 0; i < 3 && !screen('carol').includes('to tmux_erin>'); i++) { type('carol', 'C-n'); await sleep(300); }
    await until(() => screen('carol').includes('to tmux_erin>'));
    for (let i = 1; i <= 30; i++) expect((await runChat(['send', 'tmux_carol', `unread ${String(i).padStart(2, '0')}`], { env: { CHAT_CONFIG_DIR: cfg.dave } })).code).toBe(0);
    await until(() => screen('carol').includes('tmux_dave (30)'));
    type('carol', 'C-n');
    await until(() => screen('carol').includes('to tmux_dave>') && screen('carol').includes(' new messages '));
    const r = pane('carol');
    const at = r.findIndex((l) => l.includes(' new messages '));
    console.log(`carol opens dave's conversation with 30 unread:\n${screen('carol')}`);
    // Right under the header line.
    expect(at).toBe(1);
    expect(r[0]).toMatch(/tmux_dave · ● online/);
    expect(r[at + 1]).toMatch(/tmux_dave: unread 01/);
    expect(r.join('\n')).not.toContain('unread 30');
    expect(r.join('\n')).toContain('lines below: End or Ctrl+L jumps to the latest');
    type('carol', 'C-l');
    await until(() => pane('carol').join('\n').includes('unread 30'));
  }, 90_000);

  it('10: at 80×24 the help shows every binding; the TUI logs JSON lines to a rolled file (current.log) in its state dir', async () => {
    tmux('resize-window', '-t', 'dave', '-x', '80', '-y', '24');
    await until(() => rows('dave').length <= 24 && statusBar('dave').includes('● online'));
    type('dave', 'F1');
    await until(() => screen('dave').includes('Keys (Esc or ? closes'));
    const help = screen('dave');
    console.log(`help at 80x24:\n${help}`);
    // Every row is on screen, and the rows stand for every binding.
    const rowsOfHelp = helpRows();
    for (const r of rowsOfHelp) expect(help, r.id).toContain(r.keys.slice(0, 12));
    expect(rowsOfHelp.flatMap((r) => r.ids).sort()).toEqual(BINDINGS.map((b) => b.id).sort());
    type('dave', 'Escape');
    await until(() => !screen('dave').includes('Keys (Esc'));
    // CHAT_CONFIG_DIR names carol's folder, so her state (the log) is kept there too.
    const current = path.join(cfg.carol, 'current.log');
    expect(fs.readlinkSync(current)).toMatch(/^tui\.\d+\.log$/);
    const started = fs.readFileSync(current, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { msg: string; server?: string });
    expect(started.some((l) => l.msg === 'tui started' && typeof l.server === 'string')).toBe(true);
    expect(fs.statSync(current).mode & 0o777).toBe(0o600);
  }, 30_000);

  it('11: a message off screen, or while the terminal is unfocused, rings the bell and raises OSC 9/777; focused and on screen it does not; --quiet never does', async () => {
    bytesOf.carol = path.join(tmpDir('chat-pipe-'), 'carol.out');
    tmux('pipe-pane', '-o', '-t', 'carol', `cat >> ${bytesOf.carol}`);
    const bells = () => (fs.existsSync(bytesOf.carol) ? fs.readFileSync(bytesOf.carol, 'latin1').split('\u0007').length - 1 : 0);
    const desktop = () => (fs.existsSync(bytesOf.carol) ? fs.readFileSync(bytesOf.carol, 'latin1') : '');
    await sleep(3500); // past the notification throttle
    // carol has dave's conversation open: a message from erin is off screen.
    expect((await runChat(['send', 'tmux_carol', 'from erin, off screen'], as('erin'))).code).toBe(0);
    await until(() => desktop().includes('\u001b]9;chat: message from tmux_erin\u0007') && desktop().includes('\u001b]777;notify;chat;message from tmux_erin\u0007'));
    expect(desktop()).not.toContain('from erin, off screen\u0007');
    const afterOffScreen = bells();
    // On screen and focused: no bell.
    await sleep(3500);
    expect((await runChat(['send', 'tmux_carol', 'on screen, focused'], { env: { CHAT_CONFIG_DIR: cfg.dave } })).code).toBe(0);
    await until(() => screen('carol').includes('on screen, focused'));
    await sleep(500);
    const afterFocused = bells();
    // The terminal reports focus lost (ESC[O): the same conversation now rings.
    burst('carol', '\u001b[O');
    await sleep(3500);
    expect((await runChat(['send', 'tmux_carol', 'on screen, unfocused'], { env: { CHAT_CONFIG_DIR: cfg.dave } })).code).toBe(0);
    await until(() => screen('carol').includes('on screen, unfocused'));
    await until(() => bells() > afterFocused);
    burst('carol', '\u001b[I');
    console.log(`carol's bells: off screen ${afterOffScreen}, then on screen and focused ${afterFocused}, then unfocused ${bells()}`);
    expect(afterOffScreen).toBeGreaterThan(0);
    expect(afterFocused).toBe(afterOffScreen);

    // erin runs `chat tui --quiet`, unfocused, with carol's conversation open: nothing rings.
    openTui('erin', '', 'tui --quiet');
    await until(() => screen('erin').includes('to tmux_carol>') && statusBar('erin').includes('● online'), 20_000);
    bytesOf.erin = path.join(tmpDir('chat-pipe-'), 'erin.out');
    tmux('pipe-pane', '-o', '-t', 'erin', `cat >> ${bytesOf.erin}`);
    burst('erin', '\u001b[O');
    await sleep(500);
    expect((await runChat(['send', 'tmux_erin', 'to quiet erin'], as('carol'))).code).toBe(0);
    await until(() => screen('erin').includes('tmux_carol: to quiet erin'));
    await sleep(500);
    const erinBytes = fs.readFileSync(bytesOf.erin, 'latin1');
    expect(erinBytes).toContain('to quiet erin');
    expect(erinBytes).not.toContain('\u0007');
  }, 90_000);

  it('issue 28.10: erin picks carol\'s message with Alt+↑ and reacts, replies, edits her reply and deletes it, from the keyboard; carol sees each live', async () => {
    expect((await runChat(['send', 'tmux_erin', 'pick this one'], as('carol'))).code).toBe(0);
    await until(() => screen('erin').includes('tmux_carol: pick this one'));
    // erin's open conversation is carol's (the only one she has).
    await until(() => screen('erin').includes('to tmux_carol>'));
    type('erin', 'M-Up');
    await until(() => /▶ \d\d:\d\d tmux_carol: pick this one/.test(screen('erin')));
    type('erin', 'M-.');
    await until(() => screen('erin').includes('react (Enter)'));
    type('erin', '4', 'Enter');
    await until(() => screen('erin').includes('pick this one  🎉'));
    type('erin', 'M-r');
    await until(() => screen('erin').includes('↪ replying to tmux_carol: pick this one'));
    burst('erin', 'my reply');
    type('erin', 'Enter');
    await until(() => screen('erin').includes('tmux_erin: my reply') && !screen('erin').includes('replying to'));
    type('erin', 'M-Up', 'M-e');
    await until(() => /edit #\d+> my reply/.test(screen('erin')));
    burst('erin', ', edited');
    type('erin', 'Enter');
    await until(() => screen('erin').includes('tmux_erin: my reply, edited (edited)'));
    const mid = screen('erin');
    type('erin', 'M-Up', 'M-x');
    await until(() => screen('erin').includes('delete it?'));
    type('erin', 'y', 'Enter');
    await until(() => screen('erin').includes('tmux_erin: (deleted)'));
    console.log(`erin's pane after the reply and its edit:\n${pane('erin').filter((l) => l.trim()).slice(-6).join('\n')}\nand after the delete:\n${pane('erin').filter((l) => l.trim()).slice(-4).join('\n')}`);
    expect(mid).toContain('↪ tmux_carol: pick this one');
    // carol's side, as stored.
    const seen = JSON.parse((await runChat(['history', 'tmux_erin', '--json', '--limit', '2'], as('carol'))).stdout) as { text: string; reactions?: { emoji: string }[]; deleted?: { by: string } }[];
    expect(seen.map((m) => [m.text, m.reactions?.[0]?.emoji ?? '', m.deleted?.by ?? ''])).toEqual([['pick this one', '🎉', ''], ['', '', 'tmux_erin']]);
  }, 60_000);

  it('the TUIs end with Ctrl+C and exit 0', async () => {
    for (const s of SESSIONS) type(s, 'C-c');
    for (const s of SESSIONS) await until(() => screen(s).includes('EXITED 0'));
  }, 30_000);
});
