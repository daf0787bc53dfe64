import fs from 'node:fs';
import os from 'node:os';

/**
 * How much lower than the process the checkpointer thread runs: a late checkpoint only makes the
 * WAL longer for a while, so it yields to the event loop and the writer.
 *
 * The writer runs at the process's priority. It was at +5 for a while, which measured better only
 * while every bench step started cold. With warm steps its slow groups (over 20 ms) were run-queue
 * waits (schedstat: 11-57 ms waiting, 1-8 ms running): at +5 the writer gets a quarter of a
 * contended core, less than the ~30% it needs at 10k msg/s, and loses to any other process on the
 * machine. At +0 the same A/B rounds had about half as many slow groups.
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
