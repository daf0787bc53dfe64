import { Readable } from 'node:stream';
import { setImmediate as tick, setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { COLLECT_EVERY, countedStream, transientBytes } from '../../src/shared/transient-bytes.js';

/** Makes `n` 64 KiB buffers that nothing holds: garbage, in the young generation. */
function deadBuffers(n: number): number {
  let bytes = 0;
  for (let i = 0; i < n; i++) bytes += Buffer.allocUnsafeSlow(64 * 1024).length;
  return bytes;
}
const MiB = 1024 * 1024;
/** Memory held by array buffers (what dead socket reads hold), in MiB. */
const arrayBuffers = () => process.memoryUsage().arrayBuffers / MiB;

describe('transient bytes', () => {
  it('frees dead buffers once COLLECT_EVERY bytes have passed; without it they stay', async () => {
    transientBytes(COLLECT_EVERY); // the counter starts from zero now
    await sleep(50); // earlier garbage swept
    const base = arrayBuffers();
    deadBuffers(128); // 8 MiB
    transientBytes(COLLECT_EVERY - 1);
    const short = arrayBuffers() - base; // one byte short: nothing collected (the control), read before anything else can run
    transientBytes(1);
    // The buffers' memory is freed by a sweeper that may finish after the collection.
    let crossed = arrayBuffers() - base;
    for (let waited = 0; crossed >= 2 && waited < 1000; waited += 10) {
      await sleep(10);
      crossed = arrayBuffers() - base;
    }
    console.log(`transient bytes: 8 MiB of dead buffers; ${short.toFixed(1)} MiB still held one byte short of ${COLLECT_EVERY / MiB} MiB, ${crossed.toFixed(1)} MiB once it passed`);
    expect(short).toBeGreaterThan(7);
    expect(crossed).toBeLessThan(2);
  });

  it('a counted stream passes every byte through, and an early end reaches the source', async () => {
    const chunks = Array.from({ length: 40 }, (_, i) => Buffer.alloc(64 * 1024, i));
    const out: Buffer[] = [];
    for await (const c of countedStream(Readable.from(chunks))) out.push(c as Buffer);
    expect(Buffer.concat(out).equals(Buffer.concat(chunks))).toBe(true);

    const src = new Readable({ read() { this.push(Buffer.alloc(1024)); } });
    const counted = countedStream(src);
    for await (const c of counted) { void c; break; }
    await tick();
    expect(src.destroyed).toBe(true);
  });
});
