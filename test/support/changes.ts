/**
 * Issue 28, item 3: catch-up converges. One user makes 500 seeded random sends, edits, deletes and
 * reactions on `senderUrl` while the other is offline, with a second client of theirs live on
 * `readerUrl`; the offline one comes back there and catches up by message:sync. Both views must
 * equal the server's, message for message; the counts are printed.
 */
import { expect } from 'vitest';
import { ChatError, applyRecord, isChange, type Ack, type Message, type SyncResult } from '../../src/protocol/index.js';
import { befriend, openSocket, registerUser, type TestSocket, type TestUser } from './daemon.js';
import { seeded } from './seeded.js';

/** Emits an event and resolves with its ack. */
export function call<T>(s: TestSocket, event: string, payload: unknown): Promise<Ack<T>> {
  return (s.timeout(15_000) as unknown as { emitWithAck: (e: string, p: unknown) => Promise<Ack<T>> }).emitWithAck(event, payload);
}
/** Emits an event and resolves with its ack's data, or throws its coded error. */
export async function ok<T>(s: TestSocket, event: string, payload: unknown): Promise<T> {
  const r = await call<T>(s, event, payload);
  if (!r.ok) throw new ChatError(r.error.code, r.error.message);
  return r.data;
}

/** Every message of a conversation as the server now has it, oldest first (paging back). */
export async function serverView(u: TestUser, peer: string): Promise<Message[]> {
  const out: Message[] = [];
  for (let before: number | undefined; ;) {
    const page = await u.api.history(peer, { limit: 500, ...(before ? { beforeSeq: before } : {}) });
    out.unshift(...page);
    if (page.length < 500) return out;
    before = page[0]!.seq;
  }
}

/** Catch-up from a cursor until the server says there is no more; every record applied to the view. */
export async function catchUp(s: TestSocket, view: Map<number, Message>, conv: string, cursor: number): Promise<{ cursor: number; records: number; calls: number }> {
  let records = 0;
  let calls = 0;
  for (;;) {
    const r = await ok<SyncResult>(s, 'message:sync', { cursors: { [conv]: cursor }, limit: 100 });
    calls++;
    for (const m of r.messages.filter((x) => x.conversationId === conv)) {
      applyRecord(view, m);
      cursor = Math.max(cursor, m.seq);
      records++;
    }
    if (!r.more) return { cursor, records, calls };
  }
}

export async function convergence(senderUrl: string, readerUrl: string, label = 'embedded'): Promise<{ changes: number }> {
  const seed = process.env.CHAT_CHANGES_SEED ? Number(process.env.CHAT_CHANGES_SEED) : Math.floor(Math.random() * 2 ** 31);
  const rand = seeded(seed);
  const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)]!;
  const ann = await registerUser(senderUrl);
  const ben = await registerUser(senderUrl);
  await befriend(ann, ben);
  const sa = await openSocket(senderUrl, ann.auth.accessToken);
  // Ben reads the first messages, then goes offline.
  const first: Message[] = [];
  for (let i = 0; i < 10; i++) first.push(await ok<Message>(sa, 'message:send', { to: ben.name, text: `before ${i}` }));
  const conv = first[0]!.conversationId;
  const benView = new Map<number, Message>();
  let sb = await openSocket(readerUrl, ben.auth.accessToken);
  const { cursor } = await catchUp(sb, benView, conv, 0);
  sb.close();
  // Meanwhile a live client of his sees everything as it happens.
  const liveView = new Map<number, Message>(benView);
  const sl = await openSocket(readerUrl, ben.auth.accessToken);
  sl.on('message:new', (m) => applyRecord(liveView, m));
  sl.on('message:change', (m) => applyRecord(liveView, m));
  const counts = { sends: 0, edits: 0, deletes: 0, reactions: 0, refused: 0 };
  const mine = first.map((m) => m.seq);
  const all = [...mine];
  const emoji = ['👍', '🎉', '❤️'];
  let last = 0;
  for (let i = 0; i < 500; i++) {
    const r = rand();
    let ack: Ack<Message>;
    if (r < 0.4) {
      ack = await call<Message>(sa, 'message:send', { to: ben.name, text: `m${i} ${rand().toString(36).slice(2, 8)}`, ...(rand() < 0.2 ? { replyTo: pick(all) } : {}) });
      if (ack.ok) { all.push(ack.data.seq); mine.push(ack.data.seq); counts.sends++; }
    } else if (r < 0.65) {
      ack = await call<Message>(sa, 'message:edit', { to: ben.name, seq: pick(mine), text: `edit ${i}` });
      if (ack.ok) counts.edits++;
    } else if (r < 0.75) {
      ack = await call<Message>(sa, 'message:delete', { to: ben.name, seq: pick(mine) });
      if (ack.ok) counts.deletes++;
    } else {
      ack = await call<Message>(sa, 'message:react', { to: ben.name, seq: pick(all), emoji: pick(emoji) });
      if (ack.ok) counts.reactions++;
    }
    // Refusals are part of the mix: edits past CHAT_MAX_EDITS, changes to deleted messages.
    if (!ack.ok) counts.refused++;
    else last = ack.data.seq;
  }
  // Ben comes back and catches up from where he was; the live client has had everything pushed.
  sb = await openSocket(readerUrl, ben.auth.accessToken);
  const caught = await catchUp(sb, benView, conv, cursor);
  const deadline = Date.now() + 15_000;
  while (Math.max(...liveView.keys()) < last && [...liveView.values()].every((m) => (m.changedSeq ?? m.seq) < last) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 300));
  const server = await serverView(ben, ann.name);
  const shown = (v: Map<number, Message>) => [...v.values()].filter((m) => !isChange(m)).sort((a, b) => a.seq - b.seq);
  const same = (a: unknown, b: unknown) => { try { expect(a).toEqual(b); return true; } catch { return false; } };
  const differing = (v: Map<number, Message>) => shown(v).filter((m, i) => !same(m, server[i])).length;
  console.log(`changes convergence, ${label} (seed ${seed}, rerun with CHAT_CHANGES_SEED=${seed}): ${JSON.stringify(counts)}; catch-up: ${caught.records} records in ${caught.calls} calls; server messages ${server.length}, offline client ${shown(benView).length}, live client ${shown(liveView).length}; differing: offline ${differing(benView)}, live ${differing(liveView)}`);
  expect(shown(benView)).toEqual(server);
  expect(shown(liveView)).toEqual(server);
  // The safety net agrees: everything changed since the first seq is as the views have it.
  const changed = await ben.api.changedSince(ann.name, 0, 500);
  for (const m of changed) expect(benView.get(m.seq)).toEqual(m);
  for (const s of [sa, sb, sl]) s.close();
  return { changes: counts.edits + counts.deletes + counts.reactions };
}
