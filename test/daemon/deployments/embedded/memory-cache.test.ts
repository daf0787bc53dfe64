import { describe, expect, it, vi } from 'vitest';
import { MemoryCache } from '../../../../src/daemon/deployments/embedded/memory-cache.js';
import { cacheContract } from '../../ports/limits-presence.contract.js';

cacheContract('memory', async () => {
  const c = new MemoryCache();
  await c.start();
  return c;
});

