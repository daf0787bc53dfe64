/**
 * The message writer thread. It owns its own connection to the database file and commits
 * each batch it is sent (synchronous=FULL: the fsync waits here, not on the event loop).
 * Protocol: in { id, messages } (insert as sequenced) or { id, drafts } (sequence, dedupe and
 * insert), out { id, rows } or { id, error }; { close: true } ends it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import type { Message } from '../../protocol/index.js';
import { configure, messageWrites } from './sqlite-messages.js';
import { WRITER_NICE, lowerPriority } from './thread-priority.js';
import type { MessageDraft } from './types.js';

lowerPriority(WRITER_NICE);
const db = new Database((workerData as { file: string }).file);
configure(db);
const writes = messageWrites(db);

parentPort!.on('message', ({ id, messages, drafts, close }: { id: number; messages?: Message[]; drafts?: MessageDraft[]; close?: true }) => {
  if (close) {
    db.close();
    parentPort!.close();
    return;
  }
  try {
    parentPort!.postMessage({ id, rows: drafts ? writes.append(drafts) : writes.write(messages!) });
  } catch (err) {
    parentPort!.postMessage({ id, error: (err as Error).message, code: (err as { code?: string }).code });
  }
});
