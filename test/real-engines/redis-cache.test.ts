import { RedisCache } from '../../src/daemon/deployments/scaleout/redis-cache.js';
import { cacheContract } from '../daemon/ports/limits-presence.contract.js';
import { services } from './env.js';

const env = services('REDIS_URL');
if (env) {
  cacheContract(`redis at ${env.REDIS_URL}`, async () => {
    const c = new RedisCache(env.REDIS_URL, `chat-test:${process.pid}:${Math.random().toString(36).slice(2)}:`);
    await c.start();
    return c;
  });
}
