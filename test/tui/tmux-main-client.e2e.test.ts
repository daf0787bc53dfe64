import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Message } from '../../src/protocol/index.js';
import { helpRows, HELP_KEYS_WIDTH } from '../../src/tui/HelpOverlay.js';
import { sleep, tmpDir } from '../support/daemon.js';
import { runChat, spawnChatd } from '../support/procs.js';
import { tmuxRig } from '../support/tmux.js';

/**
 * Issue 31's TUI defects, each in a real terminal: ann's TUI in tmux, ben and cy through the CLI
 * (and their own TUIs where a defect needs one).
 */
const t = tmuxRig('main');
let chatd: Awaited<ReturnType<typeof spawnChatd>>;
const cfg = { ann: '', ben: '', cy: '' };
const as = (who: keyof typeof cfg) => ({ env: { CHAT_CONFIG_DIR: cfg[who] } });
const chat = async (who: keyof typeof cfg, ...args: string[]) => {
  const r = await runChat(args, as(who));
  expect(r.code, `${who}: chat ${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
};

beforeAll(async () => {
  chatd = await spawnChatd(tmpDir(), { CHAT_MESSAGE_RATE_LIMIT: '100000' });
  for (const who of ['ann', 'ben', 'cy'] as const) {
    cfg[who] = path.join(tmpDir('chat-tui-'), 'cfg');
    expect((await runChat(['register', `mt_${who}`, '--password-stdin'], { env: { CHAT_CONFIG_DIR: cfg[who], CHAT_SERVER: chatd.url }, input: `password-${who}\n` })).code).toBe(0);
  }
  await chat('ann', 'friends', 'add', 'mt_ben');
  await chat('ben', 'friends', 'accept', 'mt_ann');
  await chat('ann', 'friends', 'add', 'mt_cy');
  await chat('cy', 'friends', 'accept', 'mt_ann');
  await chat('cy', 'send', 'mt_ann', 'hello from cy');
  for (let i = 1; i <= 40; i++) await chat('ben', 'send', 'mt_ann', `ben line ${String(i).padStart(2, '0')}`);
}, 120_000);

afterAll(async () => {
  t.close();
  chatd.child.kill('SIGTERM');
  await chatd.exited;
});

describe('the TUI as a main client (issue 31), in tmux', () => {
  it('4: a conversation opened at start with 40 unread is read, and its count does not come back', async () => {
    t.open('ann', cfg.ann);
    await t.until(() => t.statusBar('ann').includes('● online') && t.screen('ann').includes('to mt_ben>'), 20_000);
    // Both of the start's conversation views have answered by now, and the receipt has gone out.
    await sleep(2500);
    const side = t.sidebar('ann').join('\n');
    console.log(`ann's sidebar 2.5 s after start:\n${side}`);
    expect(side).toMatch(/mt_ben\s*$/m);
    expect(side).not.toMatch(/mt_ben \(\d+/);
  }, 40_000);

  it('1: scrolled up, the pane says End or Ctrl+L jumps to the latest, and End (the input empty) does', async () => {
    await t.until(() => t.pane('ann').join('\n').includes('ben line 40'));
    t.type('ann', 'PPage');
    await t.until(() => t.pane('ann').join('\n').includes('lines below: End or Ctrl+L jumps to the latest'));
    expect(t.pane('ann').join('\n')).not.toContain('ben line 40');
    t.type('ann', 'End');
    await t.until(() => t.pane('ann').join('\n').includes('ben line 40') && !t.pane('ann').join('\n').includes('lines below'));
  }, 20_000);

  it('2: a draft over the server\'s limit shows a counter and is refused before sending, kept to be cut down', async () => {
    t.tmux('set-buffer', '-b', 'long', 'x'.repeat(4001));
    t.tmux('paste-buffer', '-p', '-b', 'long', '-t', 'ann');
    await t.until(() => t.rows('ann').at(-2)!.includes('4001/4000'));
    t.type('ann', 'Enter');
    await t.until(() => t.statusBar('ann').includes('too long to send: 4001 of at most 4000 characters'));
    console.log(`ann's input line and bar:\n${t.rows('ann').slice(-2).join('\n')}`);
    // Nothing went out, and the draft is still there.
    const history = JSON.parse(await chat('ben', 'history', 'mt_ann', '--json')) as Message[];
    expect(history).toHaveLength(40);
    expect(t.rows('ann').at(-2)).toContain('4001/4000');
    t.type('ann', 'C-u');
    await t.until(() => !t.rows('ann').at(-2)!.includes('4001'));
  }, 20_000);

  it('2: a refused send stays where it was written, in time (later messages come below it), until Esc dismisses it', async () => {
    for (let i = 0; i < 3 && !t.screen('ann').includes('to mt_cy>'); i++) { t.type('ann', 'C-n'); await sleep(300); }
    await t.until(() => t.screen('ann').includes('to mt_cy>'));
    await chat('cy', 'friends', 'remove', 'mt_ann');
    await t.until(() => t.statusBar('ann').includes('mt_cy is no longer a friend'));
    t.burst('ann', 'this one is refused');
    t.type('ann', 'Enter');
    await t.until(() => t.pane('ann').join('\n').includes('this one is refused ✗ not sent:'));
    await chat('cy', 'friends', 'add', 'mt_ann');
    await chat('ann', 'friends', 'accept', 'mt_cy');
    await chat('cy', 'send', 'mt_ann', 'after the refusal');
    await t.until(() => t.pane('ann').join('\n').includes('after the refusal'));
    const p = t.pane('ann');
    console.log(`ann's pane:\n${p.join('\n')}`);
    expect(p.findIndex((l) => l.includes('this one is refused'))).toBeLessThan(p.findIndex((l) => l.includes('after the refusal')));
    expect(p.join('\n')).toContain('(Esc dismisses)');
    t.type('ann', 'Escape');
    await t.until(() => !t.pane('ann').join('\n').includes('this one is refused'));
    expect(t.pane('ann').join('\n')).toContain('after the refusal');
  }, 30_000);

  it('6: the list holds still while the user moves through it; it follows activity again once they are back in the input line', async () => {
    t.type('ann', 'Tab');
    await t.until(() => t.screen('ann').includes('to mt_cy>'));
    const names = () => t.sidebar('ann').map((l) => /[○●#] (\S+)/.exec(l)?.[1]).filter(Boolean);
    const before = names();
    expect(before.slice(0, 2)).toEqual(['mt_cy', 'mt_ben']);
    await chat('ben', 'send', 'mt_ann', 'ben moves up');
    await t.until(() => /mt_ben \(1\)/.test(t.sidebar('ann').join('\n')));
    console.log(`ann's sidebar after ben's message, focus on the list:\n${t.sidebar('ann').join('\n')}`);
    expect(names()).toEqual(before);
    // ↓ goes to the row below, as seen: ben's.
    t.type('ann', 'Down');
    await t.until(() => t.screen('ann').includes('to mt_ben>'));
    t.type('ann', 'Tab');
    await t.until(() => names()[0] === 'mt_ben');
  }, 20_000);

  it('7: the help fits 80×24 and 120×35 whole: every row, no description cut', async () => {
    for (const [x, y] of [[80, 24], [120, 35]] as const) {
      t.tmux('resize-window', '-t', 'ann', '-x', String(x), '-y', String(y));
      await t.until(() => t.rows('ann').length <= y && t.statusBar('ann').includes('● online'));
      t.type('ann', 'F1');
      await t.until(() => t.screen('ann').includes('Keys (Esc or ? closes'));
      const help = t.screen('ann');
      console.log(`help at ${x}x${y}:\n${help}`);
      const w = Math.min(HELP_KEYS_WIDTH, Math.max(...helpRows().map((r) => r.keys.length)));
      for (const r of helpRows()) expect(help, r.id).toContain(`${r.keys.padEnd(w)}  ${r.description}`);
      expect(help).not.toMatch(/…\s*$/m);
      t.type('ann', 'Escape');
      await t.until(() => !t.screen('ann').includes('Keys (Esc'));
    }
  }, 30_000);

  it('9: a group\'s creator sees no "new messages" above their own "created" line, and a group message shows ✓ once sent', async () => {
    t.type('ann', 'M-g');
    await t.until(() => /^new group/m.test(t.screen('ann')));
    t.burst('ann', 'mtgrp mt_ben\r');
    await t.until(() => t.screen('ann').includes('to #mtgrp>') && t.pane('ann').join('\n').includes('created #mtgrp'));
    await sleep(500);
    expect(t.pane('ann').join('\n')).not.toContain(' new messages ');
    t.burst('ann', 'hello group\r');
    await t.until(() => /mt_ann: hello group ✓\s*$/m.test(t.pane('ann').join('\n')));
  }, 20_000);

  it('9: Esc after a search hit ends its notice; Ctrl+U clears a draft of several lines', async () => {
    t.type('ann', 'C-r');
    await t.until(() => /^search /m.test(t.screen('ann')));
    t.burst('ann', 'hello\r');
    await t.until(() => t.screen('ann').includes('found for hello'));
    t.type('ann', 'Enter');
    await t.until(() => t.statusBar('ann').includes('search "hello": 1 of'));
    t.type('ann', 'Escape');
    await t.until(() => !t.statusBar('ann').includes('search "hello"'), 3000);
    t.burst('ann', 'first');
    t.type('ann', 'M-Enter');
    t.burst('ann', 'second');
    // The input box grew to two rows.
    await t.until(() => /to #mtgrp> first\s*$/.test(t.rows('ann').at(-3)!) && /^ {11}second\s*$/.test(t.rows('ann').at(-2)!));
    t.type('ann', 'C-u');
    await t.until(() => /to #mtgrp>\s*$/.test(t.rows('ann').at(-2)!));
  }, 20_000);

  it('13: a pasted draft of 8 lines grows the input box to 5 rows, which scroll; ↑ moves up its lines; Ctrl+U clears it', async () => {
    t.tmux('set-buffer', '-b', 'eight', Array.from({ length: 8 }, (_, i) => `row ${i + 1}`).join('\n'));
    t.tmux('paste-buffer', '-p', '-b', 'eight', '-t', 'ann');
    const box = () => t.rows('ann').slice(-6, -1);
    await t.until(() => box()[4]!.includes('row 8') && box()[4]!.includes('lines 4-8 of 8'));
    console.log(`ann's input box:\n${box().join('\n')}`);
    expect(box().map((l) => /row \d/.exec(l)?.[0])).toEqual(['row 4', 'row 5', 'row 6', 'row 7', 'row 8']);
    // ↑ six times: the cursor on row 2, the box scrolled to show it.
    for (let i = 0; i < 6; i++) t.type('ann', 'Up');
    await t.until(() => box()[0]!.includes('row 1') && box()[4]!.includes('lines 1-5 of 8'));
    t.type('ann', 'End');
    t.type('ann', 'C-u');
    // Ctrl+U takes everything before the cursor (rows 1 and 2 here); at the end of the draft, the rest.
    await t.until(() => !t.screen('ann').includes('row 2') && box()[4]!.includes('lines 1-5 of 7'));
    for (let i = 0; i < 6; i++) t.type('ann', 'Down');
    t.type('ann', 'End');
    t.type('ann', 'C-u');
    await t.until(() => !t.screen('ann').includes('row 8') && /^to \S+>\s*$/.test(t.rows('ann').at(-2)!));
  }, 20_000);

  it('10: a header line names the open conversation: a friend with presence; a group with its name, members and topic', async () => {
    const header = () => t.pane('ann')[0] ?? '';
    await chat('ann', 'group', 'topic', 'mtgrp', 'release on friday');
    await t.until(() => header().includes('#mtgrp · 2 members · release on friday'));
    for (let i = 0; i < 4 && !t.screen('ann').includes('to mt_cy>'); i++) { t.type('ann', 'C-n'); await sleep(300); }
    await t.until(() => t.screen('ann').includes('to mt_cy>'));
    expect(header()).toMatch(/mt_cy · ○ offline/);
    console.log(`ann's header on cy's conversation: ${header().trim()}`);
  }, 20_000);

  it('11: Alt+K finds a conversation or friend by a few letters; ↑/↓ choose, Enter opens it', async () => {
    t.type('ann', 'M-k');
    await t.until(() => t.rows('ann').at(-2)!.includes('jump to'));
    t.burst('ann', 'mtg');
    await t.until(() => t.pane('ann').join('\n').includes('▶ #mtgrp'));
    t.type('ann', 'C-u');
    t.type('ann', 'BSpace', 'BSpace', 'BSpace');
    t.burst('ann', 'mt_');
    await t.until(() => /2 conversations match/.test(t.pane('ann').join('\n')));
    console.log(`ann's finder for "mt_":\n${t.pane('ann').slice(0, 4).join('\n')}`);
    t.type('ann', 'Down');
    await t.until(() => /▶ mt_ben/.test(t.pane('ann').join('\n')));
    t.type('ann', 'Enter');
    await t.until(() => t.screen('ann').includes('to mt_ben>'));
  }, 20_000);

  it('15: a friend request ann sent shows in her sidebar as waiting until it is answered', async () => {
    const dee = path.join(tmpDir('chat-tui-'), 'cfg');
    expect((await runChat(['register', 'mt_dee', '--password-stdin'], { env: { CHAT_CONFIG_DIR: dee, CHAT_SERVER: chatd.url }, input: 'password-dee\n' })).code).toBe(0);
    await chat('ann', 'friends', 'add', 'mt_dee');
    // The TUI hears of it on its next refresh: a friend event of its own makes one.
    await chat('cy', 'friends', 'remove', 'mt_ann');
    await t.until(() => /sent, waiting:/.test(t.sidebar('ann').join('\n')) && /mt_dee …/.test(t.sidebar('ann').join('\n')));
    console.log(`ann's sidebar with a request out:\n${t.sidebar('ann').filter((l) => l.trim()).join('\n')}`);
    expect((await runChat(['friends', 'accept', 'mt_ann'], { env: { CHAT_CONFIG_DIR: dee } })).code).toBe(0);
    await t.until(() => !/sent, waiting:/.test(t.sidebar('ann').join('\n')));
  }, 20_000);

  it('12: slash commands do what the CLI\'s group commands do, with Tab completion and the same refusals', async () => {
    const header = () => t.pane('ann')[0] ?? '';
    const input = () => t.rows('ann').at(-2) ?? '';
    t.type('ann', 'M-k');
    t.burst('ann', 'mtgrp\r');
    await t.until(() => t.screen('ann').includes('to #mtgrp>'));
    t.burst('ann', '/to');
    t.type('ann', 'Tab');
    await t.until(() => /to #mtgrp> \/topic\s*$/.test(input()));
    t.burst('ann', 'ship it monday\r');
    await t.until(() => header().includes('· ship it monday'));
    t.burst('ann', '/rename Ship crew\r');
    await t.until(() => header().includes('#mtgrp · Ship crew · 2 members'));
    t.burst('ann', '/role mt_b');
    t.type('ann', 'Tab');
    await t.until(() => /\/role mt_ben\s*$/.test(input()));
    t.burst('ann', 'admin\r');
    await t.until(() => t.statusBar('ann').includes('mt_ben is now an admin of #mtgrp'));
    // cy is no friend of ann's any more: the server's refusal, as the CLI would say it.
    t.burst('ann', '/invite mt_cy\r');
    await t.until(() => /add to #mtgrp: .*friend/i.test(t.statusBar('ann')));
    t.burst('ann', '/me waves\r');
    await t.until(() => /\* mt_ann waves/.test(t.pane('ann').join('\n')));
    t.burst('ann', '/frob\r');
    await t.until(() => t.statusBar('ann').includes('unknown command /frob'));
    expect(input()).toContain('/frob');
    t.type('ann', 'C-u');
    t.burst('ann', '/kick mt_ben\r');
    await t.until(() => header().includes('1 member'));
    console.log(`ann after the slash commands:\n${t.screen('ann')}`);
    const history = JSON.parse(await chat('ann', 'history', '#mtgrp', '--json')) as Message[];
    expect(history.map((m) => m.text)).toEqual(expect.arrayContaining(['/me waves', expect.stringMatching(/topic/), expect.stringMatching(/removed mt_ben/)]));
    t.burst('ann', '/leave\r');
    await t.until(() => !t.screen('ann').includes('#mtgrp'));
  }, 30_000);

  it('3: a failing $EDITOR says what failed and the screen is drawn again at once', async () => {
    for (const [who, editor, says] of [['ben', 'false', 'editor "false" exited with status 1'], ['cy', 'mt-no-such-editor', 'editor "mt-no-such-editor" not installed']] as const) {
      t.open(who, cfg[who], { env: `EDITOR=${editor}`, size: [80, 24] });
      await t.until(() => t.statusBar(who).includes('● online') && t.screen(who).includes('to mt_'), 20_000);
      t.burst(who, 'my draft');
      t.type(who, 'C-o');
      await t.until(() => t.statusBar(who).includes(says));
      console.log(`${who} after Ctrl+O with EDITOR=${editor}:\n${t.screen(who)}`);
      expect(t.screen(who)).toMatch(/to mt_\S+> my draft/);
      expect(t.screen(who)).toContain('Conversations');
    }
  }, 60_000);

  it('14: links are underlined and written as OSC 8 hyperlinks (CHAT_LINKS=on); Alt+O opens the picked message\'s link', async () => {
    const dir = tmpDir('chat-links-');
    const opened = path.join(dir, 'opened.txt');
    const opener = path.join(dir, 'opener.sh');
    fs.writeFileSync(opener, `#!/bin/sh\nprintf '%s\\n' "$1" >> ${opened}\n`, { mode: 0o700 });
    const bytes = path.join(dir, 'ben.out');
    t.open('links', cfg.ben, { env: `CHAT_LINKS=on CHAT_OPENER=${opener}` });
    await t.until(() => t.statusBar('links').includes('● online') && t.screen('links').includes('to mt_'), 20_000);
    for (let i = 0; i < 4 && !t.screen('links').includes('to mt_ann>'); i++) { t.type('links', 'C-n'); await sleep(300); }
    await t.until(() => t.screen('links').includes('to mt_ann>'));
    t.tmux('pipe-pane', '-o', '-t', 'links', `cat >> ${bytes}`);
    await chat('ann', 'send', 'mt_ben', 'the notes: https://example.com/notes_(v2).');
    await chat('ann', 'send', 'mt_ben', 'click \u001b]8;;https://evil.example/x\u001b\\here\u001b]8;;\u001b\\ please');
    await t.until(() => t.screen('links').includes('please'));
    await sleep(300);
    const out = fs.readFileSync(bytes, 'latin1');
    const targets = [...out.matchAll(/\u001b\]8;;([^\u001b]+)\u001b\\/g)].map((m) => m[1]);
    console.log(`hyperlink targets written: ${JSON.stringify(targets)}; the hostile message on screen: ${t.screen('links').split('\n').find((l) => l.includes('please'))?.trim()}`);
    expect(targets).toContain('https://example.com/notes_(v2)');
    // The message's own sequence is shown inert; its URL is linked only where it is shown as text.
    expect(t.screen('links')).toMatch(/click \^\[\]8;;https:\/\/evil\.example\/x/);
    expect(out).not.toContain('\u001b]8;;https://evil.example/x\u001b\\here');
    // Alt+↑ picks the last message (the hostile one), again the one before: its link opens.
    t.type('links', 'M-Up');
    t.type('links', 'M-Up');
    await t.until(() => /▶ \d\d:\d\d mt_ann: the notes/.test(t.pane('links').join('\n')));
    t.type('links', 'M-o');
    await t.until(() => fs.existsSync(opened) && fs.readFileSync(opened, 'utf8').includes('https://example.com/notes_(v2)'));
    expect(fs.readFileSync(opened, 'utf8').trim()).toBe('https://example.com/notes_(v2)');
  }, 40_000);

  it('17 and 16: tui.json sets seconds in times, rebinds the finder to Alt+J, says what it got wrong; with the mouse on, a click opens a conversation and the wheel scrolls', async () => {
    // eli, new, friends with ben and ann; ann sends 40 lines.
    const eli = path.join(tmpDir('chat-tui-'), 'cfg');
    const asEli = { env: { CHAT_CONFIG_DIR: eli } };
    expect((await runChat(['register', 'mt_eli', '--password-stdin'], { env: { CHAT_CONFIG_DIR: eli, CHAT_SERVER: chatd.url }, input: 'password-eli\n' })).code).toBe(0);
    for (const who of ['ann', 'ben'] as const) {
      await chat(who, 'friends', 'add', 'mt_eli');
      expect((await runChat(['friends', 'accept', `mt_${who}`], asEli)).code).toBe(0);
    }
    await chat('ben', 'send', 'mt_eli', 'hi eli');
    for (let i = 1; i <= 40; i++) await chat('ann', 'send', 'mt_eli', `to eli ${String(i).padStart(2, '0')}`);
    fs.writeFileSync(path.join(eli, 'tui.json'), JSON.stringify({ timestamps: 'HH:MM:SS', theme: 'light', mouse: true, keys: { jump: 'Alt+J', jumpQuoted: 'Alt+Q' }, colour: 'blue' }));
    t.open('eli', eli);
    await t.until(() => t.statusBar('eli').includes('● online') && t.screen('eli').includes('to mt_'), 20_000);
    await t.until(() => t.statusBar('eli').includes('unknown setting "colour"'));
    // Times with seconds.
    await t.until(() => /\d\d:\d\d:\d\d mt_ann: to eli 40/.test(t.pane('eli').join('\n')));
    // Alt+J is the finder now; Alt+K does nothing.
    t.type('eli', 'M-k');
    await sleep(300);
    expect(t.rows('eli').at(-2)).not.toContain('jump to');
    t.type('eli', 'M-j');
    await t.until(() => t.rows('eli').at(-2)!.includes('jump to'));
    t.type('eli', 'Escape');
    // F1 only once the finder has closed: an Esc and F1's own escape sequence read together are Alt+F1.
    await t.until(() => !t.rows('eli').at(-2)!.includes('jump to'));
    t.type('eli', 'F1');
    await t.until(() => t.screen('eli').includes('Ctrl+N / Ctrl+P / Alt+J'));
    t.type('eli', 'Escape');
    await t.until(() => !t.screen('eli').includes('Keys (Esc'));
    // The mouse: a click on the second conversation of the list opens it (rows 4-5: the first is rows 2-3).
    const open = () => /to (\S+)>/.exec(t.screen('eli'))?.[1];
    const second = t.sidebar('eli')[3]!.match(/[○●#] (\S+)/)?.[1];
    expect(second).toBeDefined();
    t.burst('eli', '\u001b[<0;3;4M\u001b[<0;3;4m');
    await t.until(() => open() === second);
    // Back on ann's conversation (the first row), the wheel scrolls it up, then down to the latest.
    t.burst('eli', '\u001b[<0;3;2M\u001b[<0;3;2m');
    await t.until(() => open() === 'mt_ann' && t.pane('eli').join('\n').includes('to eli 40'));
    t.burst('eli', '\u001b[<64;50;10M'.repeat(4));
    await t.until(() => !t.pane('eli').join('\n').includes('to eli 40') && t.pane('eli').join('\n').includes('lines below'));
    t.burst('eli', '\u001b[<65;50;10M'.repeat(4));
    await t.until(() => t.pane('eli').join('\n').includes('to eli 40'));
    console.log(`eli's TUI with tui.json:\n${t.screen('eli')}`);
  }, 60_000);
});
