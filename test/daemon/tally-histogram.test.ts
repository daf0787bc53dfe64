import fc from 'fast-check';
import client from 'prom-client';
import { describe, expect, it } from 'vitest';
import { SEND_BUCKETS } from '../../src/daemon/services/send-metrics.js';
import { TallyHistogram } from '../../src/daemon/services/tally-histogram.js';

describe('TallyHistogram', () => {
  it('scrapes exactly as prom-client\'s Histogram does for the same observations', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(fc.tuple(fc.constantFrom('message:send', 'message:edit', 'typing'), fc.constantFrom('ok', 'CHAT_ERR_VALIDATION'), fc.oneof(fc.double({ min: 0, max: 10, noNaN: true }), fc.constantFrom(...SEND_BUCKETS))), { maxLength: 60 }),
      async (observations) => {
        const theirs = new client.Registry();
        const ours = new client.Registry();
        const reference = new client.Histogram({ name: 'h_seconds', help: 'help "text"\\', labelNames: ['event', 'code'], buckets: SEND_BUCKETS, registers: [theirs] });
        const tally = new TallyHistogram({ name: 'h_seconds', help: 'help "text"\\', labelNames: ['event', 'code'] as const, buckets: SEND_BUCKETS, registers: [ours] });
        for (const [event, code, v] of observations) {
          reference.observe({ event, code }, v);
          // Half through a bound series, half by labels: both paths.
          if (v > 1) tally.observe({ event, code }, v);
          else tally.labels({ event, code }).observe(v);
        }
        expect(await ours.metrics()).toBe(await theirs.metrics());
      },
    ), { numRuns: 200 });
  });

  it('counts a value on a bucket\'s bound in that bucket, and nothing for a value that is not a number', async () => {
    const r = new client.Registry();
    const h = new TallyHistogram({ name: 't_seconds', help: 't', labelNames: ['transport'] as const, buckets: [0.1, 1], registers: [r] });
    const s = h.labels({ transport: 'socket' });
    for (const v of [0.1, 0.5, 1, 3, Number.NaN]) s.observe(v);
    const text = await r.metrics();
    expect(text).toContain('t_seconds_bucket{le="0.1",transport="socket"} 1');
    expect(text).toContain('t_seconds_bucket{le="1",transport="socket"} 3');
    expect(text).toContain('t_seconds_bucket{le="+Inf",transport="socket"} 4');
    expect(text).toContain('t_seconds_count{transport="socket"} 4');
    h.reset();
    expect(await r.metrics()).not.toContain('t_seconds_count');
  });
});
