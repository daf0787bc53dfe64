/**
 * Issue 28, item 13: attacks on messages that change. Each prints what it tried and what it got.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ack, Message } from '../../src/protocol/index.js';
import { formatMessage } from '../../src/cli/format.js';
import { befriend, openSocket, registerUser, startDaemon, type TestDaemon, type TestSocket, type TestUser } from '../support/daemon.js';

let d: TestDaemon;
beforeAll(async () => { d = await startDaemon({ CHAT_MESSAGE_RATE_LIMIT: '100000', CHAT_GROUP_RATE_LIMIT: '100000', CHAT_MAX_MESSAGE_LENGTH: '100' }); });
afterAll(async () => { await d.close(); });

function call<T = Message>(s: TestSocket, event: string, payload: unknown): Promise<Ack<T>> {
  return (s.timeout(10_000) as unknown as { emitWithAck: (e: string, p: unknown) => Promise<Ack<T>> }).emitWithAck(event, payload);
}
const code = (a: Ack<unknown>) => (a.ok ? 'ok' : a.error.code);
async function sent(s: TestSocket, payload: unknown): Promise<Message> {
  const a = await call(s, 'message:send', payload);
  if (!a.ok) throw new Error(a.error.code);
  return a.data;
}
async function people(n: number): Promise<{ u: TestUser; s: TestSocket }[]> {
  const out = [];
  for (let i = 0; i < n; i++) {
    const u = await registerUser(d.url);
    out.push({ u, s: await openSocket(d.url, u.auth.accessToken) });
  }
  return out;
}

describe('28.13 attacks on messages that change', () => {
  it('editing or deleting someone else\'s message is refused, in a DM and in a group, and changes nothing', async () => {
    const [ann, ben] = await people(2);
    await befriend(ann!.u, ben!.u);
    const m = await sent(ann!.s, { to: ben!.u.name, text: 'I said this' });
    const tries = {
      edit: code(await call(ben!.s, 'message:edit', { to: ann!.u.name, seq: m.seq, text: 'no, I said this' })),
      delete: code(await call(ben!.s, 'message:delete', { to: ann!.u.name, seq: m.seq })),
    };
    console.log(`a friend editing and deleting my DM message -> ${JSON.stringify(tries)}`);
    expect(tries).toEqual({ edit: 'CHAT_ERR_NOT_AUTHOR', delete: 'CHAT_ERR_NOT_AUTHOR' });
    const [now] = await ann!.u.api.history(ben!.u.name, { limit: 1 });
    expect(now).toEqual(m);
  });

  it('strangers and non-members can neither react nor reply, and learn nothing of the conversation', async () => {
    const [ann, ben, eve] = await people(3);
    await befriend(ann!.u, ben!.u);
    const m = await sent(ann!.s, { to: ben!.u.name, text: 'between us' });
    const g = await ann!.u.api.createGroup(`sec${process.pid % 10000}${Date.now() % 100000}`, [ben!.u.name]);
    const gm = await sent(ann!.s, { to: `#${g.handle}`, text: 'members only' });
    const tries = {
      reactDm: code(await call(eve!.s, 'message:react', { to: ann!.u.name, seq: m.seq, emoji: '👍' })),
      replyDm: code(await call(eve!.s, 'message:send', { to: ann!.u.name, text: 'hi', replyTo: m.seq })),
      reactGroup: code(await call(eve!.s, 'message:react', { to: `#${g.handle}`, seq: gm.seq, emoji: '👍' })),
      replyGroup: code(await call(eve!.s, 'message:send', { to: `#${g.handle}`, text: 'hi', replyTo: gm.seq })),
      deleteGroup: code(await call(eve!.s, 'message:delete', { to: `#${g.handle}`, seq: gm.seq })),
      reactMissingGroup: code(await call(eve!.s, 'message:react', { to: '#nosuchgroup', seq: 1, emoji: '👍' })),
      editsOfMissing: await eve!.u.api.messageEdits(ann!.u.name, m.seq).then(() => 'ok', (e: { code: string }) => e.code),
    };
    console.log(`a stranger against a DM and a group -> ${JSON.stringify(tries)}`);
    expect(tries).toEqual({ reactDm: 'CHAT_ERR_NOT_FRIENDS', replyDm: 'CHAT_ERR_NOT_FRIENDS', reactGroup: 'CHAT_ERR_GROUP_NOT_FOUND', replyGroup: 'CHAT_ERR_GROUP_NOT_FOUND', deleteGroup: 'CHAT_ERR_GROUP_NOT_FOUND', reactMissingGroup: 'CHAT_ERR_GROUP_NOT_FOUND', editsOfMissing: 'CHAT_ERR_MESSAGE_NOT_FOUND' });
  });

  it('a removed member changes nothing after the removal (not even their own messages), and a former friend neither', async () => {
    const [own, mem] = await people(2);
    await befriend(own!.u, mem!.u);
    const g = await own!.u.api.createGroup(`rm${process.pid % 10000}${Date.now() % 100000}`, [mem!.u.name]);
    const mine = await sent(mem!.s, { to: `#${g.handle}`, text: 'before my removal' });
    await own!.u.api.removeGroupMember(g.handle, mem!.u.name);
    const tries = {
      edit: code(await call(mem!.s, 'message:edit', { to: `#${g.handle}`, seq: mine.seq, text: 'after' })),
      delete: code(await call(mem!.s, 'message:delete', { to: `#${g.handle}`, seq: mine.seq })),
      react: code(await call(mem!.s, 'message:react', { to: `#${g.handle}`, seq: mine.seq, emoji: '👍' })),
    };
    const dm = await sent(own!.s, { to: mem!.u.name, text: 'while friends' });
    await own!.u.api.removeFriend(mem!.u.name);
    const afterUnfriend = code(await call(own!.s, 'message:edit', { to: mem!.u.name, seq: dm.seq, text: 'rewritten after' }));
    console.log(`a removed member's changes -> ${JSON.stringify(tries)}; editing a DM after unfriending -> ${afterUnfriend}`);
    expect(tries).toEqual({ edit: 'CHAT_ERR_GROUP_NOT_FOUND', delete: 'CHAT_ERR_GROUP_NOT_FOUND', react: 'CHAT_ERR_GROUP_NOT_FOUND' });
    expect(afterUnfriend).toBe('CHAT_ERR_NOT_FRIENDS');
  });

  it('replyTo pointing into another conversation quotes nothing from it', async () => {
    const [ann, ben, cat] = await people(3);
    await befriend(ann!.u, ben!.u);
    await befriend(ann!.u, cat!.u);
    // ann and cat talk; their conversation has seqs 1..3. ann and ben have seq 1 only.
    for (const t of ['secret one', 'secret two', 'secret three']) await sent(cat!.s, { to: ann!.u.name, text: t });
    await sent(ann!.s, { to: ben!.u.name, text: 'public' });
    const tries = [3, 2].map(async (seq) => call(ben!.s, 'message:send', { to: ann!.u.name, text: 'quoting', replyTo: seq }));
    const acks = await Promise.all(tries);
    const ownQuote = await call(ben!.s, 'message:send', { to: ann!.u.name, text: 'quoting ours', replyTo: 1 });
    const shown = JSON.stringify([acks, ownQuote, await ben!.u.api.history(ann!.u.name, { limit: 50 })]);
    console.log(`replies to seqs 3 and 2 that exist only in another conversation -> ${acks.map(code).join(', ')}; to seq 1 of ours -> ${code(ownQuote)}`);
    expect(acks.map(code)).toEqual(['CHAT_ERR_MESSAGE_NOT_FOUND', 'CHAT_ERR_MESSAGE_NOT_FOUND']);
    expect(ownQuote.ok && ownQuote.data.reply).toEqual({ seq: 1, from: ann!.u.name, snippet: 'public' });
    expect(shown).not.toContain('secret');
  });

  it('a reaction is one emoji: ZWJ chains, control characters, text and oversized clusters are refused', async () => {
    const [ann, ben] = await people(2);
    await befriend(ann!.u, ben!.u);
    const m = await sent(ann!.s, { to: ben!.u.name, text: 'react to me' });
    const bad = {
      zwjChain: `${'👩\u200d'.repeat(300)}👩`,
      zwjOnly: '\u200d'.repeat(50),
      control: '\u001b[2J👍',
      newline: '👍\n',
      bidi: '\u202e👍',
      text: 'lol',
      twoEmoji: '👍👍',
      longFlagTags: `🏴${'\u{E0067}'.repeat(40)}\u{E007F}`,
      empty: '',
      notAString: 7,
    };
    const got: Record<string, string> = {};
    for (const [k, emoji] of Object.entries(bad)) got[k] = code(await call(ben!.s, 'message:react', { to: ann!.u.name, seq: m.seq, emoji }));
    console.log(`reactions that are not one emoji -> ${JSON.stringify(got)}`);
    for (const k of Object.keys(bad)) expect(got[k], k).toBe('CHAT_ERR_VALIDATION');
    expect(code(await call(ben!.s, 'message:react', { to: ann!.u.name, seq: m.seq, emoji: '👩\u200d👩\u200d👧\u200d👦' }))).toBe('ok');
    expect((await ann!.u.api.history(ben!.u.name, { limit: 1 }))[0]!.reactions).toEqual([{ emoji: '👩\u200d👩\u200d👧\u200d👦', count: 1, users: [ben!.u.name] }]);
  });

  it('reaction floods hit the caps: 20 different emoji per message, then the change rate limit, then the connection is closed', async () => {
    const flood = await startDaemon({ CHAT_CHANGE_RATE_LIMIT: '60' });
    try {
      const ann = await registerUser(flood.url);
      const ben = await registerUser(flood.url);
      await befriend(ann, ben);
      const sa = await openSocket(flood.url, ann.auth.accessToken);
      const sb = await openSocket(flood.url, ben.auth.accessToken);
      const m = await sent(sa, { to: ben.name, text: 'flood me' });
      const emoji = [...'😀😃😄😁😆😅🤣😂🙂🙃😉😊😇🥰😍🤩😘😗😚😙😋😛😜🤪😝🤑🤗🤭'];
      const codes: Record<string, number> = {};
      let closed = false;
      sb.on('disconnect', () => { closed = true; });
      for (let i = 0; i < 400 && !closed; i++) {
        const c = code(await call(sb, 'message:react', { to: ann.name, seq: m.seq, emoji: emoji[i % emoji.length], op: 'add' }).catch(() => ({ ok: false, error: { code: 'no answer' } }) as unknown as Ack<Message>));
        codes[c] = (codes[c] ?? 0) + 1;
      }
      const [now] = await ann.api.history(ben.name, { limit: 1 });
      console.log(`400 reactions with 28 different emoji, limit 60 a minute -> ${JSON.stringify(codes)}; distinct emoji on the message: ${now!.reactions?.length}; connection closed: ${closed}`);
      expect(now!.reactions).toHaveLength(20);
      expect(codes['CHAT_ERR_REACTION_LIMIT']).toBeGreaterThan(0);
      expect(codes['CHAT_ERR_RATE_LIMITED']).toBeGreaterThan(0);
      expect(closed).toBe(true);
      // The victim is not disturbed: ann still sends.
      expect((await call(sa, 'message:send', { to: ben.name, text: 'still here' })).ok).toBe(true);
      sa.close();
    } finally {
      await flood.close();
    }
  });

  it('an edit gets the same validation as a send: length, lone surrogates; terminal escapes are stored as text and never reach a terminal raw', async () => {
    const [ann, ben] = await people(2);
    await befriend(ann!.u, ben!.u);
    const m = await sent(ann!.s, { to: ben!.u.name, text: 'short' });
    const tries = {
      tooLong: code(await call(ann!.s, 'message:edit', { to: ben!.u.name, seq: m.seq, text: 'x'.repeat(101) })),
      loneSurrogate: code(await call(ann!.s, 'message:edit', { to: ben!.u.name, seq: m.seq, text: 'bad \ud800 half' })),
      empty: code(await call(ann!.s, 'message:edit', { to: ben!.u.name, seq: m.seq, text: '' })),
      extraField: code(await call(ann!.s, 'message:edit', { to: ben!.u.name, seq: m.seq, text: 'ok', kind: 'system' })),
      restTooLong: await ann!.u.api.editMessage(ben!.u.name, m.seq, 'y'.repeat(101)).then(() => 'ok', (e: { code: string }) => e.code),
    };
    console.log(`edits past the send validation -> ${JSON.stringify(tries)}`);
    expect(tries).toEqual({ tooLong: 'CHAT_ERR_VALIDATION', loneSurrogate: 'CHAT_ERR_VALIDATION', empty: 'CHAT_ERR_VALIDATION', extraField: 'CHAT_ERR_VALIDATION', restTooLong: 'CHAT_ERR_VALIDATION' });
    const escape = '\u001b]0;owned\u0007\u001b[2Jgone\nforged line\r';
    expect(code(await call(ann!.s, 'message:edit', { to: ben!.u.name, seq: m.seq, text: escape }))).toBe('ok');
    const [now] = await ben!.u.api.history(ann!.u.name, { limit: 1 });
    expect(now!.text).toBe(escape);
    const line = formatMessage(now!);
    expect(line).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    expect(line.split('\n').slice(1).every((l) => l.startsWith('    │ '))).toBe(true);
  });
});

describe('28.4 a delete removes the content from what the embedded deployment keeps on disk', () => {
  it('the database file and its WAL hold no byte of a deleted message, of its earlier texts or of its edits (secure_delete, checkpointed WAL)', async () => {
    const fs = await import('node:fs');
    const path = await import('node:path');
    const { spawnChatd } = await import('../support/procs.js');
    const { tmpDir, waitFor, sleep } = await import('../support/daemon.js');
    const dir = tmpDir('chat-del-');
    const chatd = await spawnChatd(dir);
    try {
      const a = await registerUser(chatd.url);
      const b = await registerUser(chatd.url);
      await befriend(a, b);
      // Long enough to spill into an overflow page, so freed pages are checked too.
      const secret = (tag: string) => `SECRET-${tag}-${'q'.repeat(3000)}`;
      const m = await a.api.sendRest({ to: b.name, text: secret('first') });
      await a.api.editMessage(b.name, m.seq, secret('second'));
      await a.api.editMessage(b.name, m.seq, 'short third');
      for (let i = 0; i < 20; i++) await b.api.sendRest({ to: a.name, text: `filler ${i}` });
      const onDisk = () => fs.readdirSync(dir).filter((f) => f.startsWith('chat.db')).map((f) => [f, fs.readFileSync(path.join(dir, f))] as const);
      const found = () => onDisk().filter(([, bytes]) => bytes.includes('SECRET-')).map(([f]) => f);
      // Before the delete, the texts are there (the test can see them)...
      await waitFor(() => found().length > 0);
      await a.api.deleteMessage(b.name, m.seq);
      // ...after it, once the checkpointer has copied the WAL and truncated it (it does when writes stop), none is.
      await waitFor(async () => { await sleep(300); return found().length === 0; }, 15_000).catch(() => undefined);
      const left = found();
      console.log(`files holding a deleted message's text after the checkpoint: ${left.length ? left.join(', ') : 'none'} (${onDisk().map(([f, x]) => `${f} ${x.length} B`).join(', ')})`);
      expect(left).toEqual([]);
    } finally {
      chatd.child.kill('SIGTERM');
      await chatd.exited;
    }
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('chat.db')).some((f) => fs.readFileSync(path.join(dir, f)).includes('SECRET-'))).toBe(false);
  }, 60_000);
});
