import type { Message } from './types.js';

/**
 * How a change record (edit, delete, react) applies to the message it targets. One pure function
 * serves the stores (the embedded writer, the scale-out persister, the read path's overlay of
 * records not stored yet) and the clients (live events, catch-up): applied in seq order from any
 * starting point, every one of them reaches the same state.
 */

/** The kinds that are messages (shown); the others are changes (applied to their target). */
export const MESSAGE_KINDS = ['user', 'ai', 'system'] as const;
export const CHANGE_KINDS = ['edit', 'delete', 'react'] as const;

/** Whether a record is a change to an earlier message rather than a message. */
export function isChange(m: Pick<Message, 'kind'>): boolean {
  return m.kind === 'edit' || m.kind === 'delete' || m.kind === 'react';
}

/** Changes with a seq at or below this are already part of the message's state. */
export function stateSeq(m: Pick<Message, 'seq' | 'changedSeq'>): number {
  return m.changedSeq ?? m.seq;
}

/** Most code points of a reply's quote. */
export const SNIPPET_CODE_POINTS = 80;

/** The start of a text on one line: what a reply quotes. */
export function snippet(text: string): string {
  const cps = [...text.replace(/\s+/gu, ' ').trim()];
  return cps.length > SNIPPET_CODE_POINTS ? `${cps.slice(0, SNIPPET_CODE_POINTS - 1).join('')}…` : cps.join('');
}

/** A deleted message: who deleted it and when, and nothing of what it said. */
export function tombstone(m: Message, by: string, at: string, changedSeq: number): Message {
  const t: Message = { id: m.id, seq: m.seq, conversationId: m.conversationId, from: m.from, to: m.to, text: '', kind: m.kind, createdAt: m.createdAt, deleted: { by, at }, changedSeq };
  if (m.clientMsgId !== undefined) t.clientMsgId = m.clientMsgId;
  return t;
}

/** A change record whose target is deleted, as it is kept: an edit loses its text. */
export function scrubbed(record: Message): Message {
  if (record.kind !== 'edit') return record;
  const { mentions: _, ...rest } = record;
  return { ...rest, text: '' };
}

/**
 * The message after one change record (the input is not modified). A record for another message,
 * at or below the message's changedSeq (already applied), to a deleted message, or an edit by
 * someone else changes nothing. Reactions are sets: adding twice or removing what is not there
 * is a no-op that still moves changedSeq.
 */
export function applyChange(m: Message, c: Message): Message {
  if (!isChange(c) || c.target !== m.seq || c.conversationId !== m.conversationId || c.seq <= stateSeq(m) || m.deleted) return m;
  switch (c.kind) {
    case 'edit': {
      if (c.from !== m.from) return m;
      const next: Message = { ...m, text: c.text, editedAt: c.createdAt, edits: (m.edits ?? 0) + 1, changedSeq: c.seq };
      if (c.mentions?.length) next.mentions = c.mentions;
      else delete next.mentions;
      return next;
    }
    case 'delete':
      return tombstone(m, c.from, c.createdAt, c.seq);
    default: {
      const reactions = (m.reactions ?? []).map((r) => ({ ...r, users: [...r.users] }));
      const i = reactions.findIndex((r) => r.emoji === c.emoji);
      if (c.op === 'remove') {
        if (i >= 0) reactions[i]!.users = reactions[i]!.users.filter((u) => u !== c.from);
      } else if (i < 0) reactions.push({ emoji: c.emoji ?? '', count: 1, users: [c.from] });
      else if (!reactions[i]!.users.includes(c.from)) reactions[i]!.users.push(c.from);
      const kept = reactions.filter((r) => r.users.length > 0).map((r) => ({ ...r, count: r.users.length }));
      const next: Message = { ...m, changedSeq: c.seq };
      if (kept.length) next.reactions = kept;
      else delete next.reactions;
      return next;
    }
  }
}

/**
 * A client's view of a conversation, by seq: what a record (message or change, live or caught up,
 * in any order relative to what the view already holds) does to it. A message replaces the view's
 * copy unless that copy is newer; a change applies to its target when the view has it, and
 * refreshes the quotes of replies to it. Returns whether the view changed.
 */
export function applyRecord(view: Map<number, Message>, r: Message): boolean {
  if (!isChange(r)) {
    const had = view.get(r.seq);
    if (had && stateSeq(had) >= stateSeq(r)) return false;
    view.set(r.seq, r);
    return true;
  }
  const target = view.get(r.target ?? 0);
  if (!target) return false;
  const next = applyChange(target, r);
  if (next === target) return false;
  view.set(next.seq, next);
  if (r.kind !== 'react') {
    for (const m of view.values()) {
      if (m.reply?.seq === next.seq) view.set(m.seq, { ...m, reply: quoteOf(next) });
    }
  }
  return true;
}

/** How a reply quotes a message as it is now. */
export function quoteOf(m: Message): NonNullable<Message['reply']> {
  return m.deleted ? { seq: m.seq, from: m.from, snippet: '', deleted: true } : { seq: m.seq, from: m.from, snippet: snippet(m.text) };
}
