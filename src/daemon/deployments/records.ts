import { applyChange, isChange, scrubbed, type Attachment, type Message } from '../../protocol/index.js';
import type { EditVersions, MessageDraft } from '../ports/index.js';

/**
 * How both deployments keep a record beyond its core fields (id, seq, conversation, from, to,
 * text, kind, time, clientMsgId): what it says once and for all (`extra`: a reply's target and a
 * message's mentions, a change's target, emoji and op), and its state after later changes
 * (`state`: edits, tombstone, reactions, and the earlier texts). Plain messages have neither, so
 * the send path stores and reads nothing more than before.
 */
export interface RecordExtra {
  replyTo?: number;
  mentions?: string[];
  target?: number;
  emoji?: string;
  op?: 'add' | 'remove';
  files?: Attachment[];
}
export interface RecordState {
  editedAt?: string;
  edits?: number;
  deleted?: { by: string; at: string };
  reactions?: { emoji: string; count: number; users: string[] }[];
  /** The text it was sent with, once edited (its later texts are in its edit records). */
  original?: string;
  /** The seqs of its edit records, oldest first: its edit history, and what a delete empties. */
  editSeqs?: number[];
}

/**
 * What a stored message keeps of its past: the text it was sent with, and the seqs of the edit
 * records that hold every later one. An edit adds one number, never a copy of a text, so the
 * row an edit rewrites stays small however often it is edited.
 */
export interface Kept { original: string | null; editSeqs: number[] }
export const NOTHING_KEPT: Kept = { original: null, editSeqs: [] };

const EXTRA_KEYS = ['replyTo', 'mentions', 'target', 'emoji', 'op', 'files'] as const satisfies readonly (keyof RecordExtra)[];
// The plain-record check below reads each of EXTRA_KEYS by name: a key added there and not below fails to compile.
const everyKeyChecked: [Exclude<(typeof EXTRA_KEYS)[number], 'replyTo' | 'mentions' | 'target' | 'emoji' | 'op' | 'files'>] extends [never] ? true : never = true;
void everyKeyChecked;

/**
 * What a record says besides its core fields, or null (a plain message). Called for every message
 * on the way to the writer and into the store: a plain one is told by named reads first (a loop
 * over the keys reads each by key, megamorphic on the event loop's hot path).
 */
export function extraOf(m: MessageDraft | Message): RecordExtra | null {
  if (m.replyTo === undefined && m.mentions === undefined && m.target === undefined && m.emoji === undefined && m.op === undefined && m.files === undefined) return null;
  let out: RecordExtra | null = null;
  for (const k of EXTRA_KEYS) {
    const v = m[k];
    if (v !== undefined) (out ??= {})[k] = v as never;
  }
  return out;
}

/** A message's state besides its text, or null when it never changed. */
export function stateOf(m: Message, kept: Kept = NOTHING_KEPT): RecordState | null {
  if (m.changedSeq === undefined) return null;
  const s: RecordState = {};
  if (m.editedAt !== undefined) s.editedAt = m.editedAt;
  if (m.edits !== undefined) s.edits = m.edits;
  if (m.deleted !== undefined) s.deleted = m.deleted;
  if (m.reactions !== undefined) s.reactions = m.reactions;
  if (kept.original !== null) s.original = kept.original;
  if (kept.editSeqs.length) s.editSeqs = kept.editSeqs;
  return s;
}

/** A stored record as a Message: its core fields with what `extra` and `state` add. */
export function withParts(core: Message, extra: RecordExtra | null, state: RecordState | null, changedSeq: number | null): Message {
  const m: Message = extra ? { ...core, ...extra } : core;
  if (state) {
    if (state.editedAt !== undefined) m.editedAt = state.editedAt;
    if (state.edits !== undefined) m.edits = state.edits;
    if (state.deleted !== undefined) m.deleted = state.deleted;
    if (state.reactions !== undefined) m.reactions = state.reactions;
  }
  if (changedSeq !== null) m.changedSeq = changedSeq;
  return m;
}

/** What a stored message keeps of its past, from its state. */
export function keptOf(state: RecordState | null): Kept {
  return { original: state?.original ?? null, editSeqs: state?.editSeqs ?? [] };
}

/**
 * What a store does with a change record, given the target as stored: the target's next state and
 * what it keeps of its past (an edit keeps the text it replaces; a delete forgets everything), or
 * `next: null` when the target stays as it is (already applied, an edit by someone else); and the
 * seqs of edit records whose text must go: a delete's earlier edits, or the edit itself when it
 * reaches a message already deleted (it raced the delete). Null when there is nothing to write.
 */
export function applyStored(target: Message, kept: Kept, change: Message): { next: Message | null; kept: Kept; scrub: number[] } | null {
  const next = applyChange(target, change);
  if (next === target) return target.deleted && change.kind === 'edit' ? { next: null, kept, scrub: [change.seq] } : null;
  if (next.deleted) return { next, kept: NOTHING_KEPT, scrub: kept.editSeqs };
  if (change.kind === 'edit') return { next, kept: { original: kept.original ?? target.text, editSeqs: [...kept.editSeqs, change.seq] }, scrub: [] };
  return { next, kept, scrub: [] };
}

/**
 * A message's texts, first to current, from its stored state and its edit records (`edits`,
 * those with the seqs `kept.editSeqs` names): null when it is deleted or not a message.
 */
export function editHistory(m: Message, kept: Kept, edits: Message[]): EditVersions | null {
  if (m.deleted || isChange(m)) return null;
  if (kept.original === null) return [{ text: m.text, at: m.createdAt }];
  const later = edits.filter((e) => e.kind === 'edit' && e.target === m.seq).sort((a, b) => a.seq - b.seq);
  return [{ text: kept.original, at: m.createdAt }, ...later.map((e) => ({ text: e.text, at: e.createdAt }))];
}

/**
 * Messages with the change records that may not be part of their stored state yet (the scale-out
 * recent buffer, ahead of MongoDB): each applies where it is newer than the stored state.
 * `records` may hold anything; only changes to the given messages count, in seq order.
 */
export function overlay(messages: Message[], records: Message[]): Message[] {
  const changes = records.filter(isChange).sort((a, b) => a.seq - b.seq);
  if (changes.length === 0) return messages;
  const deleted = new Set(changes.filter((c) => c.kind === 'delete').map((c) => c.target));
  return messages.map((m) => {
    // The edits of a deleted message keep no text, wherever the page found them.
    if (m.kind === 'edit' && deleted.has(m.target)) return scrubbed(m);
    let cur = m;
    for (const c of changes) if (c.target === m.seq) cur = applyChange(cur, c);
    return cur;
  });
}
