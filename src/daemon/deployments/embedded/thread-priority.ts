import fs from 'node:fs';
import os from 'node:os';

/**
 * How much lower than the process the checkpointer thread runs: a late checkpoint only makes the
 * WAL longer for a while, so it yields to the event loop and the writer.
 *
 * The writer stays at the process's priority: every acknowledgement waits for its commits, so on a
 * contended core a lowered writer would lose to any other process on the machine.
 */
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
