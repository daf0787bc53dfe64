import v8 from 'node:v8';
import vm from 'node:vm';
import { pipeline, Transform, type Readable } from 'node:stream';

/**
 * Bytes that pass through a process once (a file's bytes, uploaded or downloaded, in chatd and
 * in the CLI) and are garbage as soon as they are written. Each socket or file read is a buffer
 * of its own, and V8 frees buffers only when it collects its young generation, which it does by
 * the size of its objects (a buffer's object is a few dozen bytes), not by the size of what they
 * hold: about 30 MiB of dead reads piled up between two collections, whatever the file's size.
 * Collecting the young generation every COLLECT_EVERY bytes keeps that pile small (chatd: +30
 * MiB of RSS during a 1 GiB upload before, +6 to +9 after). A young collection of dead buffers
 * takes about half a millisecond: at 8 MiB, well under 1% of a transfer's time. Whoever keeps
 * such bytes for longer should copy them out (see file-blobs.ts), or they outlive two collections
 * and move to the old generation, where they wait for a full one.
 */
export const COLLECT_EVERY = 8 * 1024 * 1024;

type Gc = (options: { type: 'minor' | 'major' }) => void;

/**
 * V8's `gc` function, without exposing it to chatd's own global scope: the flag is set at run
 * time and only a new context gets the function. Null where this V8 does not give it.
 */
function youngCollector(): (() => void) | null {
  try {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as Gc | undefined;
    if (typeof gc !== 'function') return null;
    return () => gc({ type: 'minor' });
  } catch {
    return null;
  }
}

let collect: (() => void) | null | undefined;
let since = 0;

/** Counts `n` transient bytes read; every COLLECT_EVERY of them, collects the young generation. */
export function transientBytes(n: number): void {
  since += n;
  if (since < COLLECT_EVERY) return;
  since = 0;
  if (collect === undefined) collect = youngCollector();
  collect?.();
}

/** `src` with its bytes counted as transient as they pass (a download's file or GridFS stream); errors and an early end go both ways. */
export function countedStream(src: Readable): Readable {
  // As much room as the file stream has on each side, so the counter adds no pauses of its own.
  const counter = new Transform({
    highWaterMark: src.readableHighWaterMark,
    transform(chunk: Buffer, _enc, done) {
      transientBytes(chunk.length);
      done(null, chunk);
    },
  });
  return pipeline(src, counter, () => {});
}
