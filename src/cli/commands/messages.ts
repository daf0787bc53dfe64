import fs from 'node:fs';
import type { Command } from 'commander';
import { ChatError } from '../../protocol/errors.js';
import { LIMITS } from '../../protocol/limits.js';
import { CLIENT_MSG_ID } from '../../protocol/names.js';
import type { Message } from '../../protocol/types.js';
import { sendDurableRest } from '../../client/api.js';
import { uuidv7 } from '../../shared/uuid7.js';
import { safeJson } from '../../client/sanitize.js';
import type { Context } from '../context.js';
import { UsageError } from '../errors.js';
import { CONTINUATION, formatMessage } from '../format.js';
import { isChange } from '../../protocol/changes.js';
import { isOneEmoji } from '../../protocol/emoji.js';
import { sanitizeIndented, sanitizeLine } from '../../client/sanitize.js';
import { parseIntArg, parseTarget, readAll } from '../input.js';
import { uploadAll } from './files.js';
import { rememberNames } from '../../client/names-cache.js';
import { snippet } from '../../protocol/changes.js';

interface SendOpts { idempotencyKey?: string; timeout?: number; replyTo?: number; file?: string[] }

/** The text of a send or an edit: the words, or stdin when there are none or "-". */
async function textOf(ctx: Context, words: string[], usage: string): Promise<string> {
  let text = words.join(' ');
  // On a terminal with no text, say what is expected instead of waiting silently for stdin.
  if (words.length === 0 && ctx.io.stdin.isTTY) throw new UsageError(`nothing to send: give the text (${usage}), pipe it, or use - and end with Ctrl+D`);
  if (text === '-' && ctx.io.stdin.isTTY) ctx.note('type the message; end it with Ctrl+D');
  if (words.length === 0 || text === '-') text = (await readAll(ctx.io.stdin)).replace(/\r?\n$/, '');
  if (!text) throw new UsageError('nothing to send: give text or pipe it on stdin');
  return text;
}

function idempotencyKey(key: string | undefined): string {
  if (key !== undefined && (key.length > LIMITS.maxClientMsgIdLength || !CLIENT_MSG_ID.test(key))) {
    throw new UsageError(`--idempotency-key must be 1-${LIMITS.maxClientMsgIdLength} printable ASCII characters without spaces`);
  }
  // Always a clientMsgId, so retries across reconnects cannot duplicate.
  return key ?? uuidv7();
}

/**
 * Runs `fn` for a conversation named without `#`; when the server says there is no such friend
 * and one of my groups has that handle, the error asks "did you mean '#ops'?" (my groups only:
 * it tells a stranger nothing).
 */
async function groupHint<T>(ctx: Context, target: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (!(err instanceof ChatError) || target.startsWith('#') || !['CHAT_ERR_NOT_FRIENDS', 'CHAT_ERR_NOT_FOUND'].includes(err.code)) throw err;
    const g = await groupNamed(ctx, target);
    if (!g) throw err;
    throw new ChatError(err.code, `${err.message}; did you mean '#${g}'? (a group is named with #)`);
  }
}

/** The handle of my group named `name` (without #), if I am in one. */
async function groupNamed(ctx: Context, name: string): Promise<string | undefined> {
  const groups = await ctx.api().groups().catch(() => []);
  return groups.find((x) => x.handle.toLowerCase() === name.toLowerCase())?.handle;
}

/** Socket.IO's reasons for a dropped connection, as people say them. */
const DROPPED: Record<string, string> = {
  'io server disconnect': 'the server closed the connection',
  'transport close': 'the connection was closed',
  'transport error': 'the connection failed',
  'ping timeout': 'the server stopped answering',
  'parse error': 'the server sent something unreadable',
};

export async function runSend(ctx: Context, user: string, words: string[], o: SendOpts) {
  const to = parseTarget(user);
  const paths = o.file ?? [];
  if (paths.length > LIMITS.maxFilesPerMessage) throw new UsageError(`at most ${LIMITS.maxFilesPerMessage} files per message`);
  for (const p of paths) {
    const st = fs.statSync(p, { throwIfNoEntry: false });
    if (!st?.isFile()) throw new UsageError(`--file ${p}: ${st ? 'not a file' : 'no such file'}`);
    if (st.size === 0) throw new UsageError(`--file ${p}: the file is empty`);
  }
  // With files, the text is only what is given (or "-" for stdin): a script's open stdin is never waited on.
  const text = paths.length && (words.length === 0) ? '' : await textOf(ctx, words, `chat send ${to.startsWith('#') ? `'${to}'` : to} "hello"`);
  const clientMsgId = idempotencyKey(o.idempotencyKey);
  const files = paths.length ? (await uploadAll(ctx, paths)).map((f) => f.id) : undefined;
  // Over REST: no socket to open (and no presence to flip), and fetch is built in.
  const m = await groupHint(ctx, to, () => sendDurableRest(ctx.api(), { to, text, clientMsgId, ...(o.replyTo !== undefined ? { replyTo: o.replyTo } : {}), ...(files ? { files } : {}) }, (o.timeout ?? 30) * 1000));
  const attached = m.files?.length ? ` with ${m.files.length === 1 ? 'a file' : `${m.files.length} files`}` : '';
  ctx.done(m, () => `sent #${m.seq} to ${to.startsWith('#') ? to : m.to}${attached}${m.reply ? ` (a reply to #${m.reply.seq})` : ''}`);
}

export async function runEdit(ctx: Context, user: string, seq: number, words: string[], o: { idempotencyKey?: string }) {
  const to = parseTarget(user);
  const text = await textOf(ctx, words, `chat edit ${to.startsWith('#') ? `'${to}'` : to} ${seq} "new text"`);
  const r = await ctx.api().editMessage(to, seq, text, idempotencyKey(o.idempotencyKey));
  ctx.done(r, () => `edited #${seq} (change #${r.seq})`);
}

export async function runDelete(ctx: Context, user: string, seq: number) {
  const to = parseTarget(user);
  const r = await ctx.api().deleteMessage(to, seq);
  ctx.done(r, () => `deleted #${seq} (change #${r.seq})`);
}

export async function runReact(ctx: Context, user: string, seq: number, emoji: string, o: { add?: boolean; remove?: boolean }) {
  const to = parseTarget(user);
  if (o.add && o.remove) throw new UsageError('give --add or --remove, not both');
  if (!isOneEmoji(emoji)) throw new UsageError(`a reaction is one emoji, got ${JSON.stringify(emoji.slice(0, 40))}`);
  const r = await ctx.api().react(to, seq, emoji, o.add ? 'add' : o.remove ? 'remove' : 'toggle');
  ctx.done(r, () => `${r.op === 'remove' ? 'removed' : 'reacted'} ${sanitizeLine(emoji)} ${r.op === 'remove' ? 'from' : 'to'} #${seq} (change #${r.seq})`);
}

interface HistoryOpts { limit?: number; beforeSeq?: number; afterSeq?: number; edits?: number; changedSince?: number; around?: number }

export async function runHistory(ctx: Context, user: string, o: HistoryOpts) {
  const peer = parseTarget(user);
  const modes = [o.edits, o.changedSince, o.afterSeq ?? o.beforeSeq, o.around].filter((x) => x !== undefined).length;
  if (modes > 1) throw new UsageError('--edits, --changed-since, --around and --before-seq/--after-seq go one at a time');
  if (o.edits !== undefined) {
    const e = await ctx.api().messageEdits(peer, o.edits);
    ctx.print(e, () => e.versions.map((v, i) => `${v.at.replace('T', ' ').replace(/\.\d+Z$/, '')} ${i === 0 ? 'sent  ' : `edit ${i}`}: ${sanitizeIndented(v.text, CONTINUATION)}`).join('\n'));
    return;
  }
  const list = await groupHint(ctx, peer, () => (o.changedSince !== undefined ? ctx.api().changedSince(peer, o.changedSince, o.limit) : ctx.api().history(peer, { limit: o.limit, beforeSeq: o.beforeSeq, afterSeq: o.afterSeq, around: o.around })));
  // Nothing with a user of that name (a stranger's history is empty, not refused): perhaps a group was meant.
  if (list.length === 0 && !peer.startsWith('#')) {
    const g = await groupNamed(ctx, peer);
    if (g) ctx.note(`no messages with ${peer}; did you mean '#${g}'? (a group is named with #)`);
  }
  const names = new Map(peer.startsWith('#') && list[0] ? [[list[0].conversationId, peer]] : []);
  ctx.print(list, () => list.map((m) => formatMessage(m, names, ctx.username)).join('\n'));
}

const LIVE_EVENTS = ['presence:update', 'typing:update', 'receipt:update', 'ai:chunk', 'friend:update', 'group:update'] as const;

/**
 * Prints incoming messages until SIGINT (or `signal` aborts), gap-free across reconnects.
 * With `events`, every server event is printed as {event, data} (messages as "message:new").
 */
export async function runListen(ctx: Context, opts: { events?: boolean } = {}, signal?: AbortSignal) {
  // Group messages are shown by the group's #handle (kept current as groups change).
  const human = !ctx.json && !opts.events;
  const groups = new Map<string, string>();
  if (human) for (const g of await ctx.api().groups()) groups.set(g.conversationId, `#${g.handle}`);
  const conn = await ctx.connect();
  const { MessageStream } = await import('../../client/socket.js');
  const stream = new MessageStream(ctx.api(), conn);
  if (human) conn.socket.on('group:update', (e) => { groups.set(e.group.conversationId, `#${e.group.handle}`); });
  let fatal: ChatError | undefined;
  let stopping = false;
  const done = new Promise<void>((resolve) => {
    const stop = () => { stopping = true; resolve(); };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    signal?.addEventListener('abort', stop);
    conn.on('fatal', (e: ChatError) => { fatal = e; resolve(); });
  });
  stream.on('message', (m: Message) => {
    if (opts.events) ctx.io.out(safeJson({ event: isChange(m) ? 'message:change' : 'message:new', data: m }) + '\n');
    else if (ctx.json) ctx.io.out(safeJson(m) + '\n');
    else ctx.io.out(formatMessage(m, groups, ctx.username) + '\n');
  });
  if (opts.events) {
    for (const name of LIVE_EVENTS) {
      (conn.socket as unknown as { on(n: string, f: (d: unknown) => void): void }).on(name, (data) => ctx.io.out(safeJson({ event: name, data }) + '\n'));
    }
  }
  stream.on('warn', (e: Error) => ctx.note(`warning: ${e.message}`));
  conn.socket.on('connect', () => ctx.note('connected'));
  // Our own close (SIGINT, SIGTERM) ends quietly: only an unexpected drop is worth a line.
  conn.socket.on('disconnect', (reason) => { if (!stopping && reason !== 'io client disconnect') ctx.note(`disconnected: ${DROPPED[reason] ?? reason}; reconnecting`); });
  try {
    await stream.start();
    await done;
  } finally {
    conn.close();
  }
  if (fatal) throw fatal;
}

/** My conversations, latest first: who, unread (and mentions), the last message. Keeps the names cache current. */
export async function runConversations(ctx: Context) {
  const list = await ctx.api().conversations();
  rememberNames(ctx.env, { groups: list.filter((c) => c.kind === 'group').map((c) => c.with) });
  ctx.print(list, () => {
    if (list.length === 0) return 'no conversations yet';
    const width = Math.min(32, Math.max(...list.map((c) => c.with.length)));
    return list.map((c) => {
      const unread = c.unread ? ` (${c.unread}${c.mentions ? ` @${c.mentions}` : ''})` : '';
      const m = c.lastMessage;
      const last = m ? `${m.createdAt.replace('T', ' ').slice(0, 16)} ${m.kind === 'ai' ? 'AI' : m.from === ctx.username ? 'you' : sanitizeLine(m.from)}: ${m.deleted ? '(deleted)' : sanitizeLine(snippet(m.text))}` : 'no messages yet';
      return `${(sanitizeLine(c.with) + unread).padEnd(width + 8)} ${last}`;
    }).join('\n');
  });
}

export function register(program: Command, ctx: () => Context) {
  const seqArg = parseIntArg('seq', 1, Number.MAX_SAFE_INTEGER);
  program.command('conversations').description('my conversations, latest first: name, unread (@ mentions), the last message ([{with, kind, title, unread, mentions, lastMessage, ...}])')
    .action(() => runConversations(ctx()));
  program.command('send <to> [text...]').description('send a message (and files) to a friend or a #group; exits 0 after the durable ack. Reads stdin when no text or "-" (with --file: only for "-")')
    .option('--file <path>', `attach a file (repeat for more, at most ${LIMITS.maxFilesPerMessage}); uploaded first, resumed if the connection drops`, (v: string, prev: string[] = []) => [...prev, v])
    .option('--idempotency-key <key>', 'sent as clientMsgId: resending with the same key never creates a second message')
    .option('--reply-to <seq>', 'answer the message with this seq in the same conversation', parseIntArg('--reply-to', 1, Number.MAX_SAFE_INTEGER))
    .option('--timeout <seconds>', 'give up waiting for the ack after this long', parseIntArg('--timeout', 1, 3600), 30)
    .action((u: string, words: string[], o: SendOpts) => runSend(ctx(), u, words, o));
  program.command('edit <to> <seq> [text...]').description('replace the text of my message #seq (within the server\'s edit window). Reads stdin when no text or "-"')
    .option('--idempotency-key <key>', 'sent as clientMsgId: retrying with the same key never makes a second edit')
    .action((u: string, seq: string, words: string[], o: { idempotencyKey?: string }) => runEdit(ctx(), u, seqArg(seq), words, o));
  program.command('delete <to> <seq>').description('delete message #seq: mine, or any in a group where I am an owner or admin')
    .action((u: string, seq: string) => runDelete(ctx(), u, seqArg(seq)));
  program.command('react <to> <seq> <emoji>').description('react to message #seq with one emoji; the same emoji again removes it')
    .option('--add', 'add only (never remove)')
    .option('--remove', 'remove only')
    .action((u: string, seq: string, emoji: string, o: { add?: boolean; remove?: boolean }) => runReact(ctx(), u, seqArg(seq), emoji, o));
  program.command('history <with>').description('messages with a friend or in a #group, oldest first')
    .option('--limit <n>', `page size (default ${LIMITS.defaultHistoryLimit}, max ${LIMITS.maxHistoryLimit})`, parseIntArg('--limit', 1, LIMITS.maxHistoryLimit))
    .option('--before-seq <seq>', 'the page just before this seq', parseIntArg('--before-seq', 0, Number.MAX_SAFE_INTEGER))
    .option('--after-seq <seq>', 'every record after this seq (messages as they now are, and the edits, deletes and reactions): for catch-up', parseIntArg('--after-seq', 0, Number.MAX_SAFE_INTEGER))
    .option('--around <seq>', 'the page around message #seq (it and older, then newer): a search hit in context', parseIntArg('--around', 1, Number.MAX_SAFE_INTEGER))
    .option('--edits <seq>', 'the edit history of message #seq', parseIntArg('--edits', 1, Number.MAX_SAFE_INTEGER))
    .option('--changed-since <seq>', 'the messages changed (edited, deleted, reacted to) after this seq, as they now are', parseIntArg('--changed-since', 0, Number.MAX_SAFE_INTEGER))
    .action((u: string, o: HistoryOpts) => runHistory(ctx(), u, o));
  program.command('listen').description('print incoming messages until SIGINT; --json prints one object per line')
    .option('--events', 'print every event type (messages, presence, typing, receipts, AI chunks, friend and group changes) as {event, data} lines')
    .action((o: { events?: boolean }) => runListen(ctx(), o));
}
