/**
 * Issue 25, item 4, on any deployment: rounds of a member sending 150 messages while the owner
 * removes them. Every message acknowledged with a seq below the removal's own notice must be
 * readable by its sender afterwards, and nothing at or after it.
 */
import { expect } from 'vitest';
import type { Ack, Message } from '../../src/protocol/index.js';
import { befriend, openSocket, registerUser, uniqueName, type TestDaemon, type TestUser } from './daemon.js';

/** A conversation's whole history as `u` may read it, page by page. */
async function everything(u: TestUser, peer: string): Promise<Message[]> {
  const out: Message[] = [];
  for (let after = 0; ;) {
    const page = await u.api.history(peer, { afterSeq: after, limit: 500 });
    out.push(...page);
    if (page.length < 500) return out;
    after = page.at(-1)!.seq;
  }
}

export async function removalRounds(d: TestDaemon, rounds = 10) {
  const owner = await registerUser(d.url);
  const member = await registerUser(d.url);
  await befriend(owner, member);
  const s = await openSocket(d.url, member.auth.accessToken);
  const lines: string[] = [];
  let unreadable = 0;
  for (let round = 0; round < rounds; round++) {
    const handle = `cut${round}${uniqueName('g')}`.slice(0, 32);
    await owner.api.createGroup(handle, [member.name]);
    const acks: Promise<Ack<Message>>[] = [];
    for (let i = 0; i < 150; i++) acks.push(new Promise((r) => s.emit('message:send', { to: `#${handle}`, text: `m${i}` }, r)));
    // The removal lands somewhere in the middle of the burst.
    await new Promise((r) => setTimeout(r, round * 3));
    await owner.api.removeGroupMember(handle, member.name);
    const answered = await Promise.all(acks);
    const acked = answered.filter((a): a is { ok: true; data: Message } => a.ok).map((a) => a.data);
    const all = await everything(owner, `#${handle}`);
    const notice = all.find((m) => m.kind === 'system' && m.text.includes(`removed ${member.name}`))!;
    const before = acked.filter((m) => m.seq < notice.seq);
    const readable = await everything(member, `#${handle}`);
    const readIds = new Set(readable.map((m) => m.id));
    const missing = before.filter((m) => !readIds.has(m.id)).length;
    unreadable += missing;
    const after = readable.filter((m) => m.seq >= notice.seq).length;
    lines.push(`round ${round}: acked ${acked.length}, before the notice (seq ${notice.seq}) ${before.length}, unreadable by their sender ${missing}, readable at or after the notice ${after}`);
    expect(after).toBe(0);
  }
  console.log(lines.join('\n'));
  s.close();
  return unreadable;
}
