/**
 * Messages that change, through a real chatd (port 0) and real socket.io-clients: edits, deletes,
 * reactions and replies, their rules, the live `message:change` event, and catch-up that
 * converges whatever a client missed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ack, Message } from '../../../src/protocol/index.js';
import { call, convergence, ok } from '../../support/changes.js';
import { befriend, errorCode, nextEvents, openSocket, registerUser, startDaemon, type TestDaemon, type TestUser } from '../../support/daemon.js';

let d: TestDaemon;
beforeAll(async () => { d = await startDaemon({ CHAT_MESSAGE_RATE_LIMIT: '100000', CHAT_CHANGE_RATE_LIMIT: '100000', CHAT_SYNC_RATE_LIMIT: '100000', CHAT_GROUP_RATE_LIMIT: '100000', CHAT_MAX_REACTIONS: '3', CHAT_MAX_EDITS: '3' }); });
afterAll(async () => { await d.close(); });

const failed = async (p: Promise<Ack<unknown>>) => { const r = await p; return r.ok ? 'ok' : r.error.code; };

async function pair(): Promise<[TestUser, TestUser]> {
  const a = await registerUser(d.url);
  const b = await registerUser(d.url);
  await befriend(a, b);
  return [a, b];
}

describe('messages that change', () => {
  it('edits, reactions, replies and deletes: acked with their record, live to the other side, and read back as the message now is', async () => {
    const [ann, ben] = await pair();
    const [sa, sb] = await Promise.all([openSocket(d.url, ann.auth.accessToken), openSocket(d.url, ben.auth.accessToken)]);
    const m = await ok<Message>(sa, 'message:send', { to: ben.name, text: 'helo' });
    const live = nextEvents<Message>(sb, 'message:change', 1);
    const edit = await ok<Message>(sa, 'message:edit', { to: ben.name, seq: m.seq, text: 'hello', clientMsgId: 'e-1' });
    expect(edit).toMatchObject({ kind: 'edit', target: m.seq, text: 'hello', from: ann.name, seq: m.seq + 1 });
    // A resend of the same change gets the same record and makes no second one.
    expect(await ok<Message>(sa, 'message:edit', { to: ben.name, seq: m.seq, text: 'hello', clientMsgId: 'e-1' })).toEqual(edit);
    const react = await ok<Message>(sb, 'message:react', { to: ann.name, seq: m.seq, emoji: '👍' });
    expect(react).toMatchObject({ kind: 'react', target: m.seq, emoji: '👍', op: 'add', from: ben.name });
    const [e1] = await live;
    expect(e1).toEqual(edit);
    const [now] = await ann.api.history(ben.name, { limit: 1 });
    expect(now).toMatchObject({ seq: m.seq, text: 'hello', edits: 1, editedAt: edit.createdAt, reactions: [{ emoji: '👍', count: 1, users: [ben.name] }], changedSeq: react.seq });
    expect((await ben.api.messageEdits(ann.name, m.seq)).versions.map((v) => v.text)).toEqual(['helo', 'hello']);
    // The same reaction again toggles it off.
    const off = await ok<Message>(sb, 'message:react', { to: ann.name, seq: m.seq, emoji: '👍' });
    expect(off.op).toBe('remove');
    expect((await ann.api.history(ben.name, { limit: 1 }))[0]!.reactions).toBeUndefined();
    // A reply carries its quote, live and in history.
    const liveReply = nextEvents<Message>(sa, 'message:new');
    const reply = await ok<Message>(sb, 'message:send', { to: ann.name, text: 'answering', replyTo: m.seq });
    expect(reply.reply).toEqual({ seq: m.seq, from: ann.name, snippet: 'hello' });
    expect((await liveReply)[0]!.reply).toEqual(reply.reply);
    // A delete leaves a tombstone; the reply's quote says so; the edit history is gone.
    const del = await ann.api.deleteMessage(ben.name, m.seq);
    expect(del).toMatchObject({ kind: 'delete', target: m.seq, from: ann.name });
    const [gone, answered] = await ben.api.history(ann.name, { limit: 2 });
    expect(gone).toMatchObject({ seq: m.seq, text: '', deleted: { by: ann.name, at: del.createdAt } });
    expect(gone!.reactions).toBeUndefined();
    expect(answered!.reply).toEqual({ seq: m.seq, from: ann.name, snippet: '', deleted: true });
    expect(await errorCode(ben.api.messageEdits(ann.name, m.seq))).toBe('CHAT_ERR_MESSAGE_NOT_FOUND');
    expect(JSON.stringify(await ben.api.history(ann.name, { afterSeq: 0, limit: 50 }))).not.toMatch(/helo|hello/);
    expect((await ann.api.changedSince(ben.name, m.seq)).map((x) => [x.seq, x.changedSeq])).toEqual([[m.seq, del.seq]]);
    sa.close();
    sb.close();
  });

  it('enforces the rules: authors edit, members react, replies stay in their conversation, caps hold', async () => {
    const [ann, ben] = await pair();
    const [sa, sb] = await Promise.all([openSocket(d.url, ann.auth.accessToken), openSocket(d.url, ben.auth.accessToken)]);
    const m = await ok<Message>(sa, 'message:send', { to: ben.name, text: 'mine' });
    expect(await failed(call(sb, 'message:edit', { to: ann.name, seq: m.seq, text: 'yours now' }))).toBe('CHAT_ERR_NOT_AUTHOR');
    expect(await failed(call(sb, 'message:delete', { to: ann.name, seq: m.seq }))).toBe('CHAT_ERR_NOT_AUTHOR');
    expect(await failed(call(sa, 'message:edit', { to: ben.name, seq: m.seq + 50, text: 'x' }))).toBe('CHAT_ERR_MESSAGE_NOT_FOUND');
    for (const text of ['one', 'two', 'three']) await ok(sa, 'message:edit', { to: ben.name, seq: m.seq, text });
    expect(await failed(call(sa, 'message:edit', { to: ben.name, seq: m.seq, text: 'four' }))).toBe('CHAT_ERR_EDIT_LIMIT');
    // A change record is not a message: it cannot be edited, reacted to or replied to.
    expect(await failed(call(sa, 'message:react', { to: ben.name, seq: m.seq + 1, emoji: '👍' }))).toBe('CHAT_ERR_MESSAGE_NOT_FOUND');
    // Again, now that the log holds that record in its recent states: the same answer.
    expect(await failed(call(sa, 'message:react', { to: ben.name, seq: m.seq + 1, emoji: '👍' }))).toBe('CHAT_ERR_MESSAGE_NOT_FOUND');
    for (const emoji of ['👍', '🎉', '❤️']) await ok(sb, 'message:react', { to: ann.name, seq: m.seq, emoji, op: 'add' });
    expect(await failed(call(sb, 'message:react', { to: ann.name, seq: m.seq, emoji: '🚀', op: 'add' }))).toBe('CHAT_ERR_REACTION_LIMIT');
    // Joining an emoji already there is fine at the cap.
    await ok(sa, 'message:react', { to: ben.name, seq: m.seq, emoji: '🎉', op: 'add' });
    // A reply into another conversation finds nothing there, and learns nothing of it.
    const [cat] = [await registerUser(d.url)];
    await befriend(ann, cat);
    const sc = await openSocket(d.url, cat.auth.accessToken);
    const other = await ok<Message>(sc, 'message:send', { to: ann.name, text: 'private to ann' });
    const r = await ok<Message>(sb, 'message:send', { to: ann.name, text: 'quoting', replyTo: m.seq });
    expect(r.reply?.snippet).toBe('three');
    const leak = await call<Message>(sb, 'message:send', { to: ann.name, text: 'sneaky', replyTo: other.seq + 100 });
    expect(leak.ok ? leak.data.reply : leak.error.code).toBe('CHAT_ERR_MESSAGE_NOT_FOUND');
    // Strangers change nothing; unfriended, neither do former friends.
    const stranger = await registerUser(d.url);
    const ss = await openSocket(d.url, stranger.auth.accessToken);
    expect(await failed(call(ss, 'message:react', { to: ann.name, seq: m.seq, emoji: '👍' }))).toBe('CHAT_ERR_NOT_FRIENDS');
    await ben.api.removeFriend(ann.name);
    expect(await failed(call(sb, 'message:react', { to: ann.name, seq: m.seq, emoji: '👎' }))).toBe('CHAT_ERR_NOT_FRIENDS');
    for (const s of [sa, sb, sc, ss]) s.close();
  });

  it('a change to a message the log holds in its recent states answers as one read from the file: deleted, rate limited, resent', async () => {
    const limited = await startDaemon({ CHAT_CHANGE_RATE_LIMIT: '4' });
    try {
      const a = await registerUser(limited.url);
      const b = await registerUser(limited.url);
      await befriend(a, b);
      const [sa, sb] = await Promise.all([openSocket(limited.url, a.auth.accessToken), openSocket(limited.url, b.auth.accessToken)]);
      const m = await ok<Message>(sa, 'message:send', { to: b.name, text: 'soon gone' });
      // The first change reads the message from the file; the next ones find it in the log's recent states.
      const first = await ok<Message>(sb, 'message:react', { to: a.name, seq: m.seq, emoji: '👍', clientMsgId: 'r-1' });
      await ok(sb, 'message:react', { to: a.name, seq: m.seq, emoji: '👍', op: 'remove' });
      await ok(sa, 'message:delete', { to: b.name, seq: m.seq });
      expect(await failed(call(sb, 'message:react', { to: a.name, seq: m.seq, emoji: '🎉' }))).toBe('CHAT_ERR_MESSAGE_DELETED');
      // Refused now (deleted), but a resend of a change made before gets its record back.
      expect(await ok<Message>(sb, 'message:react', { to: a.name, seq: m.seq, emoji: '👍', clientMsgId: 'r-1' })).toEqual(first);
      // b has made 4 changes (one refused): the 5th is over the limit of 4 per minute.
      const m2 = await ok<Message>(sa, 'message:send', { to: b.name, text: 'still here' });
      expect(await failed(call(sb, 'message:react', { to: a.name, seq: m2.seq, emoji: '👍' }))).toBe('CHAT_ERR_RATE_LIMITED');
      for (const s of [sa, sb]) s.close();
    } finally {
      await limited.close();
    }
  });

  it('edits end with the edit window, and 0 turns them off', async () => {
    const off = await startDaemon({ CHAT_EDIT_WINDOW_SECONDS: '0' });
    try {
      const a = await registerUser(off.url);
      const b = await registerUser(off.url);
      await befriend(a, b);
      const m = await a.api.sendRest({ to: b.name, text: 'final' });
      expect(await errorCode(a.api.editMessage(b.name, m.seq, 'not final'))).toBe('CHAT_ERR_EDIT_WINDOW');
      expect((await a.api.deleteMessage(b.name, m.seq)).kind).toBe('delete');
    } finally {
      await off.close();
    }
  });

  it('in a group: owners and admins delete any message, members only their own; system messages are not editable; former members change nothing', async () => {
    const own = await registerUser(d.url);
    const mem = await registerUser(d.url);
    const mod = await registerUser(d.url);
    await befriend(own, mem);
    await befriend(own, mod);
    const h = `chg${process.pid % 10000}${Date.now() % 100000}`;
    const g = await own.api.createGroup(h, [mem.name, mod.name]);
    await own.api.setGroupRole(h, mod.name, 'admin');
    const [so, sm, sd] = await Promise.all([openSocket(d.url, own.auth.accessToken), openSocket(d.url, mem.auth.accessToken), openSocket(d.url, mod.auth.accessToken)]);
    const byOwner = await ok<Message>(so, 'message:send', { to: `#${h}`, text: 'owner says' });
    const byMember = await ok<Message>(sm, 'message:send', { to: `#${h}`, text: 'member says' });
    expect(await failed(call(sm, 'message:delete', { to: `#${h}`, seq: byOwner.seq }))).toBe('CHAT_ERR_NOT_AUTHOR');
    expect(await failed(call(so, 'message:edit', { to: `#${h}`, seq: 1, text: 'rewritten history' }))).toBe('CHAT_ERR_NOT_EDITABLE');
    const seen = Promise.all([nextEvents<Message>(so, 'message:change'), nextEvents<Message>(sm, 'message:change')]);
    const del = await ok<Message>(sd, 'message:delete', { to: `#${h}`, seq: byMember.seq });
    for (const [e] of await seen) expect(e).toEqual(del);
    expect((await own.api.history(`#${h}`, { limit: 50 })).find((x) => x.seq === byMember.seq)).toMatchObject({ deleted: { by: mod.name }, text: '' });
    await own.api.removeGroupMember(h, mem.name);
    expect(await failed(call(sm, 'message:react', { to: `#${h}`, seq: byOwner.seq, emoji: '👍' }))).toBe('CHAT_ERR_GROUP_NOT_FOUND');
    expect(await failed(call(sm, 'message:delete', { to: `#${h}`, seq: byMember.seq + 0 }))).toBe('CHAT_ERR_GROUP_NOT_FOUND');
    expect(g.conversationId).toMatch(/^g:/);
    for (const s of [so, sm, sd]) s.close();
  });

  it('mentions: @name of a current member is carried by the message, counted unread in the conversation list, replaced by an edit, gone with a delete', async () => {
    const own = await registerUser(d.url);
    const ben = await registerUser(d.url);
    const cat = await registerUser(d.url);
    await befriend(own, ben);
    await befriend(own, cat);
    const h = `men${process.pid % 10000}${Date.now() % 100000}`;
    await own.api.createGroup(h, [ben.name, cat.name]);
    const so = await openSocket(d.url, own.auth.accessToken);
    const sb = await openSocket(d.url, ben.auth.accessToken);
    const live = nextEvents<Message>(sb, 'message:new');
    const m = await ok<Message>(so, 'message:send', { to: `#${h}`, text: `@${ben.name.toUpperCase()} look, and @${ben.name} again; not @nobody, not me @${own.name}, not mail@${cat.name}` });
    expect(m.mentions).toEqual([ben.name]);
    expect((await live)[0]!.mentions).toEqual([ben.name]);
    const count = async (u: TestUser) => (await u.api.conversations()).find((c) => c.with === `#${h}`)!.mentions;
    expect([await count(ben), await count(cat), await count(own)]).toEqual([1, 0, 0]);
    // Direct messages carry no mentions.
    expect((await ok<Message>(sb, 'message:send', { to: own.name, text: `@${own.name} hi` })).mentions).toBeUndefined();
    // An edit's mentions replace the message's: ben is no longer mentioned, cat now is.
    const e = await ok<Message>(so, 'message:edit', { to: `#${h}`, seq: m.seq, text: `actually @${cat.name}` });
    expect(e.mentions).toEqual([cat.name]);
    expect([await count(ben), await count(cat)]).toEqual([0, 1]);
    expect((await own.api.history(`#${h}`, { limit: 1 }))[0]!.mentions).toEqual([cat.name]);
    // Reading moves the marker past it; a delete takes the mention away too.
    await ok(sb, 'message:send', { to: `#${h}`, text: 'read' });
    await ok<Message>(so, 'message:delete', { to: `#${h}`, seq: m.seq });
    expect(await count(cat)).toBe(0);
    so.close();
    sb.close();
  });

  it('catch-up converges: a client offline during 500 seeded random sends, edits, deletes and reactions ends with the server\'s view, message for message', async () => {
    const r = await convergence(d.url, d.url);
    expect(r.changes).toBeGreaterThan(100);
  }, 120_000);
});
