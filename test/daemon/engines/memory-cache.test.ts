import { describe, expect, it, vi } from 'vitest';
import { MemoryCache } from '../../../src/daemon/engines/memory-cache.js';
import { cacheContract } from './cache.contract.js';

cacheContract('memory', async () => {
  const c = new MemoryCache();
  await c.start();
  return c;
});

