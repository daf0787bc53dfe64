import path from 'node:path';
import type { Config } from '../config.js';
import { InProcessPipeline } from './inprocess-pipeline.js';
import { MemoryCache } from './memory-cache.js';
import { SqliteStore } from './sqlite-store.js';
import type { Cache, Pipeline, Store } from './types.js';

export interface Engines {
  store: Store;
  cache: Cache;
  pipeline: Pipeline;
}

/** The one place where configuration picks each engine. */
export function createEngines(config: Config): Engines {
  let store: Store;
  switch (config.store) {
    case 'sqlite':
      store = new SqliteStore(path.join(config.dataDir, 'chat.db'));
      break;
    default:
      throw new Error(`unknown store kind: ${String(config.store)}`);
  }
  let cache: Cache;
  switch (config.cache) {
    case 'memory':
      cache = new MemoryCache();
      break;
    default:
      throw new Error(`unknown cache kind: ${String(config.cache)}`);
  }
  let pipeline: Pipeline;
  switch (config.pipeline) {
    case 'inprocess':
      pipeline = new InProcessPipeline(store, config.commitBatchMax);
      break;
    default:
      throw new Error(`unknown pipeline kind: ${String(config.pipeline)}`);
  }
  return { store, cache, pipeline };
}
