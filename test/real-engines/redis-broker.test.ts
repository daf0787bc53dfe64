import { Redis } from 'ioredis';
import pino from 'pino';
import { RedisBroker } from '../../src/daemon/deployments/scaleout/redis-broker.js';
import { brokerContract } from '../daemon/ports/broker.contract.js';
import { services } from './env.js';

const env = services('REDIS_URL');
if (env) {
  const NODES = 3;
  let made = 0;
  const clients: Redis[] = [];
  brokerContract(`scale-out (${NODES} nodes on the Redis adapter at ${env.REDIS_URL})`, NODES, async () => {
    // The nodes of one test share a prefix (one deployment); each test gets its own.
    const prefix = `chat-test:${process.pid}:broker${Math.floor(made++ / NODES)}:`;
    const redis = new Redis(env.REDIS_URL, { lazyConnect: true });
    clients.push(redis);
    return new RedisBroker(redis, prefix, pino({ level: 'silent' }));
  }, async () => {
    for (const c of clients.splice(0)) c.disconnect();
  });
}
