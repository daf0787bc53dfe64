/**
 * Files on the scale-out deployment (issue 30, items 4 and 13): bytes in GridFS, so an upload
 * begun through one node continues through another and any node serves the download; and
 * FerretDB stopped mid-upload gives a clear error and leaves nothing half-attached.
 */
import mongoose from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Message } from '../../src/protocol/index.js';
import { befriend, openSocket, registerUser, startDaemon, type TestDaemon } from '../support/daemon.js';
import { begin, bytes, download, info, piece, sha256 } from '../support/files.js';
import { FerretDb, isolation } from '../support/services.js';
import { services } from './env.js';

const env = services('MONGODB_URI', 'REDIS_URL', 'KAFKA_BROKERS');

describe.runIf(env)('files on scale-out: GridFS behind two nodes', () => {
  let a: TestDaemon;
  let b: TestDaemon;
  let shared: Record<string, string>;
  beforeAll(async () => {
    shared = isolation('files').env(env!);
    a = await startDaemon(shared);
    b = await startDaemon(shared);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  it('an upload begun on node A continues on node B; node B serves it whole and by range; deleting its message on A removes its chunks', async () => {
    const ann = await registerUser(a.url);
    const ben = await registerUser(b.url);
    await befriend(ann, ben);
    const data = bytes(1_200_000, 7);
    const up = await begin(a.url, ann, 'across.bin', data.length);
    expect((await piece(a.url, ann, up.body.id, 0, data.subarray(0, 500_000))).body.received).toBe(500_000);
    // Node B knows where the upload stands: it is in MongoDB, not in node A's memory.
    const head = await fetch(new URL(`/v1/files/${up.body.id}/content`, b.url), { method: 'HEAD', headers: { authorization: `Bearer ${ann.auth.accessToken}` } });
    expect(head.headers.get('upload-offset')).toBe('500000');
    const done = await piece(b.url, ann, up.body.id, 500_000, data.subarray(500_000));
    expect(done.body).toMatchObject({ received: data.length, sha256: sha256(data) });
    const s = await openSocket(a.url, ann.auth.accessToken);
    const ack = await s.emitWithAck('message:send', { to: ben.name, text: 'across nodes', files: [up.body.id] }) as { ok: boolean; data: Message };
    s.close();
    expect(ack.ok).toBe(true);
    expect(ack.data.files?.[0]).toMatchObject({ name: 'across.bin', size: data.length, sha256: sha256(data) });
    const whole = await download(b.url, ben, up.body.id);
    expect(sha256(whole.body)).toBe(sha256(data));
    const part = await download(b.url, ben, up.body.id, 'bytes=261000-800000');
    expect(part.status).toBe(206);
    expect(part.body.equals(data.subarray(261_000, 800_001))).toBe(true);
    expect((await ben.api.history(ann.name)).find((m) => m.seq === ack.data.seq)?.files?.[0]?.id).toBe(up.body.id);
    // The chunks are GridFS's: deleting the message (on node A) removes them.
    const mongo = await mongoose.createConnection(shared.MONGODB_URI!).asPromise();
    try {
      const chunks = () => mongo.db!.collection('blobs.chunks').countDocuments({ files_id: up.body.id });
      expect(await chunks()).toBe(Math.ceil(data.length / (255 * 1024)));
      await ann.api.deleteMessage(ben.name, ack.data.seq);
      expect(await chunks()).toBe(0);
      expect(await mongo.db!.collection('blobs.files').countDocuments({ _id: up.body.id as never })).toBe(0);
    } finally {
      await mongo.close();
    }
    expect((await download(b.url, ben, up.body.id)).status).toBe(404);
    console.log(`scale-out: ${data.length} bytes uploaded through two nodes, served by the other; deleted with its message`);
  }, 60_000);
});

describe.runIf(env && process.env.CHAT_FERRETDB_BIN)('files on scale-out when FerretDB stops mid-upload', () => {
  it('answers a coded error, attaches nothing, and the upload resumes once FerretDB is back', async () => {
    const ferret = new FerretDb(process.env.CHAT_FERRETDB_BIN!);
    await ferret.start();
    const d = await startDaemon({ ...isolation('files_ferret').env(env!), MONGODB_URI: ferret.uri });
    try {
      const ann = await registerUser(d.url);
      const ben = await registerUser(d.url);
      await befriend(ann, ben);
      const data = bytes(900_000, 9);
      const up = await begin(d.url, ann, 'outage.bin', data.length);
      await piece(d.url, ann, up.body.id, 0, data.subarray(0, 300_000));
      await ferret.kill();
      const cut = await piece(d.url, ann, up.body.id, 300_000, data.subarray(300_000));
      expect([cut.status, cut.body.error?.code]).toEqual([503, 'CHAT_ERR_UNAVAILABLE']);
      // Sending it now is refused too: nothing is attached to a message.
      const s = await openSocket(d.url, ann.auth.accessToken);
      const refused = await s.emitWithAck('message:send', { to: ben.name, text: 'too early', files: [up.body.id] }) as { ok: boolean; error?: { code: string } };
      expect(refused.ok).toBe(false);
      await ferret.start();
      const at = Number((await fetch(new URL(`/v1/files/${up.body.id}/content`, d.url), { method: 'HEAD', headers: { authorization: `Bearer ${ann.auth.accessToken}` } })).headers.get('upload-offset'));
      expect(at).toBeGreaterThanOrEqual(300_000 - 255 * 1024);
      const done = await piece(d.url, ann, up.body.id, at, data.subarray(at));
      expect(done.body.sha256).toBe(sha256(data));
      const sent = await s.emitWithAck('message:send', { to: ben.name, text: 'now', files: [up.body.id] }) as { ok: boolean; data: Message };
      s.close();
      expect(sent.ok).toBe(true);
      expect((await ben.api.history(ann.name)).filter((m) => m.files?.length).map((m) => m.text)).toEqual(['now']);
      expect((await info(d.url, ben, up.body.id)).body.sha256).toBe(sha256(data));
      console.log(`ferretdb down mid-upload: ${cut.status} ${cut.body.error?.code}; send refused (${refused.error?.code}); resumed at ${at} after restart, sha256 matched`);
    } finally {
      await d.close();
      await ferret.kill();
    }
  }, 120_000);
});
