import { describe, expect, it } from 'vitest';
import { BatchQueue } from '../../../src/daemon/deployments/batch-queue.js';

describe('BatchQueue', () => {
  it('gathers everything pushed while a group is in process into the next group, and reports each group', async () => {
    const groups: number[][] = [];
    const observed: number[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    const q = new BatchQueue<number, number>(async (group) => {
      groups.push(group.map((p) => p.item));
      if (groups.length === 1) await gate;
      for (const p of group) p.resolve(p.item * 10);
    });
    q.observer = (size) => observed.push(size);
    const first = q.push(0);
    await new Promise((r) => setImmediate(r));
    // The first group is being written: these ten arrive over several event-loop turns.
    const rest: Promise<number>[] = [];
    for (let i = 1; i <= 10; i++) {
      rest.push(q.push(i));
      await new Promise((r) => setImmediate(r));
    }
    release();
    expect(await first).toBe(0);
    expect(await Promise.all(rest)).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
    console.log(`groups: ${groups.map((g) => g.length).join(', ')}`);
    expect(groups).toEqual([[0], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]]);
    expect(observed).toEqual([1, 10]);
    await q.flush();
  });

  it('rejects every member of a group whose write throws, and carries on with the next', async () => {
    let fail = true;
    const q = new BatchQueue<string, string>(async (group) => {
      if (fail) { fail = false; throw new Error('disk full'); }
      for (const p of group) p.resolve(p.item);
    });
    const bad = await Promise.allSettled([q.push('a'), q.push('b')]);
    expect(bad.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(await q.push('c')).toBe('c');
  });
});
