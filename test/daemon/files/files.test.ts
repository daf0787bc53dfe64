/**
 * Files against a real chatd (embedded) with real clients: resumable uploads, attachment to
 * messages, downloads with ranges, who may read, limits, deletes and collection (issue 30).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Message } from '../../../src/protocol/index.js';
import { befriend, emit, nextEvents, openSocket, registerUser, sleep, startDaemon, waitFor, type TestDaemon, type TestUser } from '../../support/daemon.js';
import { begin, bytes, download, info, piece, sha256, tinyPng, uploadBytes } from '../../support/files.js';

/** Every content file under the data dir's files folder (not the temporaries). */
function contents(dir: string): string[] {
  const root = path.join(dir, 'files');
  return fs.readdirSync(root).filter((d) => d !== 'tmp').flatMap((d) => fs.readdirSync(path.join(root, d)).map((f) => `${d}${f}`));
}

describe('files on the embedded deployment', () => {
  let d: TestDaemon;
  let ann: TestUser;
  let ben: TestUser;
  let cat: TestUser;
  beforeAll(async () => {
    d = await startDaemon({ CHAT_FILE_QUOTA_BYTES: String(3 * 1024 * 1024), CHAT_MAX_FILE_SIZE: String(2 * 1024 * 1024), CHAT_MAX_UPLOADS_IN_FLIGHT: '3' });
    [ann, ben, cat] = await Promise.all([registerUser(d.url, 'ann'), registerUser(d.url, 'ben'), registerUser(d.url, 'cat')]);
    await befriend(ann, ben);
  });
  afterAll(() => d.close());

  it('uploads in pieces, resumes a cut piece from the server\'s offset, and downloads whole or by range', async () => {
    const data = bytes(700_000, 3);
    const b = await begin(d.url, ann, '../../notes/report.bin', data.length);
    expect(b.status).toBe(201);
    expect(b.body).toMatchObject({ name: 'report.bin', size: data.length, received: 0, sha256: null, sent: false });
    expect((await piece(d.url, ann, b.body.id, 0, data.subarray(0, 200_000))).body.received).toBe(200_000);
    // A piece cut off mid-way (the client aborts): what reached the server stays.
    const ctl = new AbortController();
    const slow = new ReadableStream<Uint8Array>({
      async start(c) {
        c.enqueue(data.subarray(200_000, 300_000));
        await sleep(300);
        ctl.abort();
      },
    });
    await fetch(new URL(`/v1/files/${b.body.id}/content`, d.url), { method: 'PATCH', headers: { authorization: `Bearer ${ann.auth.accessToken}`, 'content-type': 'application/offset+octet-stream', 'upload-offset': '200000' }, body: slow, signal: ctl.signal, duplex: 'half' } as RequestInit).catch(() => null);
    // Where it stands once the cut request is over: HEAD answers the same twice, past the first piece.
    const head = () => fetch(new URL(`/v1/files/${b.body.id}/content`, d.url), { method: 'HEAD', headers: { authorization: `Bearer ${ann.auth.accessToken}` } });
    const at = await waitFor(async () => {
      const first = Number((await head()).headers.get('upload-offset'));
      await sleep(200);
      return first > 200_000 && first === Number((await head()).headers.get('upload-offset')) ? first : undefined;
    });
    expect((await head()).headers.get('upload-length')).toBe(String(data.length));
    // The wrong offset is refused with the right one.
    const wrong = await piece(d.url, ann, b.body.id, 0, data.subarray(0, 10));
    expect(wrong.status).toBe(409);
    expect(wrong.body.error?.code).toBe('CHAT_ERR_UPLOAD_OFFSET');
    expect(wrong.offset).toBe(String(at));
    const last = await piece(d.url, ann, b.body.id, at, data.subarray(at));
    expect(last.status).toBe(200);
    expect(last.body).toMatchObject({ received: data.length, sha256: sha256(data), type: 'application/octet-stream' });
    const whole = await download(d.url, ann, b.body.id);
    expect(whole.status).toBe(200);
    expect(sha256(whole.body)).toBe(sha256(data));
    expect(whole.headers.get('content-disposition')).toBe('attachment; filename="report.bin"; filename*=UTF-8\'\'report.bin');
    const part = await download(d.url, ann, b.body.id, 'bytes=650000-');
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 650000-${data.length - 1}/${data.length}`);
    expect(part.body.equals(data.subarray(650_000))).toBe(true);
    expect((await download(d.url, ann, b.body.id, `bytes=${data.length}-`)).status).toBe(416);
    console.log(`upload resumed at ${at} of ${data.length} bytes after a cut piece; download whole and from 650000 matched`);
  });

  it('sends files with a message: readable by the conversation from then on, by nobody else, and never before', async () => {
    const one = await uploadBytes(d.url, ann, 'one.txt', Buffer.from('hello, ben\n'));
    const two = await uploadBytes(d.url, ann, 'two.bin', bytes(5000, 9));
    // Before it is sent, only its uploader sees it; a stranger's answer is a missing file's.
    const missing = await info(d.url, ben, '0190a0a0-0000-7000-8000-000000000000');
    expect(await info(d.url, ben, one.id)).toEqual(missing);
    expect((await download(d.url, ben, one.id)).status).toBe(404);
    const sb = await openSocket(d.url, ben.auth.accessToken);
    const sa = await openSocket(d.url, ann.auth.accessToken);
    try {
      const live = nextEvents<Message>(sb, 'message:new');
      const ack = await emit<Message>(sa, 'message:send', { to: 'ben', text: 'two files', files: [one.id, two.id], clientMsgId: 'f-1' });
      expect(ack.ok).toBe(true);
      const sent = (ack as { data: Message }).data;
      expect(sent.files?.map((f) => [f.name, f.size, f.type])).toEqual([['one.txt', 11, 'text/plain'], ['two.bin', 5000, 'application/octet-stream']]);
      const [got] = await live;
      expect(got!.files).toEqual(sent.files);
      // The recipient downloads at once.
      expect((await download(d.url, ben, one.id)).body.toString()).toBe('hello, ben\n');
      const [fromHistory] = (await ben.api.history('ann')).filter((m) => m.seq === sent.seq);
      expect(fromHistory!.files).toEqual(sent.files);
      expect((await ben.api.sharedFiles('ann')).map((f) => [f.name, f.from, f.seq])).toEqual([['one.txt', 'ann', sent.seq], ['two.bin', 'ann', sent.seq]]);
      // A stranger: exactly a missing file's answer.
      expect(await info(d.url, cat, one.id)).toEqual(await info(d.url, cat, '0190a0a0-0000-7000-8000-000000000000'));
      expect((await download(d.url, cat, one.id)).status).toBe(404);
      // A file goes with one message: sending it again is refused; a resend of the same send is the original.
      expect(await emit(sa, 'message:send', { to: 'ben', text: 'again', files: [one.id] })).toMatchObject({ ok: false, error: { code: 'CHAT_ERR_FILE_ALREADY_SENT' } });
      expect(await emit(sa, 'message:send', { to: 'ben', text: 'two files', files: [one.id, two.id], clientMsgId: 'f-1' })).toMatchObject({ ok: true, data: { seq: sent.seq } });
      // Someone else's upload cannot be attached, nor an incomplete one.
      const bens = await uploadBytes(d.url, ben, 'mine.txt', Buffer.from('ben only'));
      expect(await emit(sa, 'message:send', { to: 'ben', files: [bens.id] })).toMatchObject({ ok: false, error: { code: 'CHAT_ERR_FILE_NOT_FOUND' } });
      const half = await begin(d.url, ann, 'half.bin', 10);
      await piece(d.url, ann, half.body.id, 0, Buffer.from('12345'));
      expect(await emit(sa, 'message:send', { to: 'ben', files: [half.body.id] })).toMatchObject({ ok: false, error: { code: 'CHAT_ERR_UPLOAD_INCOMPLETE' } });
      // A refused send leaves its files unsent, for the next try.
      const three = await uploadBytes(d.url, ann, 'three.txt', Buffer.from('three'));
      expect(await emit(sa, 'message:send', { to: 'cat', text: 'not a friend', files: [three.id] })).toMatchObject({ ok: false, error: { code: 'CHAT_ERR_NOT_FRIENDS' } });
      expect(await emit(sa, 'message:send', { to: 'ben', files: [three.id] })).toMatchObject({ ok: true, data: { text: '' } });
    } finally {
      sa.close();
      sb.close();
    }
  });

  it('refuses what the limits refuse before storing a byte, and gives the quota back when a message is deleted', async () => {
    const u = await registerUser(d.url, 'quota');
    await befriend(u, ben);
    expect((await begin(d.url, u, 'big.bin', 2 * 1024 * 1024 + 1)).body.error?.code).toBe('CHAT_ERR_FILE_TOO_LARGE');
    const a = await uploadBytes(d.url, u, 'a.bin', bytes(1_500_000, 1));
    const b = await uploadBytes(d.url, u, 'b.bin', bytes(1_500_000, 2));
    expect((await begin(d.url, u, 'c.bin', 200_000)).body.error?.code).toBe('CHAT_ERR_QUOTA_EXCEEDED');
    // A piece longer than the upload is refused from its Content-Length, before it is read.
    const small = await begin(d.url, ben, 's.bin', 10);
    const over = await piece(d.url, ben, small.body.id, 0, Buffer.alloc(11));
    expect([over.status, over.body.error?.code]).toEqual([413, 'CHAT_ERR_FILE_TOO_LARGE']);
    expect((await info(d.url, ben, small.body.id)).body.received).toBe(0);
    // Uploads in flight: three at most.
    const flights = [await begin(d.url, ben, 'x', 5), await begin(d.url, ben, 'y', 5)];
    expect((await begin(d.url, ben, 'z', 5)).body.error?.code).toBe('CHAT_ERR_TOO_MANY_UPLOADS');
    for (const f of [small, ...flights]) await ben.api.cancelUpload(f.body.id);
    const m = await u.api.sendRest({ to: ben.name, text: 'both', files: [a.id, b.id] });
    const before = contents(d.dir).length;
    await u.api.deleteMessage(ben.name, m.seq);
    expect((await download(d.url, ben, a.id)).status).toBe(404);
    expect((await ben.api.history(u.name)).find((x) => x.seq === m.seq)).toMatchObject({ deleted: { by: u.name } });
    expect((await ben.api.history(u.name)).find((x) => x.seq === m.seq)?.files).toBeUndefined();
    expect(contents(d.dir).length).toBe(before - 2);
    expect((await begin(d.url, u, 'c.bin', 200_000)).status).toBe(201);
  });

  it('stores identical content once, and removes it with the last message that refers to it', async () => {
    const same = bytes(64_000, 42);
    const x = await uploadBytes(d.url, ann, 'x.bin', same);
    const y = await uploadBytes(d.url, ann, 'y.bin', same);
    expect(x.sha256).toBe(y.sha256);
    const file = path.join(d.dir, 'files', x.sha256!.slice(0, 2), x.sha256!.slice(2));
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.join(d.dir, 'files')).mode & 0o777).toBe(0o700);
    const mx = await ann.api.sendRest({ to: 'ben', files: [x.id] });
    const my = await ann.api.sendRest({ to: 'ben', files: [y.id] });
    await ann.api.deleteMessage('ben', mx.seq);
    expect(fs.existsSync(file)).toBe(true);
    expect(sha256((await download(d.url, ben, y.id)).body)).toBe(sha256(same));
    await ann.api.deleteMessage('ben', my.seq);
    expect(fs.existsSync(file)).toBe(false);
  });

  it('sniffs the type from the bytes and serves every file as an attachment no browser runs', async () => {
    // HTML that says it is an image.
    const html = await uploadBytes(d.url, ann, 'cat.png', Buffer.from('<html><script>alert(1)</script></html>'));
    expect(html.type).toBe('text/plain');
    const png = await uploadBytes(d.url, ann, 'pic.txt', tinyPng(3, 2));
    expect(png).toMatchObject({ type: 'image/png', width: 3, height: 2 });
    for (const f of [html, png]) {
      const r = await download(d.url, ann, f.id);
      expect(r.headers.get('content-disposition')).toMatch(/^attachment; /);
      expect(r.headers.get('x-content-type-options')).toBe('nosniff');
      expect(r.headers.get('content-security-policy')).toContain('sandbox');
      expect(r.headers.get('content-type')).toBe(f === html ? 'text/plain; charset=utf-8' : 'image/png');
    }
  });
});

describe('abandoned uploads and slow ones', () => {
  it('collects an upload never sent after CHAT_UPLOAD_EXPIRY_SECONDS, and cuts off an upload that drips', async () => {
    const d = await startDaemon({ CHAT_UPLOAD_EXPIRY_SECONDS: '2', CHAT_UPLOAD_TIMEOUT_SECONDS: '1', CHAT_UPLOAD_MIN_RATE: '1000' });
    try {
      const u = await registerUser(d.url);
      const left = await begin(d.url, u, 'left.bin', 100);
      await piece(d.url, u, left.body.id, 0, Buffer.alloc(50, 1));
      const done = await uploadBytes(d.url, u, 'done.bin', bytes(1000, 5));
      expect(fs.readdirSync(path.join(d.dir, 'files', 'tmp'))).toEqual([left.body.id]);
      // One byte every 300 ms: under 1000 bytes a second, cut off within a window or two.
      const drip = new ReadableStream<Uint8Array>({
        async pull(c) {
          await sleep(300);
          c.enqueue(new Uint8Array([7]));
        },
      });
      const slow = await begin(d.url, u, 'slow.bin', 1000);
      const t0 = Date.now();
      const res = await fetch(new URL(`/v1/files/${slow.body.id}/content`, d.url), { method: 'PATCH', headers: { authorization: `Bearer ${u.auth.accessToken}`, 'content-type': 'application/offset+octet-stream', 'upload-offset': '0' }, body: drip, duplex: 'half' } as RequestInit);
      const body = (await res.json()) as { error: { code: string } };
      expect([res.status, body.error.code]).toEqual([408, 'CHAT_ERR_UPLOAD_TIMEOUT']);
      expect(Number(res.headers.get('upload-offset'))).toBeGreaterThan(0);
      console.log(`slow upload cut off after ${Date.now() - t0} ms at ${res.headers.get('upload-offset')} bytes`);
      await waitFor(async () => (await info(d.url, u, left.body.id)).status === 404, 15_000);
      await waitFor(() => !fs.readdirSync(path.join(d.dir, 'files', 'tmp')).includes(left.body.id), 5000);
      expect((await info(d.url, u, done.id)).status).toBe(404);
    } finally {
      await d.close();
    }
  });
});

