/**
 * Issue 16, groups: what a stranger, a former member or a hostile member could try.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChatError, LIMITS, type Ack, type Message, type TypingEvent } from '../../src/protocol/index.js';
import { ApiClient } from '../../src/client/api.js';
import { befriend, openSocket, registerUser, sleep, startDaemon, tmpDir, type TestDaemon, type TestSocket, errorCode } from '../support/daemon.js';
import { runChat, spawnChatd } from '../support/procs.js';

let d: TestDaemon;
beforeAll(async () => { d = await startDaemon({ CHAT_GROUP_RATE_LIMIT: '100000' }); });
afterAll(async () => { await d.close(); });

const send = (s: TestSocket, payload: unknown) => (s.timeout(10_000) as unknown as { emitWithAck: (e: string, p: unknown) => Promise<Ack<Message>> }).emitWithAck('message:send', payload);
const code = errorCode;

describe('groups against strangers and former members', () => {
  it('a non-member gets the same answer for a group that exists and one that does not, on every route and event', async () => {
    const ann = await registerUser(d.url);
    const bob = await registerUser(d.url);
    await befriend(ann, bob);
    await ann.api.createGroup('secretgrp', [bob.name]);
    const outsider = await registerUser(d.url);
    const s = await openSocket(d.url, outsider.auth.accessToken);
    const answers = async (ref: string) => {
      const out: unknown[] = [];
      for (const call of [() => outsider.api.group(ref), () => outsider.api.groupMembers(ref), () => outsider.api.history(`#${ref}`), () => outsider.api.groupReceipts(ref), () => outsider.api.addGroupMembers(ref, [ann.name]), () => outsider.api.removeGroupMember(ref, ann.name), () => outsider.api.setGroupRole(ref, ann.name, 'member'), () => outsider.api.leaveGroup(ref), () => outsider.api.updateGroup(ref, { topic: 'x' }), () => outsider.api.deleteGroup(ref)]) {
        out.push(await call().then(() => 'ok', (e: ChatError) => [e.code, e.message]));
      }
      const ack = await send(s, { to: `#${ref}`, text: 'hi' });
      out.push(ack.ok ? 'ok' : [ack.error.code, ack.error.message]);
      return out;
    };
    const existing = await answers('secretgrp');
    expect(existing.every((a) => Array.isArray(a) && a[0] === 'CHAT_ERR_GROUP_NOT_FOUND')).toBe(true);
    expect(await answers('secretgrq')).toEqual(existing);
    s.close();
  });

  it('a stranger cannot add you to a group, and typing from a non-member reaches nobody', async () => {
    const ann = await registerUser(d.url);
    const victim = await registerUser(d.url);
    const g = await ann.api.createGroup('spamgrp');
    expect(await code(ann.api.addGroupMembers(g.handle, [victim.name]))).toBe('CHAT_ERR_NOT_FRIENDS');
    expect(await victim.api.groups()).toEqual([]);
    const friend = await registerUser(d.url);
    await befriend(ann, friend);
    await ann.api.addGroupMembers(g.handle, [friend.name]);
    const [sa, sf, sv] = await Promise.all([ann, friend, victim].map((u) => openSocket(d.url, u.auth.accessToken)));
    const typing: TypingEvent[] = [];
    for (const s of [sa!, sf!]) s.on('typing:update', (e) => typing.push(e));
    sv!.emit('typing:update', { to: '#spamgrp', typing: true });
    sf!.emit('typing:update', { to: '#spamgrp', typing: true });
    await sleep(300);
    // Only the member's indicator arrives, and only at the other member.
    expect(typing.map((t) => t.username)).toEqual([friend.name]);
    for (const s of [sa, sf, sv]) s!.close();
  });

  it('a former member reads nothing past their removal: not the members, not the markers, not new messages', async () => {
    const ann = await registerUser(d.url);
    const bob = await registerUser(d.url);
    await befriend(ann, bob);
    const g = await ann.api.createGroup('formergrp', [bob.name]);
    await ann.api.removeGroupMember(g.handle, bob.name);
    const sa = await openSocket(d.url, ann.auth.accessToken);
    const ack = await send(sa, { to: '#formergrp', text: 'after bob' });
    expect(ack.ok).toBe(true);
    expect(await code(bob.api.groupMembers(g.handle))).toBe('CHAT_ERR_GROUP_NOT_FOUND');
    expect(await code(bob.api.groupReceipts(g.handle))).toBe('CHAT_ERR_GROUP_NOT_FOUND');
    expect(await code(bob.api.group(g.handle))).toBe('CHAT_ERR_GROUP_NOT_FOUND');
    expect((await bob.api.history('#formergrp', { limit: 500 })).some((m) => m.text === 'after bob')).toBe(false);
    expect((await bob.api.conversations()).some((c) => c.conversationId === g.conversationId)).toBe(false);
    sa.close();
  });

  it('payload limits match the schemas: users per call, name and topic lengths', async () => {
    const ann = await registerUser(d.url);
    const many = Array.from({ length: LIMITS.maxGroupUsersPerCall + 1 }, (_, i) => `user${i}`);
    expect(await code(ann.api.createGroup('manygrp', many))).toBe('CHAT_ERR_VALIDATION');
    expect(await code(ann.api.createGroup('longgrp', [], { name: 'x'.repeat(LIMITS.maxGroupNameLength + 1) }))).toBe('CHAT_ERR_VALIDATION');
    expect(await code(ann.api.createGroup('topicgrp', [], { topic: 'x'.repeat(LIMITS.maxGroupTopicLength + 1) }))).toBe('CHAT_ERR_VALIDATION');
    expect(await code(ann.api.createGroup('okgrp', [], { name: 'x'.repeat(LIMITS.maxGroupNameLength), topic: 't'.repeat(LIMITS.maxGroupTopicLength) }))).toBe('ok');
    // Unknown fields and a handle that reads as a CLI option are refused.
    expect(await code(ann.api.request('POST', '/v1/groups', { handle: 'extragrp', admin: true }))).toBe('CHAT_ERR_VALIDATION');
    expect(await code(ann.api.createGroup('-rf'))).toBe('CHAT_ERR_VALIDATION');
  });
});

describe('group names are untrusted text', () => {
  it('chat group list and info print a name and topic with escapes and newlines inert, one line per group', async () => {
    const chatd = await spawnChatd(tmpDir());
    try {
      const auth = await new ApiClient(chatd.url).register('sec_grp_owner', 'password-sec');
      const api = new ApiClient(chatd.url, { token: async () => auth.accessToken, refresh: async () => auth.accessToken });
      await api.createGroup('evilgrp', [], { name: 'Red\u001b[31m\nroot: fake line', topic: 'x\u001b]0;title\u0007\r\nsecond' });
      const env = { CHAT_CONFIG_DIR: path.join(tmpDir('chat-cli-'), 'cfg'), CHAT_SERVER: chatd.url, CHAT_TOKEN: auth.accessToken };
      for (const args of [['group', 'list'], ['group', 'info', '#evilgrp']]) {
        const r = await runChat(args, { env });
        expect(r.code).toBe(0);
        expect(r.stdout).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
        expect(r.stdout.split('\n')[0]).toMatch(/^#evilgrp {2}Red.*root: fake line/);
        expect(r.stdout.trimEnd().split('\n')).toHaveLength(args[1] === 'list' ? 1 : 2);
      }
    } finally {
      chatd.child.kill('SIGTERM');
      await chatd.exited;
    }
  });
});
