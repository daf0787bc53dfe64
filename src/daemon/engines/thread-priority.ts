import fs from 'node:fs';
import os from 'node:os';

/**
 * How much lower than the process this thread runs. The event loop serves every socket; when the
 * two share a core, a commit waits for the loop rather than the loop for a commit (in the dm
 * bench at 10k msg/s on one core: p99 56-63 ms at the same priority, 38-45 ms at +5). The kernel
 * still gives a niced thread about a quarter of a contended core, so commits never starve.
 */
export const WRITER_NICE = 5;
/** The checkpointer yields to the writer too: a late checkpoint only makes the WAL longer for a while. */
export const CHECKPOINTER_NICE = 10;

/** Linux only (a thread id is a pid to setpriority); elsewhere the thread keeps the process's priority. */
export function lowerPriority(by: number) {
  try {
    const tid = Number(fs.readFileSync('/proc/thread-self/stat', 'utf8').split(' ')[0]);
    os.setPriority(tid, Math.min(19, os.getPriority(tid) + by));
  } catch {
    // No /proc, or not allowed: run at the process's priority.
  }
}
