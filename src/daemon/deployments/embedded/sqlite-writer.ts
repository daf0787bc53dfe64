/**
 * The SQLite threads. Each owns its own connection to the database file.
 *
 * The writer commits each batch it is sent (synchronous=FULL: the fsync waits here, not on the
 * event loop). Protocol: in { id, messages } (insert as sequenced) or { id, drafts } (sequence,
 * dedupe and insert), { id, backfill: n } (index the next n rows of a data dir from before search),
 * { id, purge: true } (drop replaced words from the search index); out { id, rows } or
 * { id, error }; { close: true } ends it.
 *
 * The checkpointer copies committed WAL frames into the database file (PASSIVE: it never waits
 * for, nor blocks, the writer), so no commit pays for a checkpoint. Out { checkpoint } after each
 * one that copied something, or failed; { close: true } ends it. The writer then copies what was
 * committed during the pass ({ catchUp: true }); { inline: true } puts it back on SQLite's
 * in-line checkpoints when the checkpointer is gone.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SeqConflictError } from '../../ports/errors.js';
import { openSqlite, sqliteCode, type SqliteDriver } from './sqlite-driver.js';
import type { Message } from '../../../protocol/index.js';
import { CHECKPOINT_EVERY_MS, WRITER_FALLBACK_CHECKPOINT_PAGES, configure, messageWrites } from './sqlite-messages.js';
import { CHECKPOINTER_NICE, lowerPriority } from './thread-priority.js';
import { packResults, unpackDrafts, type PackedDrafts } from './draft-wire.js';
import { indexPass, purgeSearch } from './sqlite-search.js';

const { file, role, inline, driver } = workerData as { file: string; role: 'writer' | 'checkpointer'; inline: boolean; driver?: SqliteDriver };
const port = parentPort!;

if (role === 'checkpointer') {
  lowerPriority(CHECKPOINTER_NICE);
  const db = openSqlite(file, { driver });
  configure(db);
  db.pragma('wal_autocheckpoint = 0');
  // TRUNCATE waits this long at most for a commit in progress.
  db.pragma('busy_timeout = 100');
  type Result = { busy: number; log: number; checkpointed: number };
  const checkpoint = (mode: 'PASSIVE' | 'TRUNCATE') => (db.pragma(`wal_checkpoint(${mode})`) as Result[])[0]!;
  let lastLog = 0;
  const timer = setInterval(() => {
    const t = performance.now();
    try {
      // PASSIVE copies what is committed while the writer goes on appending. Under steady writes
      // a pass rarely ends between two commits, which is what lets the next commit start the WAL
      // over; the writer is told to copy the few frames added during the pass (catchUp). The
      // file keeps its largest size (truncating it under load made every commit after a restart
      // extend it again: 50 ms stalls), and is truncated once writes stop: same length, all copied.
      const r = checkpoint('PASSIVE');
      if (r.log === 0) { lastLog = 0; return; }
      if (r.log !== lastLog) port.postMessage({ checkpoint: { pages: r.checkpointed, walPages: r.log, ms: performance.now() - t } });
      else if (r.checkpointed === r.log) checkpoint('TRUNCATE');
      lastLog = r.log;
    } catch (err) {
      port.postMessage({ checkpoint: { error: (err as Error).message } });
    }
  }, CHECKPOINT_EVERY_MS);
  port.on('message', ({ close }: { close?: true }) => {
    if (!close) return;
    clearInterval(timer);
    db.close();
    port.close();
  });
} else {
  const db = openSqlite(file, { driver });
  configure(db);
  // The checkpointer keeps the WAL short; this only bounds it should that thread fall behind.
  // Without a checkpointer (it died), SQLite's own in-line default.
  const autocheckpoint = (inlineNow: boolean) => db.pragma(`wal_autocheckpoint = ${inlineNow ? 1000 : WRITER_FALLBACK_CHECKPOINT_PAGES}`);
  autocheckpoint(inline);
  const writes = messageWrites(db);
  port.on('message', ({ id, messages, drafts, close, catchUp, inline: inlineNow, backfill, purge }: { id: number; messages?: Message[]; drafts?: PackedDrafts; close?: true; catchUp?: true; inline?: true; backfill?: number; purge?: true }) => {
    if (close) {
      db.close();
      port.close();
      return;
    }
    if (inlineNow) {
      autocheckpoint(true);
      return;
    }
    if (catchUp) {
      // Between two commits, with no other writer: this pass completes, so the next commit restarts the WAL.
      try {
        db.pragma('wal_checkpoint(PASSIVE)');
      } catch {
        // Busy or failed: the checkpointer's next pass and the fallback autocheckpoint remain.
      }
      return;
    }
    try {
      if (backfill !== undefined) port.postMessage({ id, rows: indexPass(db, backfill) });
      else if (purge) port.postMessage({ id, rows: { replaced: purgeSearch(db) } });
      else if (drafts) {
        const packed = packResults(writes.append(unpackDrafts(drafts)));
        port.postMessage({ id, rows: packed }, [packed.seqs.buffer as ArrayBuffer]);
      } else port.postMessage({ id, rows: writes.write(messages!) });
    } catch (err) {
      // A thread boundary loses the class: a seq conflict is sent as itself.
      const conflict = err instanceof SeqConflictError ? { messageId: err.messageId, conversationId: err.conversationId, seq: err.seq } : undefined;
      port.postMessage({ id, error: (err as Error).message, code: sqliteCode(err) ?? (err as { code?: string }).code, conflict });
    }
  });
}
