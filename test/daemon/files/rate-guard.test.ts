/**
 * The upload body's rate guard (`rateGuarded`): what it lets through, when it cuts a slow body
 * off, and that it keeps no chunk alive once the chunk is handed on. It raced each chunk against
 * one promise per window, which kept every chunk of the window alive: a whole upload in memory.
 */
import { Readable } from 'node:stream';
import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { rateGuarded } from '../../../src/daemon/http/files.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const KiB = 1024;

describe('the upload rate guard', () => {
  it('keeps no chunk alive after handing it on, however many arrive in one window', async () => {
    const CHUNKS = 300;
    const source = Readable.from((function* () {
      for (let i = 0; i < CHUNKS; i++) yield Buffer.alloc(64 * KiB, i);
    })(), { objectMode: true, highWaterMark: 2 });
    const state = { timedOut: false };
    const refs: WeakRef<Buffer>[] = [];
    let bytes = 0;
    let alive = -1;
    for await (const chunk of rateGuarded(source, 60_000, 1, state)) {
      bytes += chunk.length;
      refs.push(new WeakRef(chunk));
      if (refs.length === CHUNKS - 1) {
        // Still inside the window (its timer is running): anything that holds the chunks holds them now.
        await new Promise((r) => setImmediate(r));
        gc();
        alive = refs.slice(0, -5).filter((r) => r.deref() !== undefined).length;
      }
    }
    console.log(`rate guard: ${refs.length} chunks of 64 KiB through one window; ${alive} of the first ${CHUNKS - 6} still alive after a GC`);
    expect(bytes).toBe(CHUNKS * 64 * KiB);
    expect(state.timedOut).toBe(false);
    expect(alive).toBe(0);
  });

  it('passes a body that keeps up through several windows, and cuts off one that stalls', async () => {
    const steady = new Readable({ read() {} });
    let n = 0;
    const t = setInterval(() => {
      steady.push(Buffer.alloc(100));
      if (++n === 30) {
        clearInterval(t);
        steady.push(null);
      }
    }, 10);
    const ok = { timedOut: false };
    let got = 0;
    for await (const c of rateGuarded(steady, 60, 200, ok)) got += c.length;
    expect([got, ok.timedOut]).toEqual([3000, false]);

    const stalls = new Readable({ read() {} });
    stalls.push(Buffer.alloc(500));
    const cut = { timedOut: false };
    const started = Date.now();
    got = 0;
    for await (const c of rateGuarded(stalls, 60, 200, cut)) got += c.length;
    // The first window brought 500 bytes (enough); the second brought none.
    expect([got, cut.timedOut]).toEqual([500, true]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
    stalls.destroy();
  });
});
