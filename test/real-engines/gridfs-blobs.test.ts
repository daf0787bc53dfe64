/** The blob store contract on GridFS (MongoDB; FerretDB here), as the scale-out deployment uses it. */
import { GridFsBlobs } from '../../src/daemon/deployments/scaleout/gridfs-blobs.js';
import { MongoStore } from '../../src/daemon/deployments/scaleout/mongo-store.js';
import { blobContract } from '../daemon/ports/blobs.contract.js';
import { services } from './env.js';

const env = services('MONGODB_URI');
let n = 0;
if (env) {
  blobContract(`gridfs at ${env.MONGODB_URI}`, async () => {
    const store = new MongoStore(env.MONGODB_URI, `chat_test_${process.pid}_blobs_${++n}`);
    await store.start();
    const open = async () => { const b = new GridFsBlobs(() => store.database()); await b.start(); return b; };
    return { blobs: await open(), reopen: open, close: async () => { await store.drop(); await store.close(); } };
  });
}
