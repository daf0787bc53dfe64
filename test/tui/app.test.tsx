import React from 'react';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { render } from 'ink-testing-library';
import { App } from '../../src/tui/App.js';
import { helpRows } from '../../src/tui/HelpOverlay.js';
import { BINDINGS, type BindingId } from '../../src/tui/keys.js';
import { ApiClient, staticCredentials } from '../../src/client/api.js';
import { connect, sendDurable } from '../../src/client/socket.js';
import fs from 'node:fs';
import path from 'node:path';
import { befriend, registerUser, sleep, startDaemon, tmpDir, waitFor, type TestDaemon, type TestUser } from '../support/daemon.js';
import { uploadBytes } from '../support/files.js';

const KEY = {
  ctrlC: '\u0003', ctrlQ: '\u0011', ctrlN: '\u000e', ctrlP: '\u0010', ctrlU: '\u0015', ctrlD: '\u0004', ctrlL: '\u000c',
  ctrlF: '\u0006', ctrlG: '\u0007', ctrlA: '\u0001', ctrlY: '\u0019', ctrlO: '\u000f', tab: '\t', enter: '\r', esc: '\u001b',
  down: '\u001b[B', up: '\u001b[A', pageUp: '\u001b[5~', pageDown: '\u001b[6~', end: '\u001b[F',
  altF: '\u001bf', altK: '\u001bk', altO: '\u001bo', altS: '\u001bs',
  altUp: '\u001b[1;3A', altDown: '\u001b[1;3B', altE: '\u001be', altR: '\u001br', altDot: '\u001b.', altX: '\u001bx', altJ: '\u001bj',
  ctrlR: '\u0012', altA: '\u001ba', altY: '\u001by', altG: '\u001bg', altI: '\u001bi', altM: '\u001bm', altEnter: '\u001b\r', left: '\u001b[D', home: '\u001b[H', ctrlW: '\u0017', ctrlE: '\u0005', ctrlK: '\u000b', f1: '\u001bOP',
};

let d: TestDaemon;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;

beforeAll(async () => {
  d = await startDaemon({ CHAT_MESSAGE_RATE_LIMIT: '100000' });
  [alice, bob, carol] = [await registerUser(d.url, 'tui_alice'), await registerUser(d.url, 'tui_bob'), await registerUser(d.url, 'tui_carol')];
  await befriend(alice, bob);
  await befriend(alice, carol);
  const b = connect(d.url, staticCredentials(bob.auth.accessToken));
  for (let i = 1; i <= 80; i++) await sendDurable(b, { to: alice.name, text: i % 20 === 0 ? `needle number ${i}` : `line ${i} from bob`, clientMsgId: `seed${i}` });
  b.close();
  const c = connect(d.url, staticCredentials(carol.auth.accessToken));
  await sendDurable(c, { to: alice.name, text: 'hi from carol', clientMsgId: 'c1' });
  c.close();
});
afterAll(async () => { await d.close(); });

/** Renders alice's App at 80×24 against the live daemon; resolves once online with bob's conversation open. */
async function open(extra: { runEditor?: (t: string) => string | null; env?: NodeJS.ProcessEnv } = {}) {
  const api = new ApiClient(d.url, staticCredentials(alice.auth.accessToken));
  const conn = connect(d.url, staticCredentials(alice.auth.accessToken));
  const r = render(<App api={api} conn={conn} me={alice.name} server={d.url} noColor log={() => {}} size={{ columns: 80, rows: 24 }} {...extra} />);
  const frame = () => r.lastFrame() ?? '';
  await waitFor(() => frame().includes('● online') && /to tui_(bob|carol)>/.test(frame()), 10_000).catch((e) => { console.log('FRAME:\n' + frame()); throw e; });
  // Make bob's conversation the open one.
  for (let i = 0; i < 8 && !frame().includes('to tui_bob>'); i++) { r.stdin.write(KEY.ctrlN); await sleep(80); }
  // Its latest page is on screen (the key scenarios add messages after bob's 80 lines).
  await waitFor(() => frame().includes('to tui_bob>') && /\d\d:\d\d tui_(bob|alice): /.test(frame())).catch((e) => { console.log('FRAME2:\n' + frame()); throw e; });
  const press = async (...keys: string[]) => { for (const k of keys) { r.stdin.write(k); await sleep(60); } };
  return { r, conn, frame, press, close: () => { r.unmount(); conn.close(); } };
}

type Scenario = () => Promise<void>;
const scenarios: Record<BindingId, Scenario> = {
  async quit() {
    for (const k of [KEY.ctrlC, KEY.ctrlQ]) {
      const t = await open();
      await t.press(k);
      await waitFor(() => !t.conn.socket.connected);
      t.close();
    }
  },
  async help() {
    const t = await open();
    await t.press('?');
    await waitFor(() => t.frame().includes('Keys (Esc or ? closes')).catch((e) => { console.log(t.frame()); throw e; });
    // Every row fits on a 24-row terminal, and the rows stand for every binding.
    for (const row of helpRows()) expect(t.frame()).toContain(row.keys);
    expect(helpRows().flatMap((r) => r.ids).sort()).toEqual(BINDINGS.map((b) => b.id).sort());
    await t.press('?');
    await waitFor(() => !t.frame().includes('Keys (Esc'));
    await t.press(KEY.f1);
    await waitFor(() => t.frame().includes('Keys (Esc'));
    t.close();
  },
  async closeOverlay() {
    const t = await open();
    await t.press('?');
    await waitFor(() => t.frame().includes('Keys (Esc'));
    await t.press(KEY.esc);
    await waitFor(() => !t.frame().includes('Keys (Esc') && t.frame().includes('line 79 from bob'));
    t.close();
  },
  async switchPane() {
    const t = await open();
    await t.press(KEY.tab, 'j');
    // In the sidebar, j moves the selection instead of typing.
    await waitFor(() => t.frame().includes('to tui_carol>'));
    await t.press(KEY.tab, 'x');
    await waitFor(() => t.frame().includes('to tui_carol> x'));
    t.close();
  },
  async nextConversation() {
    const t = await open();
    await t.press(KEY.ctrlN);
    await waitFor(() => t.frame().includes('to tui_carol>') && t.frame().includes('hi from carol'));
    t.close();
  },
  async prevConversation() {
    const t = await open();
    await t.press(KEY.ctrlP);
    await waitFor(() => t.frame().includes('to tui_carol>'));
    await t.press(KEY.ctrlP);
    await waitFor(() => t.frame().includes('to tui_bob>'));
    t.close();
  },
  async jump() {
    const t = await open();
    await t.press(KEY.altK);
    await waitFor(() => t.frame().includes('jump to (a few letters'));
    await t.press('c', 'r', 'l');
    await waitFor(() => t.frame().includes('▶ tui_carol'));
    await t.press(KEY.enter, 'z');
    await waitFor(() => t.frame().includes('to tui_carol> z'));
    // Nothing matches: it says so and stays where it was.
    await t.press(KEY.ctrlU, KEY.altK, 'q', 'q', 'q', KEY.enter);
    await waitFor(() => t.frame().includes('no conversation matches "qqq"') && t.frame().includes('to tui_carol>'));
    t.close();
  },
  async sidebarDown() {
    const t = await open();
    await t.press(KEY.tab, KEY.down);
    await waitFor(() => t.frame().includes('to tui_carol>'));
    t.close();
  },
  async sidebarUp() {
    const t = await open();
    await t.press(KEY.tab, KEY.up);
    await waitFor(() => t.frame().includes('to tui_carol>'));
    await t.press('k');
    await waitFor(() => t.frame().includes('to tui_bob>'));
    t.close();
  },
  async openConversation() {
    const t = await open();
    await t.press(KEY.tab, 'j', KEY.enter, 'y');
    await waitFor(() => t.frame().includes('to tui_carol> y'));
    t.close();
  },
  async scrollUp() {
    const t = await open();
    expect(t.frame()).not.toContain('line 10 from bob');
    for (let i = 0; i < 6 && !t.frame().includes('line 10 from bob'); i++) await t.press(KEY.pageUp);
    // Older messages were loaded on demand and scrolled into view.
    await waitFor(() => t.frame().includes('line 10 from bob') && t.frame().includes('lines below'));
    t.close();
  },
  async scrollDown() {
    const t = await open();
    await t.press(KEY.pageUp, KEY.pageUp);
    await waitFor(() => t.frame().includes('lines below'));
    for (let i = 0; i < 8 && t.frame().includes('lines below'); i++) await t.press(KEY.pageDown);
    await waitFor(() => !t.frame().includes('lines below') && t.frame().includes('needle number 80'));
    t.close();
  },
  async jumpLatest() {
    for (const k of [KEY.ctrlL]) {
      const t = await open();
      await t.press(KEY.pageUp, KEY.pageUp);
      await waitFor(() => t.frame().includes('lines below'));
      await t.press(k);
      await waitFor(() => !t.frame().includes('lines below') && t.frame().includes('needle number 80'));
      t.close();
    }
  },
  async endLatest() {
    const t = await open();
    await t.press(KEY.pageUp, KEY.pageUp);
    await waitFor(() => t.frame().includes('lines below: End or Ctrl+L jumps to the latest'));
    // End with an empty input line jumps (the hint says so); with text it moves the cursor.
    await t.press(KEY.end);
    await waitFor(() => !t.frame().includes('lines below') && t.frame().includes('needle number 80'));
    t.close();
  },
  async dismissFailed() {
    // A refused send (the friend has just removed alice) stays in its place, in time, until Esc dismisses it.
    const frank = await registerUser(d.url, `tui_frank${Date.now() % 10000}`);
    await befriend(alice, frank);
    const t = await open();
    for (let i = 0; i < 8 && !t.frame().includes(`to ${frank.name}>`); i++) await t.press(KEY.ctrlN);
    await waitFor(() => t.frame().includes(`to ${frank.name}>`));
    await frank.api.removeFriend(alice.name);
    await waitFor(() => t.frame().includes('is no longer a friend'));
    await t.press(...'refused line'.split(''), KEY.enter);
    await waitFor(() => t.frame().includes('refused line ✗ not sent:') && t.frame().includes('(Esc dismisses)')).catch((e) => { console.log(t.frame()); throw e; });
    await t.press(KEY.esc);
    await waitFor(() => !t.frame().includes('refused line'));
    t.close();
  },
  async search() {
    const t = await open();
    const show = (e: Error) => { console.log(t.frame()); throw e; };
    await t.press(KEY.ctrlR);
    await waitFor(() => t.frame().includes('(Tab: everywhere')).catch(show);
    await t.press(...'needle'.split(''), KEY.enter);
    await waitFor(() => t.frame().includes('found for needle')).catch(show);
    await t.press(KEY.enter);
    await waitFor(() => t.frame().includes('needle number 80') && !t.frame().includes('found for needle')).catch(show);
    t.close();
  },
  async searchNext() {
    const t = await open();
    const show = (e: Error) => { console.log(t.frame()); throw e; };
    // Each step waits for its effect, so a slow history page under load cannot reorder them.
    await t.press(KEY.pageUp, KEY.pageUp, KEY.pageUp);
    await waitFor(() => t.frame().includes('lines below')).catch(show);
    await t.press(KEY.ctrlL);
    await waitFor(() => !t.frame().includes('lines below') && t.frame().includes('line 79 from bob')).catch(show);
    await t.press(KEY.ctrlR);
    await waitFor(() => t.frame().includes('(Tab: everywhere')).catch(show);
    await t.press(...'needle'.split(''), KEY.enter);
    await waitFor(() => t.frame().includes('found for needle')).catch(show);
    await t.press(KEY.enter);
    await waitFor(() => t.frame().includes('needle number 80') && !t.frame().includes('found for needle')).catch(show);
    await t.press(KEY.ctrlG);
    await waitFor(() => t.frame().includes('needle number 60') && t.frame().includes('lines below')).catch(show);
    t.close();
  },
  async addFriend() {
    const dave = await registerUser(d.url, `tui_dave${Date.now() % 10000}`);
    const t = await open();
    await t.press(KEY.altA, ...dave.name.split(''), KEY.enter);
    await waitFor(() => t.frame().includes(`friend request sent to ${dave.name}`));
    expect((await dave.api.friendRequests()).incoming).toEqual([alice.name]);
    t.close();
  },
  async acceptFriend() {
    const erin = await registerUser(d.url, `tui_erin${Date.now() % 10000}`);
    await erin.api.addFriend(alice.name);
    const t = await open();
    await waitFor(() => t.frame().includes('requests (Alt+Y):') && t.frame().includes(erin.name));
    await t.press(KEY.altY);
    await waitFor(() => t.frame().includes(`you and ${erin.name} are now friends`));
    expect((await erin.api.friends()).map((f) => f.username)).toEqual([alice.name]);
    t.close();
  },
  async newGroup() {
    const t = await open();
    await t.press(KEY.altG);
    await waitFor(() => t.frame().includes('new group (name, then friends):'));
    await t.press(...'tuigrp1 tui_bob'.split(''), KEY.enter);
    await waitFor(() => t.frame().includes('to #tuigrp1>') && t.frame().includes('system: tui_alice created #tuigrp1 with tui_bob'));
    expect((await alice.api.groups()).map((g) => [g.handle, g.memberCount])).toContainEqual(['tuigrp1', 2]);
    t.close();
  },
  async addMembers() {
    await alice.api.createGroup('tuigrp2');
    const t = await open();
    // Not in a group: it says so.
    await t.press(KEY.altI);
    await waitFor(() => t.frame().includes('open a group first'));
    for (let i = 0; i < 8 && !t.frame().includes('to #tuigrp2>'); i++) await t.press(KEY.ctrlN);
    await t.press(KEY.altI);
    await waitFor(() => t.frame().includes('add to the group (friends):'));
    await t.press(...'tui_carol'.split(''), KEY.enter);
    await waitFor(() => t.frame().includes('system: tui_alice added tui_carol'));
    expect((await carol.api.groups()).map((g) => g.handle)).toContain('tuigrp2');
    t.close();
  },
  async members() {
    const t = await open();
    for (let i = 0; i < 8 && !t.frame().includes('to #tuigrp2>'); i++) await t.press(KEY.ctrlN);
    await t.press(KEY.altM);
    await waitFor(() => t.frame().includes('#tuigrp2 · tuigrp2 · 2 members'));
    expect(t.frame()).toMatch(/tui_alice \(owner/);
    expect(t.frame()).toMatch(/tui_carol \(member/);
    await t.press(KEY.esc);
    // Back to the conversation, whose header line counts the members too.
    await waitFor(() => !t.frame().includes('(owner') && t.frame().includes('#tuigrp2 · 2 members'));
    t.close();
  },
  async editor() {
    const seen: string[] = [];
    const t = await open({ runEditor: (text) => { seen.push(text); return 'written in the editor\nsecond line\n'; } });
    await t.press('draft', KEY.ctrlO);
    // The edited text comes back to the input line, to be reviewed; Enter sends it.
    // A draft of two lines: the input box is two rows, the second under the first.
    await waitFor(() => /to tui_bob> written in the editor\s*\n {12}second line/.test(t.frame()));
    expect(seen).toEqual(['draft']);
    expect((await alice.api.history(bob.name, { limit: 1 }))[0]!.text).not.toBe('written in the editor\nsecond line');
    await t.press(KEY.enter);
    await waitFor(async () => (await alice.api.history(bob.name, { limit: 1 }))[0]!.text === 'written in the editor\nsecond line');
    t.close();
  },
  async newline() {
    const t = await open();
    await t.press('one', KEY.altEnter, 'two');
    await waitFor(() => /to tui_bob> one\s*\n {12}two/.test(t.frame()));
    await t.press(KEY.enter);
    await waitFor(async () => (await bob.api.history(alice.name, { limit: 1 }))[0]!.text === 'one\ntwo');
    // A bracketed paste of several lines is one draft, not several sends.
    const before = (await bob.api.history(alice.name, { limit: 1 }))[0]!.seq;
    await t.press('\u001b[200~pasted one\rpasted two\r\u001b[201~');
    await waitFor(() => /to tui_bob> pasted one\s*\n {12}pasted two/.test(t.frame()));
    expect((await bob.api.history(alice.name, { limit: 1 }))[0]!.seq).toBe(before);
    await t.press(KEY.enter);
    await waitFor(async () => (await bob.api.history(alice.name, { limit: 1 }))[0]!.text === 'pasted one\npasted two');
    t.close();
  },
  async edit() {
    const t = await open();
    const show = (e: Error) => { console.log(t.frame()); throw e; };
    // Every key of a burst counts, and readline's keys edit in place.
    await t.press('hello wrld');
    await t.press(KEY.left, KEY.left, KEY.left, 'o', KEY.home, '> ', KEY.ctrlE, '!');
    await waitFor(() => t.frame().includes('to tui_bob> > hello world!')).catch(show);
    await t.press(KEY.ctrlW);
    await waitFor(() => /to tui_bob> > hello\s*$/m.test(t.frame()) && !t.frame().includes('world')).catch(show);
    await t.press('\u007f'.repeat(6));
    await waitFor(() => /to tui_bob> >\s*$/m.test(t.frame())).catch(show);
    await t.press(KEY.ctrlU, 'sent line', KEY.enter, 'draft', KEY.up);
    await waitFor(() => t.frame().includes('to tui_bob> sent line')).catch(show);
    await t.press(KEY.down);
    await waitFor(() => t.frame().includes('to tui_bob> draft')).catch(show);
    t.close();
  },
  async pickUp() {
    await bob.api.sendRest({ to: alice.name, text: 'pick me up' });
    const t = await open();
    await waitFor(() => t.frame().includes('tui_bob: pick me up'));
    await t.press(KEY.altUp);
    await waitFor(() => /▶ \d\d:\d\d tui_bob: pick me up/.test(t.frame())).catch((e) => { console.log(t.frame()); throw e; });
    t.close();
  },
  async pickDown() {
    await bob.api.sendRest({ to: alice.name, text: 'pick me down' });
    const t = await open();
    await waitFor(() => t.frame().includes('tui_bob: pick me down'));
    await t.press(KEY.altUp, KEY.altUp, KEY.altDown);
    await waitFor(() => /▶ \d\d:\d\d tui_bob: pick me down/.test(t.frame()));
    await t.press(KEY.altDown);
    await waitFor(() => !t.frame().includes('▶'));
    t.close();
  },
  async editPicked() {
    await alice.api.sendRest({ to: bob.name, text: 'typo hre' });
    const t = await open();
    await waitFor(() => t.frame().includes('tui_alice: typo hre'));
    await t.press(KEY.altUp, KEY.altE);
    await waitFor(() => /edit #\d+> typo hre/.test(t.frame())).catch((e) => { console.log(t.frame()); throw e; });
    await t.press('\u007f', '\u007f', 'ere', KEY.enter);
    await waitFor(async () => (await bob.api.history(alice.name, { limit: 1 }))[0]!.text === 'typo here');
    await waitFor(() => t.frame().includes('tui_alice: typo here (edited)'));
    t.close();
  },
  async replyPicked() {
    const q = await bob.api.sendRest({ to: alice.name, text: 'answer me' });
    const t = await open();
    await waitFor(() => t.frame().includes('tui_bob: answer me'));
    await t.press(KEY.altUp, KEY.altR);
    await waitFor(() => t.frame().includes('↪ replying to tui_bob: answer me'));
    await t.press('answered', KEY.enter);
    await waitFor(async () => (await bob.api.history(alice.name, { limit: 1 }))[0]!.reply?.seq === q.seq);
    t.close();
  },
  async reactPicked() {
    const m = await bob.api.sendRest({ to: alice.name, text: 'react to me' });
    const t = await open();
    await waitFor(() => t.frame().includes('tui_bob: react to me'));
    await t.press(KEY.altUp, KEY.altDot);
    await waitFor(() => t.frame().includes('react (Enter)'));
    await t.press('1', KEY.enter);
    await waitFor(async () => (await bob.api.history(alice.name, { limit: 5 })).find((x) => x.seq === m.seq)?.reactions?.[0]?.emoji === '👍');
    await waitFor(() => t.frame().includes('react to me  👍'));
    t.close();
  },
  async attach() {
    const dir = tmpDir('tui-attach-');
    fs.writeFileSync(path.join(dir, 'quarterly-notes.txt'), 'the numbers\n');
    fs.writeFileSync(path.join(dir, 'quarantine.txt'), 'other');
    const t = await open();
    await t.press(...'with a file'.split(''), KEY.altF);
    await waitFor(() => t.frame().includes('send file (Tab completes)'));
    // Tab completes the folder's entries: two start with "qua", then one with "quar" + "t".
    for (const ch of `${dir}/qua`) t.r.stdin.write(ch);
    await t.press(KEY.tab);
    await waitFor(() => t.frame().includes('quarantine.txt  quarterly-notes.txt')).catch((e) => { console.log(t.frame()); throw e; });
    await t.press('t', KEY.tab);
    await waitFor(() => t.frame().includes('/quarterly-notes.txt')).catch((e) => { console.log(t.frame()); throw e; });
    await t.press(KEY.enter);
    const got = await waitFor(async () => (await bob.api.history(alice.name, { limit: 1 })).find((m) => m.files?.length));
    expect(got).toMatchObject({ text: 'with a file', files: [{ name: 'quarterly-notes.txt', size: 12, type: 'text/plain' }] });
    await waitFor(() => t.frame().includes('📎 quarterly-notes.txt (12 B, text/plain)'));
    await waitFor(() => t.frame().includes('sent quarterly-notes.txt'));
    t.close();
  },
  async openPicked() {
    const dir = tmpDir('tui-open-');
    const opener = path.join(dir, 'opener.sh');
    fs.writeFileSync(opener, `#!/bin/sh\ncp "$1" ${dir}/opened\n`, { mode: 0o755 });
    const f = await uploadBytes(d.url, bob, 'open-me.txt', Buffer.from('opened by the TUI'));
    await bob.api.sendRest({ to: alice.name, text: 'a file to open', files: [f.id] });
    const t = await open({ env: { CHAT_OPENER: opener, XDG_CACHE_HOME: path.join(dir, 'cache') } });
    await waitFor(() => t.frame().includes('📎 open-me.txt'));
    await t.press(KEY.altUp, KEY.altO);
    await waitFor(() => fs.existsSync(path.join(dir, 'opened')));
    expect(fs.readFileSync(path.join(dir, 'opened'), 'utf8')).toBe('opened by the TUI');
    expect(fs.statSync(path.join(dir, 'cache', 'chat', 'files')).mode & 0o777).toBe(0o700);
    t.close();
  },
  async savePicked() {
    const dir = tmpDir('tui-save-');
    const a = await uploadBytes(d.url, bob, '../sneaky.txt', Buffer.from('one'));
    const b = await uploadBytes(d.url, bob, 'two.txt', Buffer.from('two'));
    fs.writeFileSync(path.join(dir, 'two.txt'), 'already here');
    await bob.api.sendRest({ to: alice.name, text: 'two files to save', files: [a.id, b.id] });
    const t = await open({ env: { CHAT_DOWNLOAD_DIR: dir } });
    await waitFor(() => t.frame().includes('📎 two.txt'));
    await t.press(KEY.altUp, KEY.altS);
    await waitFor(() => t.frame().includes('saved sneaky.txt, two (1).txt'));
    expect(fs.readFileSync(path.join(dir, 'sneaky.txt'), 'utf8')).toBe('one');
    expect(fs.readFileSync(path.join(dir, 'two (1).txt'), 'utf8')).toBe('two');
    expect(fs.readFileSync(path.join(dir, 'two.txt'), 'utf8')).toBe('already here');
    t.close();
  },
  async deletePicked() {
    await alice.api.sendRest({ to: bob.name, text: 'regret this' });
    const t = await open();
    await waitFor(() => t.frame().includes('tui_alice: regret this'));
    await t.press(KEY.altUp, KEY.altX);
    await waitFor(() => t.frame().includes('delete it?'));
    await t.press('y', KEY.enter);
    await waitFor(async () => (await bob.api.history(alice.name, { limit: 1 }))[0]!.deleted?.by === alice.name);
    await waitFor(() => t.frame().includes('tui_alice: (deleted)'));
    t.close();
  },
  async jumpQuoted() {
    const q = await bob.api.sendRest({ to: alice.name, text: 'the original' });
    await bob.api.sendRest({ to: alice.name, text: 'in between' });
    await bob.api.sendRest({ to: alice.name, text: 'the reply', replyTo: q.seq });
    const t = await open();
    await waitFor(() => t.frame().includes('tui_bob: the reply'));
    await t.press(KEY.altUp, KEY.altJ);
    await waitFor(() => /▶ \d\d:\d\d tui_bob: the original/.test(t.frame())).catch((e) => { console.log(t.frame()); throw e; });
    t.close();
  },
  async unpick() {
    const t = await open();
    await t.press(KEY.altUp);
    await waitFor(() => t.frame().includes('▶'));
    await t.press(KEY.esc);
    await waitFor(() => !t.frame().includes('▶'));
    t.close();
  },
  async send() {
    const t = await open();
    await t.press(...'hello from the tui'.split(''));
    await waitFor(() => t.frame().includes('to tui_bob> hello from the tui'));
    await t.press(KEY.enter);
    await waitFor(() => /\d\d:\d\d tui_alice: hello from the tui/.test(t.frame()));
    expect((await bob.api.history(alice.name, { limit: 1 }))[0]!.text).toBe('hello from the tui');
    t.close();
  },
};

describe('TUI key bindings (ink-testing-library, live chatd)', () => {
  it.each(BINDINGS.map((b) => [b.id, b.keys] as const))('%s (%s)', async (id) => {
    const scenario = scenarios[id];
    expect(scenario, `binding ${id} has no test`).toBeDefined();
    await scenario();
  }, 30_000);
});

describe('TUI server search (Ctrl+R)', () => {
  it('searches everywhere with Tab, shows a hit of another conversation in place, and Esc from the hits goes back; the hits are sanitized', async () => {
    const c = connect(d.url, staticCredentials(carol.auth.accessToken));
    await sendDurable(c, { to: alice.name, text: 'carol mentions the zebracorn once\u001b[2J\nand a second line', clientMsgId: 'zebra1' });
    c.close();
    const t = await open();
    const show = (e: Error) => { console.log(t.frame()); throw e; };
    // In bob's conversation only: nothing.
    await t.press(KEY.ctrlR);
    await waitFor(() => t.frame().includes('search tui_bob (Tab: everywhere')).catch(show);
    await t.press(...'zebracorn'.split(''), KEY.enter);
    await waitFor(() => t.frame().includes('search "zebracorn": no messages found')).catch(show);
    // Everywhere: carol's message, in the list, on one line and without the escape sequence.
    await t.press(KEY.ctrlR, KEY.tab);
    await waitFor(() => t.frame().includes('search everywhere (Tab: this conversation')).catch(show);
    await t.press(...'zebracorn'.split(''), KEY.enter);
    await waitFor(() => t.frame().includes('1 found for zebracorn everywhere')).catch(show);
    const plain = t.frame().replace(/\u001b\[[0-9;]*m/g, '');
    // One line per hit (cut at the pane's width): the text's newline does not start a line of its own.
    expect(plain).toMatch(/\d\d-\d\d \d\d:\d\d tui_carol #\d+ tui_carol: carol mentions the zeb/);
    expect(plain.split('\n').some((l) => /│\s*and a second line/.test(l))).toBe(false);
    expect(t.frame()).not.toContain('\u001b[2J');
    // Esc goes back to bob; Ctrl+R, Enter on an empty query reopens the hits; Enter shows it in carol's conversation.
    await t.press(KEY.esc);
    await waitFor(() => t.frame().includes('to tui_bob>') && !t.frame().includes('found for zebracorn')).catch(show);
    await t.press(KEY.ctrlR, KEY.enter);
    await waitFor(() => t.frame().includes('1 found for zebracorn')).catch(show);
    await t.press(KEY.enter);
    await waitFor(() => t.frame().includes('to tui_carol>') && t.frame().includes('search "zebracorn": 1 of 1')).catch(show);
    t.close();
  }, 30_000);
});
