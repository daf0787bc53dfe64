import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ack, AiChunkEvent, Message } from '../../../src/protocol/index.js';
import { toContents } from '../../../src/daemon/services/ai.js';
import { startFakeGemini } from '../../support/fake-gemini.js';
import { befriend, nextEvents, openSocket, registerUser, startDaemon, waitFor, type TestDaemon, type TestSocket } from '../../support/daemon.js';
import { tinyPng, uploadBytes } from '../../support/files.js';

function send(s: TestSocket, payload: unknown): Promise<Ack<Message>> {
  return (s.timeout(10_000) as unknown as { emitWithAck: (e: string, p: unknown) => Promise<Ack<Message>> }).emitWithAck('message:send', payload);
}

async function setup(env: Record<string, string>) {
  const d = await startDaemon(env);
  const a = await registerUser(d.url);
  const b = await registerUser(d.url);
  await befriend(a, b);
  const sa = await openSocket(d.url, a.auth.accessToken);
  const sb = await openSocket(d.url, b.auth.accessToken);
  return { d, a, b, sa, sb, close: async () => { sa.close(); sb.close(); await d.close(); } };
}

/** Waits for the first message:new of a kind other than "user". */
function nextReply(s: TestSocket, timeoutMs = 20_000): Promise<Message> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no AI/system reply')), timeoutMs);
    const on = (m: Message) => { if (m.kind !== 'user') { clearTimeout(t); s.off('message:new', on); resolve(m); } };
    s.on('message:new', on);
  });
}

describe('/ai', () => {
  const fakes: { close: () => Promise<void> }[] = [];
  afterAll(async () => { await Promise.all(fakes.map((f) => f.close())); });

  it('answers in the same conversation with recent context, to both users, stored; the ack does not wait', async () => {
    let open!: () => void;
    const gate = new Promise<void>((r) => { open = r; });
    const gem = await startFakeGemini({ answer: () => 'four is the answer', gate });
    fakes.push(gem);
    const t = await setup({ GEMINI_API_KEY: 'test-key', GEMINI_BASE_URL: gem.url });
    try {
      await send(t.sb, { to: t.a.name, text: 'we are doing arithmetic' });
      const replyA = nextReply(t.sa);
      const replyB = nextReply(t.sb);
      let replied = false;
      void replyA.then(() => { replied = true; });
      const chunksB: AiChunkEvent[] = [];
      t.sb.on('ai:chunk', (c) => chunksB.push(c));
      // Gemini is held back: the ack must come anyway, and chat keeps flowing.
      const ack = await send(t.sa, { to: t.b.name, text: '/ai what is 2+2?' });
      expect(ack.ok).toBe(true);
      expect((await send(t.sb, { to: t.a.name, text: 'while the AI thinks' })).ok).toBe(true);
      await new Promise((r) => setTimeout(r, 100));
      expect(replied).toBe(false);
      open();
      const [ra, rb] = await Promise.all([replyA, replyB]);
      expect(ra).toEqual(rb);
      expect(ra).toMatchObject({ kind: 'ai', from: 'ai', to: t.a.name, text: 'four is the answer', seq: 4, conversationId: ack.ok ? ack.data.conversationId : '' });
      // The answer streamed to the other user piece by piece before the stored message.
      expect(chunksB.length).toBeGreaterThan(1);
      expect(chunksB[0]!.restart).toBe(true);
      expect(chunksB.at(-1)).toMatchObject({ done: true });
      expect(chunksB.map((c) => c.text).join('')).toBe('four is the answer');
      const req = gem.requests[0]!;
      expect(req.method).toBe('streamGenerateContent');
      expect(req.model).toBe('gemini-2.5-flash');
      expect(req.apiKey).toBe('test-key');
      expect(JSON.stringify(req.body.contents)).toContain('we are doing arithmetic');
      expect(JSON.stringify(req.body.contents)).toContain('/ai what is 2+2?');
      expect((await t.b.api.history(t.a.name)).map((m) => m.kind)).toEqual(['user', 'user', 'user', 'ai']);
    } finally {
      await t.close();
    }
  });

  it('retries 429 and 500 with backoff, then answers', async () => {
    const gem = await startFakeGemini({ failures: [429, 500], answer: () => 'after retries' });
    fakes.push(gem);
    const t = await setup({ GEMINI_API_KEY: 'k', GEMINI_BASE_URL: gem.url, CHAT_AI_RETRIES: '2' });
    try {
      const reply = nextReply(t.sb);
      await send(t.sa, { to: t.b.name, text: '/ai hello' });
      expect((await reply).text).toBe('after retries');
      expect(gem.requests).toHaveLength(3);
    } finally {
      await t.close();
    }
  });

  it('falls back to the next model when the first is not served', async () => {
    const gem = await startFakeGemini({ modelStatus: { 'gemini-2.5-flash': 404 }, answer: (r) => `from ${r.model}` });
    fakes.push(gem);
    const t = await setup({ GEMINI_API_KEY: 'k', GEMINI_BASE_URL: gem.url });
    try {
      const reply = nextReply(t.sa);
      await send(t.sa, { to: t.b.name, text: '/ai hello' });
      expect((await reply).text).toBe('from gemini-2.5-flash-lite');
    } finally {
      await t.close();
    }
  });

  it('times out a slow model and says so in a system message; chat keeps flowing meanwhile', async () => {
    const gem = await startFakeGemini({ delayMs: 5_000 });
    fakes.push(gem);
    const t = await setup({ GEMINI_API_KEY: 'k', GEMINI_BASE_URL: gem.url, CHAT_AI_TIMEOUT_MS: '300', CHAT_AI_RETRIES: '1' });
    try {
      const reply = nextReply(t.sa);
      await send(t.sa, { to: t.b.name, text: '/ai slow question' });
      // While the AI is stuck, ordinary messages are acknowledged and delivered.
      const live = nextEvents<Message>(t.sa, 'message:new', 2);
      for (let i = 0; i < 5; i++) expect((await send(t.sb, { to: t.a.name, text: `meanwhile ${i}` })).ok).toBe(true);
      await live;
      const r = await reply;
      expect(r.kind).toBe('system');
      expect(r.text).toMatch(/AI request failed: timed out after 300 ms/);
      // Two attempts on the model, two on its fallback.
      expect(gem.requests).toHaveLength(4);
    } finally {
      await t.close();
    }
  });

  it('reports a failed answer inline as a final chunk with the error', async () => {
    const gem = await startFakeGemini({ failures: Array(20).fill(500) });
    fakes.push(gem);
    const t = await setup({ GEMINI_API_KEY: 'k', GEMINI_BASE_URL: gem.url, CHAT_AI_RETRIES: '0', GEMINI_FALLBACK_MODELS: 'gemini-2.5-flash' });
    try {
      const last = new Promise<AiChunkEvent>((resolve) => t.sa.on('ai:chunk', (c) => { if (c.done) resolve(c); }));
      await send(t.sa, { to: t.b.name, text: '/ai hello' });
      expect((await last).error).toMatch(/HTTP 500/);
    } finally {
      await t.close();
    }
  });

  it('gives up after persistent 500s with a system message', async () => {
    const gem = await startFakeGemini({ failures: Array(20).fill(500) });
    fakes.push(gem);
    const t = await setup({ GEMINI_API_KEY: 'k', GEMINI_BASE_URL: gem.url, CHAT_AI_RETRIES: '1' });
    try {
      const reply = nextReply(t.sa);
      await send(t.sa, { to: t.b.name, text: '/ai hello' });
      const r = await reply;
      expect(r).toMatchObject({ kind: 'system', from: 'system' });
      expect(r.text).toContain('HTTP 500');
      // Two models, two attempts each.
      expect(gem.requests).toHaveLength(4);
    } finally {
      await t.close();
    }
  });

  it('says AI is not configured when there is no key', async () => {
    const t = await setup({});
    try {
      const reply = nextReply(t.sb);
      await send(t.sa, { to: t.b.name, text: '/ai anyone?' });
      const r = await reply;
      expect(r).toMatchObject({ kind: 'system', from: 'system', to: t.a.name });
      expect(r.text).toMatch(/AI is not configured on this server/);
    } finally {
      await t.close();
    }
  });

  it('enforces the per-user hourly quota', async () => {
    const gem = await startFakeGemini({ answer: () => 'ok' });
    fakes.push(gem);
    const t = await setup({ GEMINI_API_KEY: 'k', GEMINI_BASE_URL: gem.url, CHAT_AI_QUOTA_PER_HOUR: '1' });
    try {
      let reply = nextReply(t.sa);
      await send(t.sa, { to: t.b.name, text: '/ai one' });
      expect((await reply).kind).toBe('ai');
      reply = nextReply(t.sa);
      await send(t.sa, { to: t.b.name, text: '/ai two' });
      const r = await reply;
      expect(r.kind).toBe('system');
      expect(r.text).toMatch(/AI quota exceeded/);
      expect(gem.requests).toHaveLength(1);
    } finally {
      await t.close();
    }
  });

  it('answers in a group, to every member, with the group\'s context; the quota is the asker\'s', async () => {
    const gem = await startFakeGemini({ answer: () => 'group answer' });
    fakes.push(gem);
    const t = await setup({ GEMINI_API_KEY: 'k', GEMINI_BASE_URL: gem.url, CHAT_AI_QUOTA_PER_HOUR: '1' });
    try {
      const c = await registerUser(t.d.url);
      await befriend(t.a, c);
      const g = await t.a.api.createGroup('aigrp', [t.b.name, c.name]);
      const sc = await openSocket(t.d.url, c.auth.accessToken);
      await send(t.sb, { to: '#aigrp', text: 'the group is planning a release' });
      const replies = [t.sa, t.sb, sc].map((s) => nextReply(s));
      const chunks: AiChunkEvent[] = [];
      sc.on('ai:chunk', (x) => chunks.push(x));
      expect((await send(t.sa, { to: '#aigrp', text: '/ai summarise' })).ok).toBe(true);
      const got = await Promise.all(replies);
      for (const r of got) expect(r).toMatchObject({ kind: 'ai', from: 'ai', to: g.conversationId, conversationId: g.conversationId, text: 'group answer' });
      expect(chunks.at(-1)).toMatchObject({ conversationId: g.conversationId, done: true });
      expect(JSON.stringify(gem.requests[0]!.body.contents)).toContain('the group is planning a release');
      // a has used the hour's one question; c has not.
      let mine = nextReply(t.sa);
      await send(t.sa, { to: '#aigrp', text: '/ai again' });
      expect((await mine).text).toMatch(new RegExp(`AI quota exceeded for ${t.a.name}`));
      const atC: Message[] = [];
      sc.on('message:new', (m) => atC.push(m));
      await send(sc, { to: '#aigrp', text: '/ai my turn' });
      await waitFor(() => atC.some((m) => m.kind === 'ai'));
      // Everyone sees the quota notice: it is said in the group.
      expect(atC.filter((m) => m.kind !== 'user').map((m) => m.kind)).toEqual(expect.arrayContaining(['ai']));
      expect(gem.requests).toHaveLength(2);
      sc.close();
    } finally {
      await t.close();
    }
  });

  it('sees the conversation as it now is: edited text, no deleted message, no change records', async () => {
    const gem = await startFakeGemini({ answer: () => 'noted' });
    fakes.push(gem);
    const t = await setup({ GEMINI_API_KEY: 'k', GEMINI_BASE_URL: gem.url });
    try {
      const typo = await send(t.sa, { to: t.b.name, text: 'the meeting is on mondya' });
      const secret = await send(t.sb, { to: t.a.name, text: 'my pin is 4471' });
      if (!typo.ok || !secret.ok) throw new Error('send failed');
      const edit = (t.sa.timeout(10_000) as unknown as { emitWithAck: (e: string, p: unknown) => Promise<Ack<Message>> }).emitWithAck;
      expect((await edit.call(t.sa.timeout(10_000), 'message:edit', { to: t.b.name, seq: typo.data.seq, text: 'the meeting is on monday' })).ok).toBe(true);
      expect((await edit.call(t.sb.timeout(10_000), 'message:delete', { to: t.a.name, seq: secret.data.seq })).ok).toBe(true);
      expect((await edit.call(t.sb.timeout(10_000), 'message:react', { to: t.a.name, seq: typo.data.seq, emoji: '👍' })).ok).toBe(true);
      const reply = nextReply(t.sa);
      await send(t.sa, { to: t.b.name, text: '/ai when is the meeting?' });
      await reply;
      const texts = gem.requests[0]!.body.contents!.flatMap((c) => c.parts.map((p) => p.text)).join('\n');
      expect(texts).toContain('the meeting is on monday');
      expect(texts).not.toContain('mondya');
      expect(texts).not.toContain('4471');
      expect(texts).not.toContain('👍');
    } finally {
      await t.close();
    }
  });

  it('ignores texts that merely start with /ai-something', async () => {
    const gem = await startFakeGemini();
    fakes.push(gem);
    const t = await setup({ GEMINI_API_KEY: 'k', GEMINI_BASE_URL: gem.url });
    try {
      await send(t.sa, { to: t.b.name, text: '/aircraft is not a question' });
      await send(t.sa, { to: t.b.name, text: '/ai' });
      await new Promise((r) => setTimeout(r, 300));
      expect(gem.requests).toHaveLength(0);
    } finally {
      await t.close();
    }
  });
});

describe('toContents', () => {
  const m = (kind: Message['kind'], from: string, text: string): Message => ({ id: text, seq: 1, conversationId: 'dm:a:b', from, to: 'x', text, kind, createdAt: '' });
  it('maps people to user turns, AI to model turns, merges neighbours and skips system lines', () => {
    expect(toContents([m('ai', 'ai', 'stale'), m('user', 'alice', 'hi'), m('user', 'bob', 'yo'), m('system', 'system', 'x'), m('ai', 'ai', 'answer'), m('user', 'alice', '/ai q')])).toEqual([
      { role: 'user', parts: [{ text: '{"author":"alice","text":"hi"}' }, { text: '{"author":"bob","text":"yo"}' }] },
      { role: 'model', parts: [{ text: 'answer' }] },
      { role: 'user', parts: [{ text: '{"author":"alice","text":"/ai q"}' }] },
    ]);
  });
});

describe('/ai sees files', () => {
  it('sends the files of the message a question replies to (and its own) as inline data, typed and size-capped; others only by name', async () => {
    const gem = await startFakeGemini({ answer: () => 'a small picture and a note' });
    const t = await setup({ GEMINI_API_KEY: 'test-key', GEMINI_BASE_URL: gem.url, CHAT_AI_MAX_FILE_BYTES: '20000' });
    try {
      const png = tinyPng(4, 3);
      const pic = await uploadBytes(t.d.url, t.a, 'pic.png', png);
      const note = await uploadBytes(t.d.url, t.a, 'note.txt', Buffer.from('the meeting moved to 3pm\n'));
      const big = await uploadBytes(t.d.url, t.a, 'big.txt', Buffer.alloc(30_000, 0x61));
      const bin = await uploadBytes(t.d.url, t.a, 'blob.bin', Buffer.from([0, 1, 2, 3, 255]));
      const shared = await send(t.sa, { to: t.b.name, text: 'look at these', files: [pic.id, big.id, bin.id] });
      expect(shared.ok).toBe(true);
      const reply = nextReply(t.sb);
      const q = await send(t.sb, { to: t.a.name, text: '/ai what is in the picture?', replyTo: (shared as { data: Message }).data.seq });
      expect(q.ok).toBe(true);
      expect((await reply).text).toBe('a small picture and a note');
      // A question with its own file too.
      const reply2 = nextReply(t.sb);
      const note2 = await uploadBytes(t.d.url, t.b, 'note.txt', Buffer.from('the meeting moved to 3pm\n'));
      await send(t.sb, { to: t.a.name, text: '/ai summarise', files: [note2.id] });
      await reply2;
      const [first, second] = gem.requests.slice(-2);
      const inline = (r: typeof first) => r!.body.contents!.flatMap((c) => c.parts).filter((p) => 'inlineData' in p) as unknown as { inlineData: { mimeType: string; data: string } }[];
      expect(inline(first).map((p) => [p.inlineData.mimeType, Buffer.from(p.inlineData.data, 'base64').equals(png)])).toEqual([['image/png', true]]);
      expect(inline(second).map((p) => [p.inlineData.mimeType, Buffer.from(p.inlineData.data, 'base64').toString()])).toEqual([['text/plain', 'the meeting moved to 3pm\n']]);
      // The inline data is in the asker's turn, right after the question.
      const lastUser = first!.body.contents!.filter((c) => c.role === 'user').at(-1)!;
      expect(JSON.stringify(lastUser.parts.at(-2))).toContain('pic.png');
      void note;
      console.log(`/ai files: ${inline(first).length} of 3 replied-to files sent inline (the 30 kB text over the 20 kB cap and the binary left out); ${inline(second).length} of the question's own`);
    } finally {
      await t.close();
      await gem.close();
    }
  });
});
