import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChatError, type Ack, type GroupEvent, type Message, type ReceiptEvent, type SyncResult, type TypingEvent } from '../../../src/protocol/index.js';
import { befriend, nextEvents, openSocket, registerUser, sleep, startDaemon, type TestDaemon, type TestSocket, type TestUser, errorCode } from '../../support/daemon.js';

let d: TestDaemon;
beforeAll(async () => { d = await startDaemon({ CHAT_MESSAGE_RATE_LIMIT: '100000', CHAT_GROUP_RATE_LIMIT: '100000' }); });
afterAll(async () => { await d.close(); });

let n = 0;
const handle = () => `grp${process.pid % 10000}n${++n}`;

function send(s: TestSocket, payload: unknown): Promise<Ack<Message>> {
  return (s.timeout(10_000) as unknown as { emitWithAck: (e: string, p: unknown) => Promise<Ack<Message>> }).emitWithAck('message:send', payload);
}
async function sent(s: TestSocket, payload: unknown): Promise<Message> {
  const r = await send(s, payload);
  if (!r.ok) throw new ChatError(r.error.code, r.error.message);
  return r.data;
}
function emit<T>(s: TestSocket, event: string, payload: unknown): Promise<Ack<T>> {
  return (s.timeout(10_000) as unknown as { emitWithAck: (e: string, p: unknown) => Promise<Ack<T>> }).emitWithAck(event, payload);
}
const code = errorCode;
/** Everything a socket receives of one event, from now on. */
function collect<T>(s: TestSocket, event: 'message:new' | 'group:update' | 'typing:update' | 'receipt:update'): T[] {
  const got: T[] = [];
  s.on(event, ((p: T) => got.push(p)) as never);
  return got;
}

/** An owner and `k` others, each a friend of the owner. */
async function crew(k: number): Promise<[TestUser, ...TestUser[]]> {
  const owner = await registerUser(d.url);
  const others: TestUser[] = [];
  for (let i = 0; i < k; i++) {
    const u = await registerUser(d.url);
    await befriend(owner, u);
    others.push(u);
  }
  return [owner, ...others];
}

describe('groups', () => {
  it('creates a group with friends: the creator owns it, a system message opens it, and every member hears of it live', async () => {
    const [ann, bob, cat] = await crew(2);
    const stranger = await registerUser(d.url);
    const [sb, sc] = await Promise.all([openSocket(d.url, bob!.auth.accessToken), openSocket(d.url, cat!.auth.accessToken)]);
    const events = Promise.all([nextEvents<GroupEvent>(sb, 'group:update'), nextEvents<GroupEvent>(sc, 'group:update')]);
    const opening = Promise.all([nextEvents<Message>(sb, 'message:new'), nextEvents<Message>(sc, 'message:new')]);
    const h = handle();
    const g = await ann.api.createGroup(`#${h.toUpperCase()}`, [bob!.name, cat!.name], { name: 'Operations', topic: 'deploys' });
    expect(g).toMatchObject({ handle: h, name: 'Operations', topic: 'deploys', role: 'owner', memberCount: 3, createdBy: ann.name, conversationId: `g:${g.id}` });
    for (const [e] of await events) expect(e).toMatchObject({ type: 'created', by: ann.name, group: { id: g.id, handle: h } });
    const [[m1], [m2]] = await opening;
    expect(m1).toEqual(m2);
    expect(m1).toMatchObject({ seq: 1, kind: 'system', from: 'system', conversationId: g.conversationId, text: `${ann.name} created #${h} with ${bob!.name}, ${cat!.name}` });
    expect((await ann.api.groupMembers(h)).map((m) => [m.username, m.role, m.online])).toEqual([[ann.name, 'owner', false], [bob!.name, 'member', true], [cat!.name, 'member', true]].sort());
    // Only friends: a stranger and a missing name get the same answer; the handle is taken once, in any case.
    expect(await code(ann.api.createGroup(handle(), [stranger.name]))).toBe('CHAT_ERR_NOT_FRIENDS');
    expect(await code(ann.api.createGroup(handle(), ['nosuchuser']))).toBe('CHAT_ERR_NOT_FRIENDS');
    expect(await code(bob!.api.createGroup(h.toUpperCase()))).toBe('CHAT_ERR_HANDLE_TAKEN');
    expect(await code(ann.api.createGroup('-bad'))).toBe('CHAT_ERR_VALIDATION');
    expect((await bob!.api.groups()).map((x) => [x.handle, x.role])).toEqual([[h, 'member']]);
    sb.close();
    sc.close();
  });

  it('delivers a message to every socket of every member once, the sender\'s other sockets included, and to nobody else; a resend stores one', async () => {
    const [ann, bob, cat] = await crew(2);
    const outsider = await registerUser(d.url);
    await befriend(outsider, ann);
    const h = handle();
    const g = await ann.api.createGroup(h, [bob!.name, cat!.name]);
    const sockets = await Promise.all([ann, ann, bob!, bob!, cat!, outsider].map((u) => openSocket(d.url, u.auth.accessToken)));
    const inboxes = sockets.map((s) => collect<Message>(s, 'message:new'));
    const m = await sent(sockets[0]!, { to: `#${h}`, text: 'hello all', clientMsgId: 'g-1' });
    expect(m).toMatchObject({ seq: 2, from: ann.name, to: g.conversationId, conversationId: g.conversationId, kind: 'user', text: 'hello all' });
    const again = await sent(sockets[1]!, { to: `#${h.toUpperCase()}`, text: 'hello all', clientMsgId: 'g-1' });
    expect(again).toEqual(m);
    await sent(sockets[2]!, { to: `#${h}`, text: 'from bob' });
    await sleep(300);
    const texts = inboxes.map((box) => box.map((x) => x.text));
    // The sending socket has its message in the ack; every other socket of a member gets each once.
    expect(texts).toEqual([['from bob'], ['hello all', 'from bob'], ['hello all'], ['hello all', 'from bob'], ['hello all', 'from bob'], []]);
    const history = await cat!.api.history(`#${h}`);
    expect(history.map((x) => [x.seq, x.kind, x.text])).toEqual([[1, 'system', expect.any(String)], [2, 'user', 'hello all'], [3, 'user', 'from bob']]);
    console.log(`group delivery: 2 sent, 2 stored, copies per socket ${inboxes.map((b) => b.length).join('/')}, resend stored ${history.filter((x) => x.text === 'hello all').length}`);
    for (const s of sockets) s.close();
  });

  it('applies the roles: members manage nothing, admins add and remove members but not owners, owners hand over, rename and delete', async () => {
    const [ann, bob, cat, dan] = await crew(3);
    await befriend(bob!, dan!);
    const h = handle();
    await ann.api.createGroup(h, [bob!.name, cat!.name]);
    expect(await code(bob!.api.addGroupMembers(h, [dan!.name]))).toBe('CHAT_ERR_GROUP_ROLE');
    expect(await code(bob!.api.removeGroupMember(h, cat!.name))).toBe('CHAT_ERR_GROUP_ROLE');
    expect(await code(bob!.api.updateGroup(h, { name: 'mine' }))).toBe('CHAT_ERR_GROUP_ROLE');
    expect(await code(bob!.api.setGroupRole(h, bob!.name, 'admin'))).toBe('CHAT_ERR_GROUP_ROLE');
    await ann.api.setGroupRole(h, bob!.name, 'admin');
    // An admin adds their own friends, removes members, but touches no owner.
    await bob!.api.addGroupMembers(h, [dan!.name]);
    expect(await code(bob!.api.addGroupMembers(h, [ann.name + 'x']))).toBe('CHAT_ERR_NOT_FRIENDS');
    expect(await code(bob!.api.removeGroupMember(h, ann.name))).toBe('CHAT_ERR_GROUP_ROLE');
    expect(await code(bob!.api.setGroupRole(h, cat!.name, 'owner'))).toBe('CHAT_ERR_GROUP_ROLE');
    expect(await code(bob!.api.deleteGroup(h))).toBe('CHAT_ERR_GROUP_ROLE');
    await bob!.api.updateGroup(h, { name: 'Renamed', topic: 'on call' });
    await bob!.api.removeGroupMember(h, cat!.name);
    // The last owner may not leave or step down while others remain; after a handover they may.
    expect(await code(ann.api.leaveGroup(h))).toBe('CHAT_ERR_GROUP_LAST_OWNER');
    expect(await code(ann.api.setGroupRole(h, ann.name, 'member'))).toBe('CHAT_ERR_GROUP_LAST_OWNER');
    await ann.api.setGroupRole(h, dan!.name, 'owner');
    await ann.api.leaveGroup(h);
    expect((await dan!.api.groupMembers(h)).map((m) => [m.username, m.role])).toEqual([[bob!.name, 'admin'], [dan!.name, 'owner']].sort());
    const texts = (await dan!.api.history(`#${h}`)).filter((m) => m.kind === 'system').map((m) => m.text);
    expect(texts).toEqual([
      `${ann.name} created #${h} with ${bob!.name}, ${cat!.name}`,
      `${ann.name} made ${bob!.name} an admin`,
      `${bob!.name} added ${dan!.name}`,
      `${bob!.name} renamed the group to "Renamed"; ${bob!.name} set the topic: on call`,
      `${bob!.name} removed ${cat!.name}`,
      `${ann.name} made ${dan!.name} an owner`,
      `${ann.name} left`,
    ]);
    // Only the owner deletes; then the group is gone for everyone, and its handle is free.
    await dan!.api.deleteGroup(h);
    expect(await code(bob!.api.group(h))).toBe('CHAT_ERR_GROUP_NOT_FOUND');
    expect(await code(bob!.api.history(`#${h}`))).toBe('CHAT_ERR_GROUP_NOT_FOUND');
    expect((await ann.api.createGroup(h)).handle).toBe(h);
  });

  it('the last member leaving deletes the group', async () => {
    const [ann] = await crew(0);
    const h = handle();
    await ann.api.createGroup(h);
    await ann.api.leaveGroup(h);
    expect(await code(ann.api.group(h))).toBe('CHAT_ERR_GROUP_NOT_FOUND');
    expect((await ann.api.createGroup(h)).memberCount).toBe(1);
  });

  it('a removed member hears of the removal, then gets nothing, reads history only up to it, and cannot send; added again, they read everything', async () => {
    const [ann, bob, cat] = await crew(2);
    const h = handle();
    await ann.api.createGroup(h, [bob!.name, cat!.name]);
    const [sa, sb, sc] = await Promise.all([ann, bob!, cat!].map((u) => openSocket(d.url, u.auth.accessToken)));
    const catGot = collect<Message>(sc!, 'message:new');
    const catEvents = collect<GroupEvent>(sc!, 'group:update');
    const bobGot = collect<Message>(sb!, 'message:new');
    await sent(sa!, { to: `#${h}`, text: 'before' });
    await ann.api.removeGroupMember(h, cat!.name);
    const after: Message[] = [];
    for (let i = 0; i < 10; i++) after.push(await sent(sa!, { to: `#${h}`, text: `after ${i}` }));
    await sent(sb!, { to: `#${h}`, text: 'bob after' });
    await sleep(300);
    expect(catGot.map((m) => m.text)).toEqual(['before', `${ann.name} removed ${cat!.name}`]);
    expect(catEvents).toEqual([expect.objectContaining({ type: 'member_removed', users: [cat!.name], by: ann.name })]);
    expect(bobGot.filter((m) => m.text.startsWith('after')).length).toBe(10);
    const removal = catGot[1]!;
    const readable = await cat!.api.history(`#${h}`, { limit: 500 });
    expect(readable.map((m) => m.text)).toEqual([expect.stringContaining('created'), 'before']);
    expect(readable.every((m) => m.seq < removal.seq)).toBe(true);
    expect(await cat!.api.history(`#${h}`, { afterSeq: removal.seq - 1 })).toEqual([]);
    // Catch-up with the group's cursor returns nothing past the removal either.
    const sync = await emit<SyncResult>(sc!, 'message:sync', { cursors: { [removal.conversationId]: 0 } });
    expect(sync.ok && sync.data.messages.filter((m) => m.conversationId === removal.conversationId).map((m) => m.text)).toEqual([expect.stringContaining('created'), 'before']);
    const refused = await send(sc!, { to: `#${h}`, text: 'still here?' });
    expect(refused.ok ? 'ok' : refused.error.code).toBe('CHAT_ERR_GROUP_NOT_FOUND');
    expect(await code(cat!.api.groupMembers(h))).toBe('CHAT_ERR_GROUP_NOT_FOUND');
    console.log(`removed member: ${after.length + 1} messages sent after the removal, ${catGot.filter((m) => m.seq > removal.seq).length} delivered to them, ${readable.filter((m) => m.seq > removal.seq).length} readable by them`);
    await ann.api.addGroupMembers(h, [cat!.name]);
    expect((await cat!.api.history(`#${h}`, { limit: 500 })).some((m) => m.text === 'after 9')).toBe(true);
    for (const s of [sa, sb, sc]) s!.close();
  });

  it('moves the handle (the old one then names nothing) and keeps the conversation', async () => {
    const [ann, bob] = await crew(1);
    const h = handle();
    const g = await ann.api.createGroup(h, [bob!.name]);
    const h2 = handle();
    const moved = await ann.api.updateGroup(`#${h}`, { handle: `#${h2.toUpperCase()}` });
    expect(moved).toMatchObject({ id: g.id, handle: h2, conversationId: g.conversationId });
    expect(await code(bob!.api.group(h))).toBe('CHAT_ERR_GROUP_NOT_FOUND');
    const other = await ann.api.createGroup(handle());
    expect(await code(ann.api.updateGroup(h2, { handle: other.handle }))).toBe('CHAT_ERR_HANDLE_TAKEN');
    expect((await bob!.api.history(`#${h2}`)).at(-1)?.text).toBe(`${ann.name} moved #${h} to #${h2}`);
  });

  it('relays typing to the other members only, and read markers to every member; conversations show unread and "read by"', async () => {
    const [ann, bob, cat] = await crew(2);
    const h = handle();
    const g = await ann.api.createGroup(h, [bob!.name, cat!.name]);
    const [sa, sb, sc] = await Promise.all([ann, bob!, cat!].map((u) => openSocket(d.url, u.auth.accessToken)));
    const typingAt = [sa!, sb!, sc!].map((s) => collect<TypingEvent>(s, 'typing:update'));
    sb!.emit('typing:update', { to: `#${h}`, typing: true });
    await sleep(200);
    expect(typingAt.map((t) => t.length)).toEqual([1, 0, 1]);
    expect(typingAt[0]![0]).toEqual({ conversationId: g.conversationId, username: bob!.name, typing: true });
    const m = await sent(sa!, { to: `#${h}`, text: 'read me' });
    const [bobView] = (await bob!.api.conversations()).filter((c) => c.conversationId === g.conversationId);
    // Read by 1: the sender has read what she sent.
    expect(bobView).toMatchObject({ kind: 'group', with: `#${h}`, title: h, lastSeq: m.seq, unread: 2, members: 3, readBy: 1 });
    const receipts = [sa!, sc!].map((s) => nextEvents<ReceiptEvent>(s, 'receipt:update'));
    const r = await emit<ReceiptEvent>(sb!, 'receipt:update', { conversationId: g.conversationId, read: m.seq });
    expect(r.ok).toBe(true);
    for (const p of receipts) expect((await p)[0]).toEqual({ conversationId: g.conversationId, username: bob!.name, delivered: m.seq, read: m.seq });
    expect(await ann.api.groupReceipts(h)).toEqual({ [ann.name]: { delivered: m.seq, read: m.seq }, [bob!.name]: { delivered: m.seq, read: m.seq } });
    const [annView] = (await ann.api.conversations()).filter((c) => c.conversationId === g.conversationId);
    expect(annView).toMatchObject({ unread: 0, readBy: 1, peerRead: 0 });
    // A receipt for a group one is not in reads like a missing conversation.
    const outsider = await registerUser(d.url);
    const so = await openSocket(d.url, outsider.auth.accessToken);
    const bad = await emit<ReceiptEvent>(so, 'receipt:update', { conversationId: g.conversationId, read: 1 });
    expect(bad.ok ? 'ok' : bad.error.code).toBe('CHAT_ERR_NOT_FOUND');
    for (const s of [sa, sb, sc, so]) s!.close();
  });

  it('catch-up after a disconnect in a busy group has no gap and no duplicate', async () => {
    const [ann, bob, cat, dan] = await crew(3);
    const h = handle();
    const g = await ann.api.createGroup(h, [bob!.name, cat!.name, dan!.name]);
    const senders = await Promise.all([ann, bob!, cat!].map((u) => openSocket(d.url, u.auth.accessToken)));
    let sd = await openSocket(d.url, dan!.auth.accessToken);
    const seen = new Map<number, Message>();
    const track = (s: TestSocket) => s.on('message:new', (m) => { if (m.conversationId === g.conversationId) seen.set(m.seq, m); });
    track(sd);
    for (const m of await dan!.api.history(`#${h}`)) seen.set(m.seq, m);
    const acked: Message[] = [];
    const burst = async (k: number) => {
      await Promise.all(senders.map(async (s, i) => {
        for (let j = 0; j < k; j++) acked.push(await sent(s, { to: `#${h}`, text: `m${i}-${j}`, clientMsgId: `b${acked.length}-${i}-${j}` }));
      }));
    };
    await burst(20);
    // Dan drops while the others keep talking, then reconnects and catches up from his cursor.
    await sleep(100);
    const cursor = Math.max(...seen.keys());
    sd.close();
    await burst(40);
    sd = await openSocket(d.url, dan!.auth.accessToken);
    track(sd);
    let after = cursor;
    let dup = 0;
    for (;;) {
      const r = await emit<SyncResult>(sd, 'message:sync', { cursors: { [g.conversationId]: after }, limit: 50 });
      if (!r.ok) throw new Error(r.error.code);
      for (const m of r.data.messages.filter((x) => x.conversationId === g.conversationId)) {
        if (seen.has(m.seq) && m.seq > cursor) dup++;
        seen.set(m.seq, m);
        after = Math.max(after, m.seq);
      }
      if (!r.data.more) break;
    }
    const last = acked.reduce((a, m) => Math.max(a, m.seq), 0);
    const missing = Array.from({ length: last }, (_, i) => i + 1).filter((s) => !seen.has(s));
    console.log(`busy group catch-up: ${acked.length} sent and acked, ${seen.size} seen by the reconnecting member (seq 1..${last}), lost ${missing.length}, duplicates ${dup}`);
    expect(acked).toHaveLength(180);
    expect(missing).toEqual([]);
    expect(dup).toBe(0);
    expect(new Set(acked.map((m) => m.seq)).size).toBe(180);
    for (const s of [...senders, sd]) s.close();
  });

  it('caps members per group and groups created per user; being added by others does not count against you', async () => {
    const capped = await startDaemon({ CHAT_MAX_GROUP_MEMBERS: '3', CHAT_MAX_GROUPS_PER_USER: '1' });
    try {
      const mk = async () => registerUser(capped.url);
      const [ann, bob, cat, dan] = await Promise.all([mk(), mk(), mk(), mk()]);
      for (const u of [bob, cat, dan]) await befriend(ann, u);
      await befriend(bob, cat);
      expect(await code(ann.api.createGroup('big1', [bob.name, cat.name, dan.name]))).toBe('CHAT_ERR_GROUP_FULL');
      await ann.api.createGroup('big1', [bob.name, cat.name]);
      expect(await code(ann.api.addGroupMembers('big1', [dan.name]))).toBe('CHAT_ERR_GROUP_FULL');
      expect(await code(ann.api.createGroup('big2'))).toBe('CHAT_ERR_LIMIT_REACHED');
      // bob is in ann's group and may still create his own.
      expect((await bob.api.createGroup('bobs', [cat.name])).role).toBe('owner');
    } finally {
      await capped.close();
    }
  });

  it('rate-limits group changes per user', async () => {
    const limited = await startDaemon({ CHAT_GROUP_RATE_LIMIT: '3' });
    try {
      const ann = await registerUser(limited.url);
      const codes = [];
      for (let i = 0; i < 5; i++) codes.push(await code(ann.api.createGroup(`rl${i}x${process.pid % 1000}`)));
      expect(codes).toEqual(['ok', 'ok', 'ok', 'CHAT_ERR_RATE_LIMITED', 'CHAT_ERR_RATE_LIMITED']);
    } finally {
      await limited.close();
    }
  });
});
