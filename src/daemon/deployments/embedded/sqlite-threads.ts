import { Worker } from 'node:worker_threads';
import { SeqConflictError } from '../../ports/errors.js';
import type { Message } from '../../../protocol/index.js';
import type { AppendResult, MessageRow } from './sqlite-messages.js';
import { packDrafts, unpackResults, type PackedDrafts, type PackedResults } from './draft-wire.js';

/** One WAL checkpoint of the embedded store: frames copied so far, WAL length in pages, time taken; or why it failed. */
export type CheckpointEvent = { pages: number; walPages: number; ms: number } | { error: string };
import type { MessageDraft } from '../../ports/index.js';
import type { BackfillState } from './sqlite-search.js';
import type { SqliteDriver } from './sqlite-driver.js';

/**
 * The SQLite threads as the event loop sees them (the threads themselves are sqlite-writer.ts):
 * the message writer, which commits batches off the event loop, and the checkpointer.
 */

/** Starts one of the SQLite threads (sqlite-writer.ts), unref'd. */
function sqliteThread(file: string, role: 'writer' | 'checkpointer', inline = false, driver?: SqliteDriver): Worker {
  const workerData = { file, role, inline, driver };
  const w = import.meta.url.endsWith('.ts')
    // Under the test runner this module is TypeScript: the thread registers tsx, then loads it.
    ? new Worker(`import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((t) => { t.register(); return import(${JSON.stringify(new URL('./sqlite-writer.ts', import.meta.url).href)}); });`, { eval: true, workerData })
    : new Worker(new URL('./sqlite-writer.js', import.meta.url), { workerData });
  w.unref();
  return w;
}

/**
 * The checkpointer thread: copies committed WAL frames into the database file every
 * CHECKPOINT_EVERY_MS, so that neither the writer's commits nor the event loop's own writes pay
 * for a checkpoint. Should it die, every connection goes back to SQLite's in-line checkpoints.
 */
export class Checkpointer {
  private readonly worker: Worker;
  private closing = false;

  constructor(file: string, onCheckpoint: (c: CheckpointEvent) => void, onExit: (err: Error) => void, driver?: SqliteDriver) {
    this.worker = sqliteThread(file, 'checkpointer', false, driver);
    this.worker.on('message', (m: { checkpoint?: CheckpointEvent }) => {
      if (m.checkpoint) onCheckpoint(m.checkpoint);
    });
    this.worker.on('error', (err) => { if (!this.closing) onExit(err); });
    this.worker.on('exit', (code) => { if (!this.closing) onExit(new Error(`the SQLite checkpointer thread exited (code ${code})`)); });
  }

  async close() {
    this.closing = true;
    const exited = new Promise((r) => this.worker.once('exit', r));
    this.worker.postMessage({ close: true });
    await exited;
  }
}

/**
 * The message writer thread, seen from the event loop: batches go in, and each comes back
 * once committed. If the thread dies, pending batches fail (their senders get an error and
 * may retry, idempotently) and the next batch starts a new thread.
 */
export class WriterThread {
  private worker: Worker | null = null;
  private next = 1;
  private readonly pending = new Map<number, { resolve: (rows: never) => void; reject: (err: Error) => void }>();
  /** Whether this thread (and any respawned one) checkpoints in line, as SQLite does by default. */
  private inline = false;

  constructor(private readonly file: string, private readonly driver?: SqliteDriver) {}

  write(messages: Message[]): Promise<(MessageRow | null)[]> {
    return this.request({ messages });
  }

  append(drafts: MessageDraft[]): Promise<AppendResult[]> {
    return this.request<PackedResults>({ drafts: packDrafts(drafts) }).then(unpackResults);
  }

  /** Indexes the next `chunk` rows of the search backfill, between two batches. */
  backfillSearch(chunk: number): Promise<BackfillState> {
    return this.request({ backfill: chunk });
  }

  /** Drops replaced words from the search index, between two batches. */
  purgeSearch(): Promise<number> {
    return this.request<{ replaced: number }>({ purge: true }).then((r) => r.replaced);
  }

  private request<R>(body: { messages: Message[] } | { drafts: PackedDrafts } | { backfill: number } | { purge: true }): Promise<R> {
    const w = (this.worker ??= this.spawn());
    const id = this.next++;
    return new Promise<R>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (rows: never) => void, reject });
      if (this.pending.size === 1) w.ref();
      w.postMessage({ id, ...body });
    });
  }

  /** After a checkpointer pass: the writer copies the frames committed during it, between two commits. */
  catchUp() {
    this.worker?.postMessage({ catchUp: true });
  }

  /** The checkpointer is gone: checkpoint in line from now on. */
  checkpointInline() {
    this.inline = true;
    this.worker?.postMessage({ inline: true });
  }

  async close() {
    const w = this.worker;
    if (!w) return;
    this.worker = null;
    const exited = new Promise((r) => w.once('exit', r));
    w.postMessage({ close: true });
    await exited;
  }

  private spawn(): Worker {
    const w = sqliteThread(this.file, 'writer', this.inline, this.driver);
    w.on('message', (r: { id: number; rows?: never; error?: string; code?: string; conflict?: { messageId: string; conversationId: string; seq: number } }) => {
      const p = this.pending.get(r.id);
      if (!p) return;
      this.pending.delete(r.id);
      if (this.pending.size === 0) w.unref();
      if (r.rows) p.resolve(r.rows);
      else if (r.conflict) p.reject(new SeqConflictError(r.conflict.messageId, r.conflict.conversationId, r.conflict.seq));
      else p.reject(Object.assign(new Error(r.error), r.code ? { code: r.code } : {}));
    });
    const fail = (err: Error) => {
      if (this.worker === w) this.worker = null;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`the SQLite writer thread exited (code ${code})`)));
    return w;
  }
}
