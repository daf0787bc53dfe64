import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GroupMemberView, GroupView, Message } from '../../src/protocol/index.js';
import { tmpDir, waitFor } from '../support/daemon.js';
import { chatdForFile, runChat, spawnProc, CHAT_BIN, type Proc } from '../support/procs.js';

const file = chatdForFile();
const started = file.started;
const user = file.user;

async function registered(...users: ReturnType<typeof user>[]) {
  for (const u of users) expect((await u.run(['register', u.name, '--password-stdin'], `password-${u.name}\n`)).code).toBe(0);
}
async function friends(a: ReturnType<typeof user>, b: ReturnType<typeof user>) {
  expect((await a.run(['friends', 'add', b.name])).code).toBe(0);
  expect((await b.run(['friends', 'accept', a.name])).code).toBe(0);
}

describe('chat group, end to end', () => {
  // Human confirmations go to stderr (stdout is for data); --json prints the result on stdout.
  it('runs the whole command set, sends to #name, reads its history as JSON, and listens to its messages and events', async () => {
    const ann = user('grp_ann');
    const bob = user('grp_bob');
    const cat = user('grp_cat');
    await registered(ann, bob, cat);
    await friends(ann, bob);
    await friends(ann, cat);
    const listener = spawnProc(CHAT_BIN, ['listen', '--json', '--events'], bob.env);
    const human = spawnProc(CHAT_BIN, ['listen'], cat.env);
    started.push(listener, human);
    await listener.waitLine(/connected/);
    await human.waitLine(/connected/);

    const g = await ann.json<GroupView>(['group', 'create', '#Ops', 'grp_bob', '--title', 'Operations', '--topic', 'deploys']);
    expect(g).toMatchObject({ handle: 'ops', name: 'Operations', topic: 'deploys', role: 'owner', memberCount: 2 });
    expect((await ann.run(['group', 'add', 'ops', 'grp_cat'])).stderr).toBe('#ops now has 3 members\n');
    expect(await bob.json<GroupView[]>(['group', 'list'])).toEqual([expect.objectContaining({ handle: 'ops', role: 'member', memberCount: 3 })]);
    expect((await cat.json<GroupMemberView[]>(['group', 'members', '#ops'])).map((m) => [m.username, m.role])).toEqual([['grp_ann', 'owner'], ['grp_bob', 'member'], ['grp_cat', 'member']]);

    const sent = await ann.json<Message>(['send', '#ops', 'deploy', 'done']);
    expect(sent).toMatchObject({ from: 'grp_ann', conversationId: g.conversationId, text: 'deploy done' });
    expect((await bob.run(['send', '#OPS', 'thanks'])).stderr).toMatch(/^sent #\d+ to #ops\n$/);
    const hist = await cat.json<Message[]>(['history', '#ops']);
    expect(hist.map((m) => [m.kind, m.text])).toEqual([
      ['system', 'grp_ann created #ops with grp_bob'],
      ['system', 'grp_ann added grp_cat'],
      ['user', 'deploy done'],
      ['user', 'thanks'],
    ]);
    expect((await cat.run(['history', '#ops'])).stdout).toMatch(/#3 grp_ann → #ops: deploy done\n/);

    // bob's listener carries the group's messages and its events as JSON lines.
    const events = () => listener.lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { event: string; data: Message & { type?: string } });
    await waitFor(() => events().filter((e) => e.event === 'message:new' && e.data.conversationId === g.conversationId).length >= 4);
    expect(events().filter((e) => e.event === 'group:update').map((e) => e.data.type)).toEqual(['created', 'member_added']);
    // cat's human listener (added after it started) shows the group by its handle.
    await human.waitLine(/grp_ann → #ops: deploy done/);

    expect((await ann.run(['group', 'role', 'ops', 'grp_bob', 'admin'])).stderr).toBe('grp_bob is now an admin of #ops\n');
    expect((await bob.run(['group', 'rename', '#ops', 'Ops', 'team'])).stderr).toMatch(/^renamed: #ops {2}Ops team {2}\(admin, 3 members\) {2}deploys\n$/);
    expect((await bob.run(['group', 'topic', '#ops'])).stderr).toBe('cleared the topic of #ops\n');
    expect((await bob.run(['group', 'remove', '#ops', 'grp_cat'])).code).toBe(0);
    const info = await ann.json<{ readBy: string[]; lastSeq: number }>(['group', 'info', '#ops']);
    expect(info.lastSeq).toBeGreaterThan(4);
    expect((await cat.run(['send', '#ops', 'hello?'])).code).toBe(1);
    expect((await bob.run(['group', 'leave', '#ops'])).stderr).toBe('left #ops\n');
    expect((await ann.run(['group', 'delete', '#ops'])).stderr).toBe('deleted #ops\n');
    expect(await ann.json<GroupView[]>(['group', 'list'])).toEqual([]);
    await waitFor(() => events().some((e) => e.event === 'group:update' && e.data.type === 'member_left'));
    for (const p of [listener, human]) p.child.kill('SIGINT');
    expect(await listener.exited).toBe(0);
    expect(await human.exited).toBe(0);
  });

  it('exits 2 on bad arguments, 1 on refusals with the coded error, 4 when not logged in', async () => {
    const dan = user('grp_dan');
    await registered(dan);
    const bad = await dan.run(['group', 'create', '-x']);
    expect(bad.code).toBe(2);
    for (const args of [['group', 'create', '#a'], ['send', '#no spaces', 'x'], ['group', 'role', 'ops', 'grp_dan', 'king'], ['history', '#']]) {
      const r = await dan.run(args);
      expect([args.join(' '), r.code]).toEqual([args.join(' '), 2]);
    }
    const missing = await dan.run(['history', '#nosuchgroup']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/CHAT_ERR_GROUP_NOT_FOUND/);
    expect((await dan.run(['group', 'create', 'dans', 'nosuchfriend'])).stderr).toMatch(/CHAT_ERR_NOT_FRIENDS/);
    const anon = await runChat(['group', 'list'], { env: { CHAT_CONFIG_DIR: path.join(tmpDir('chat-cli-'), 'cfg'), CHAT_SERVER: file.chatd.url } });
    expect(anon.code).toBe(4);
  });
});
