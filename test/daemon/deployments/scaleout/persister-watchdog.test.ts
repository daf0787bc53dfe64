import { describe, expect, it } from 'vitest';
import { stalled } from '../../../../src/daemon/deployments/scaleout/kafka-persister.js';

describe('the persister watchdog', () => {
  it('restarts a consumer with lag left, or whose lag cannot be read; leaves an idle one alone', () => {
    expect(stalled(7419)).toBe(true);
    expect(stalled(null)).toBe(true);
    expect(stalled(0)).toBe(false);
  });
});
