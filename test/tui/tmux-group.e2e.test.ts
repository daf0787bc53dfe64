import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tmpDir, waitFor } from '../support/daemon.js';
import { CHAT_BIN, runChat, spawnChatd } from '../support/procs.js';

/**
 * A three-person group in three real terminals (issue 16): tmux runs `chat` for gina, hank and
 * ivy; gina creates the group from the keyboard, everyone talks, and the screens are read back.
 */
const tmux = (...args: string[]) => execFileSync('tmux', ['-L', `chat-group-${process.pid}`, ...args], { encoding: 'utf8' });
const screen = (s: string) => tmux('capture-pane', '-p', '-t', s);
const type = (s: string, ...keys: string[]) => tmux('send-keys', '-t', s, ...keys);
const text = (s: string, t: string) => tmux('send-keys', '-t', s, '-l', t);
const rows = (s: string) => screen(s).replace(/\n+$/, '').split('\n');
const statusBar = (s: string) => rows(s).at(-1) ?? '';
const sidebar = (s: string) => rows(s).map((l) => (l.includes('│') ? l.slice(0, l.indexOf('│')) : l)).join('\n');

const PEOPLE = ['gina', 'hank', 'ivy'] as const;
type Who = (typeof PEOPLE)[number];
const until = (f: () => boolean, ms = 15_000) => waitFor(f, ms).catch((e: Error) => {
  for (const s of PEOPLE) { try { console.log(`${s}:\n${screen(s)}`); } catch { /* not started */ } }
  throw e;
});

let chatd: Awaited<ReturnType<typeof spawnChatd>>;
const cfg: Record<Who, string> = { gina: '', hank: '', ivy: '' };
const as = (who: Who) => ({ env: { CHAT_CONFIG_DIR: cfg[who] } });

beforeAll(async () => {
  chatd = await spawnChatd(tmpDir());
  for (const who of PEOPLE) {
    cfg[who] = path.join(tmpDir('chat-tui-'), 'cfg');
    expect((await runChat(['register', `tg_${who}`, '--password-stdin'], { env: { CHAT_CONFIG_DIR: cfg[who], CHAT_SERVER: chatd.url }, input: `password-${who}\n` })).code).toBe(0);
  }
  for (const other of ['hank', 'ivy'] as const) {
    expect((await runChat(['friends', 'add', `tg_${other}`], as('gina'))).code).toBe(0);
    expect((await runChat(['friends', 'add', 'tg_gina'], as(other))).code).toBe(0);
  }
  for (const who of PEOPLE) {
    tmux('new-session', '-d', '-s', who, '-x', '110', '-y', '30', `env CI=1 CHAT_CONFIG_DIR=${cfg[who]} TERM=xterm-256color ${process.execPath} ${CHAT_BIN}; echo "EXITED $?"; sleep 60`);
  }
  for (const who of PEOPLE) await until(() => statusBar(who).includes('● online'), 30_000);
}, 90_000);

afterAll(async () => {
  try { tmux('kill-server'); } catch { /* already gone */ }
  chatd.child.kill('SIGTERM');
  await chatd.exited;
});

describe('a three-person group in the TUI, in tmux', () => {
  it('is created from the keyboard, shows in every sidebar with unread counts and previews, carries messages, typing, "read by N", system lines and the member list', async () => {
    // gina: Alt+G, the group's name and two friends, Enter. The group opens on her screen.
    type('gina', 'M-g');
    await until(() => rows('gina').at(-2)!.includes('new group (name, then friends):'));
    text('gina', 'crew tg_hank tg_ivy');
    type('gina', 'Enter');
    await until(() => screen('gina').includes('to #crew>') && screen('gina').includes('system: tg_gina created #crew with tg_hank, tg_ivy'));
    text('gina', 'hello crew');
    type('gina', 'Enter');
    // hank and ivy: the group in the sidebar, its preview, an unread count.
    for (const who of ['hank', 'ivy'] as const) await until(() => /# crew · crew \(\d\)/.test(sidebar(who)) && sidebar(who).includes('tg_gina: hello crew'));
    console.log(`hank's screen with the new group:\n${screen('hank')}`);
    // hank and ivy open it (Ctrl+P: it is above the DM they had open) and read it.
    for (const who of ['hank', 'ivy'] as const) {
      type(who, 'C-p');
      await until(() => screen(who).includes('to #crew>'));
    }
    await until(() => screen('hank').includes('tg_gina: hello crew'));
    // hank types: gina sees who is typing.
    text('hank', 'hi gi');
    await until(() => screen('gina').includes('tg_hank is typing…'));
    text('hank', 'na');
    type('hank', 'Enter');
    await until(() => screen('gina').includes('tg_hank: hi gina') && screen('ivy').includes('tg_hank: hi gina'));
    // hank has read gina's message; once ivy has too, both have.
    await until(() => screen('gina').includes('hello crew ✓ read by'));
    await until(() => screen('ivy').includes('tg_gina: hello crew'));
    await until(() => screen('gina').includes('hello crew ✓ read by 2'));
    // The member list, on a key.
    type('gina', 'M-m');
    await until(() => screen('gina').includes('#crew · crew · 3 members') && screen('gina').includes('tg_ivy (member'));
    // hank's read marker reaches his own message once his receipt is relayed (coalesced: it may trail the list by a moment).
    await until(() => /● tg_hank \(member, read all\)/.test(screen('gina')));
    const members = screen('gina');
    expect(members).toMatch(/● tg_hank \(member, read all\)/);
    expect(members).toMatch(/tg_gina \(owner/);
    type('gina', 'Escape');
    // The member list closed (the header line still counts the members).
    await until(() => !screen('gina').includes('(owner') && screen('gina').includes('#crew · 3 members'));
    // A member added from the CLI shows as a system line, styled as such, and as a notice.
    const dan = path.join(tmpDir('chat-tui-'), 'cfg');
    expect((await runChat(['register', 'tg_dan', '--password-stdin'], { env: { CHAT_CONFIG_DIR: dan, CHAT_SERVER: chatd.url }, input: 'password-dan\n' })).code).toBe(0);
    expect((await runChat(['friends', 'add', 'tg_ivy'], { env: { CHAT_CONFIG_DIR: dan } })).code).toBe(0);
    expect((await runChat(['friends', 'add', 'tg_dan'], as('ivy'))).code).toBe(0);
    expect((await runChat(['group', 'role', '#crew', 'tg_ivy', 'admin'], as('gina'))).code).toBe(0);
    // ivy adds dan from the keyboard (Alt+I).
    type('ivy', 'M-i');
    await until(() => rows('ivy').at(-2)!.includes('add to the group (friends):'));
    text('ivy', 'tg_dan');
    type('ivy', 'Enter');
    await until(() => screen('gina').includes('system: tg_ivy added tg_dan') && screen('hank').includes('system: tg_ivy added tg_dan'));
    console.log(`gina's screen at the end:\n${screen('gina')}`);
  }, 120_000);
});
