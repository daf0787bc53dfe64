import { MongoStore } from '../../src/daemon/engines/mongo-store.js';
import { storeContract } from '../daemon/engines/store.contract.js';
import { services } from './env.js';

const env = services('MONGODB_URI');
let n = 0;
if (env) {
  storeContract(`mongodb at ${env.MONGODB_URI}`, async () => {
    const s = new MongoStore(env.MONGODB_URI, `chat_test_${process.pid}_${++n}`);
    await s.start();
    return s;
  }, async (s) => {
    await (s as MongoStore).drop();
    await s.close();
  });
}
