/**
 * Attacks on files (issue 30, item 13), each kept as a test: names that climb out of folders or
 * carry control characters, a spoofed type, reading what one may not, filling someone's quota,
 * dripping bytes, a full disk mid-upload, and kill -9 mid-upload.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FILE_LIMITS, sanitizeFileName } from '../../src/protocol/index.js';
import { contentDisposition } from '../../src/daemon/http/files.js';
import { befriend, registerUser, startDaemon, tmpDir, type TestDaemon, type TestUser } from '../support/daemon.js';
import { begin, bytes, download, info, piece, sha256, uploadBytes } from '../support/files.js';
import { spawnChatd } from '../support/procs.js';

const NONE = '0190a0a0-0000-7000-8000-000000000000';

describe('file names', () => {
  it('keep only their last path part, lose control and invisible characters and leading dots, and fit the limit (property)', () => {
    expect(sanitizeFileName('../../etc/passwd')).toBe('passwd');
    expect(sanitizeFileName('..\\..\\windows\\win.ini')).toBe('win.ini');
    expect(sanitizeFileName('a\u0000b\u001b[31mc\u202eexe.txt')).toBe('ab[31mcexe.txt');
    expect(sanitizeFileName('line\nbreak\r.txt')).toBe('linebreak.txt');
    expect(sanitizeFileName('.bashrc')).toBe('bashrc');
    expect(sanitizeFileName('../')).toBe('file');
    expect(sanitizeFileName(`${'a'.repeat(300)}.tar.gz`)).toMatch(/^a+\.gz$/);
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (raw) => {
      const n = sanitizeFileName(raw);
      expect(n.length).toBeGreaterThan(0);
      expect([...n].length).toBeLessThanOrEqual(FILE_LIMITS.maxFileNameLength);
      expect(n).not.toMatch(/[/\\\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069]/u);
      expect(n.startsWith('.')).toBe(false);
      expect(sanitizeFileName(n)).toBe(n);
      // The header chatd answers with stays one header: no quote, CR or LF from the name gets in.
      const h = contentDisposition(n);
      expect(h).not.toMatch(/[\r\n]/);
      expect(h.match(/"/g)?.length).toBe(2);
    }), { numRuns: 500, seed: 30 });
  });
});

describe('files against a real chatd', () => {
  let d: TestDaemon;
  let ann: TestUser;
  let ben: TestUser;
  let eve: TestUser;
  beforeAll(async () => {
    d = await startDaemon({ CHAT_FILE_QUOTA_BYTES: '100000' });
    [ann, ben, eve] = await Promise.all([registerUser(d.url, 'sann'), registerUser(d.url, 'sben'), registerUser(d.url, 'seve')]);
    await befriend(ann, ben);
    await befriend(eve, ben);
  });
  afterAll(() => d.close());

  it('stores a name that climbs folders as its last part, and never writes outside the files folder', async () => {
    const f = await uploadBytes(d.url, ann, '../../../../tmp/evil\n.sh', Buffer.from('#!/bin/sh\n'));
    expect(f.name).toBe('evil.sh');
    expect(fs.existsSync('/tmp/evil.sh')).toBe(false);
    const r = await download(d.url, ann, f.id);
    expect(r.headers.get('content-disposition')).toBe('attachment; filename="evil.sh"; filename*=UTF-8\'\'evil.sh');
  });

  it('serves HTML that claims to be an image as an attachment no browser runs', async () => {
    const page = Buffer.from('<!doctype html><html><body><script>fetch("/v1/me")</script></body></html>');
    const f = await uploadBytes(d.url, ann, 'photo.png', page);
    expect(f.type).not.toMatch(/html|image/);
    await ann.api.sendRest({ to: 'sben', text: 'look', files: [f.id] });
    const r = await download(d.url, ben, f.id);
    expect(r.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(r.headers.get('content-disposition')).toMatch(/^attachment;/);
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect(r.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'; sandbox");
    // An SVG (script-capable) is never served as an image.
    const svg = await uploadBytes(d.url, ann, 'x.svg', Buffer.from('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'));
    const s = await download(d.url, ann, svg.id);
    expect(s.headers.get('content-type')).not.toMatch(/svg|html|xml/);
  });

  it('answers a stranger\'s request for a file exactly as one for a file that does not exist', async () => {
    const f = await uploadBytes(d.url, ann, 'private.txt', Buffer.from('for ben'));
    await ann.api.sendRest({ to: 'sben', text: 'private', files: [f.id] });
    const shapes = async (id: string) => {
      const i = await info(d.url, eve, id);
      const g = await download(d.url, eve, id);
      const h = await fetch(new URL(`/v1/files/${id}/content`, d.url), { method: 'HEAD', headers: { authorization: `Bearer ${eve.auth.accessToken}` } });
      const p = await piece(d.url, eve, id, 0, Buffer.from('x'));
      const del = await fetch(new URL(`/v1/files/${id}`, d.url), { method: 'DELETE', headers: { authorization: `Bearer ${eve.auth.accessToken}` } });
      return [i.status, i.body, g.status, g.body.toString(), h.status, p.status, p.body, del.status, await del.json()];
    };
    expect(await shapes(f.id)).toEqual(await shapes(NONE));
    // The recipient cannot delete or append to the sender's file either.
    expect((await piece(d.url, ben, f.id, 0, Buffer.from('x'))).status).toBe(404);
  });

  it('a former group member reads the files sent before their removal, not after', async () => {
    await befriend(ann, eve);
    await ann.api.createGroup('sfiles', ['sben', 'seve']);
    const before = await uploadBytes(d.url, ann, 'before.txt', Buffer.from('before'));
    await ann.api.sendRest({ to: '#sfiles', text: 'one', files: [before.id] });
    await ann.api.removeGroupMember('sfiles', 'seve');
    const after = await uploadBytes(d.url, ann, 'after.txt', Buffer.from('after'));
    await ann.api.sendRest({ to: '#sfiles', text: 'two', files: [after.id] });
    expect((await download(d.url, eve, before.id)).body.toString()).toBe('before');
    expect((await download(d.url, eve, after.id)).status).toBe(404);
    expect((await eve.api.sharedFiles('#sfiles')).map((f) => f.name)).toEqual(['before.txt']);
    expect((await ben.api.sharedFiles('#sfiles')).map((f) => f.name)).toEqual(['after.txt', 'before.txt']);
    // Deleting the group takes its files.
    await ann.api.deleteGroup('sfiles');
    expect((await download(d.url, ben, after.id)).status).toBe(404);
    expect((await info(d.url, ann, before.id)).status).toBe(404);
  });

  it('cannot fill someone else\'s quota: files sent to a user count against the sender', async () => {
    for (let i = 0; i < 4; i++) {
      const f = await uploadBytes(d.url, eve, `spam${i}.bin`, bytes(20_000, i));
      await eve.api.sendRest({ to: 'sben', files: [f.id] });
    }
    expect((await begin(d.url, eve, 'one-more.bin', 30_000)).body.error?.code).toBe('CHAT_ERR_QUOTA_EXCEEDED');
    // ben received 80 kB of files and still has his whole quota.
    expect((await begin(d.url, ben, 'mine.bin', 99_000)).status).toBe(201);
  });

  it('refuses malformed upload requests with coded errors, and odd ranges with the whole file or 416', async () => {
    const b = await begin(d.url, ann, 'r.bin', 100);
    for (const offset of ['-1', 'abc', '1e3', '']) {
      const r = await fetch(new URL(`/v1/files/${b.body.id}/content`, d.url), { method: 'PATCH', headers: { authorization: `Bearer ${ann.auth.accessToken}`, 'content-type': 'application/offset+octet-stream', 'upload-offset': offset }, body: 'x' });
      expect([r.status, ((await r.json()) as { error: { code: string } }).error.code]).toEqual([400, 'CHAT_ERR_VALIDATION']);
    }
    const json = await fetch(new URL(`/v1/files/${b.body.id}/content`, d.url), { method: 'PATCH', headers: { authorization: `Bearer ${ann.auth.accessToken}`, 'content-type': 'application/json', 'upload-offset': '0' }, body: '{}' });
    expect(json.status).toBe(400);
    expect((await begin(d.url, ann, 'neg', -5)).body.error?.code).toBe('CHAT_ERR_VALIDATION');
    expect((await begin(d.url, ann, 'zero', 0)).body.error?.code).toBe('CHAT_ERR_VALIDATION');
    const data = bytes(1000, 8);
    await piece(d.url, ann, b.body.id, 0, data.subarray(0, 100));
    const f = await uploadBytes(d.url, ann, 'range.bin', data);
    for (const [range, status, len] of [['bytes=0-0,5-9', 200, 1000], ['bytes=-10', 206, 10], ['bytes=990-5000', 206, 10], ['bytes=5-2', 200, 1000], ['items=0-1', 200, 1000], ['bytes=1000-', 416, 0]] as const) {
      const r = await download(d.url, ann, f.id, range);
      expect([range, r.status, status === 416 ? 0 : r.body.length]).toEqual([range, status, len]);
      if (status === 416) expect(r.headers.get('content-range')).toBe('bytes */1000');
    }
    expect(sha256((await download(d.url, ann, f.id, 'bytes=0-')).body)).toBe(sha256(data));
    // A file id that is not a UUID is a validation error, never a path.
    const bad = await fetch(new URL('/v1/files/..%2F..%2Fchat.db/content', d.url), { headers: { authorization: `Bearer ${ann.auth.accessToken}` } });
    expect(bad.status).toBe(400);
  });
});

describe('a full disk and a killed chatd mid-upload', () => {
  it('a full disk mid-upload answers 507, removes the partial upload, and later uploads work without a restart', async () => {
    const dir = tmpDir('chat-files-full-');
    const mnt = path.join(dir, 'files');
    fs.mkdirSync(mnt, { mode: 0o700 });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0700', 'tmpfs', mnt]);
    const d = await startDaemon({}, dir);
    try {
      const u = await registerUser(d.url);
      const b = await begin(d.url, u, 'huge.bin', 3 * 1024 * 1024);
      const r = await piece(d.url, u, b.body.id, 0, bytes(3 * 1024 * 1024, 4));
      expect([r.status, r.body.error?.code]).toEqual([507, 'CHAT_ERR_STORAGE_FULL']);
      expect(fs.readdirSync(path.join(mnt, 'tmp'))).toEqual([]);
      expect((await info(d.url, u, b.body.id)).body.received).toBe(0);
      const ok = await uploadBytes(d.url, u, 'small.bin', bytes(100_000, 5));
      expect(ok.sha256).toBe(sha256(bytes(100_000, 5)));
      console.log(`full disk: 507 at ${r.offset} bytes, partial removed; a 100 kB upload then stored`);
    } finally {
      await d.close();
      execFileSync('umount', ['-l', mnt]);
    }
  });

  it('kill -9 mid-upload leaves nothing at a content address; the upload resumes after a restart, and a stray temporary is removed at start', async () => {
    const dir = tmpDir('chat-files-kill-');
    let chatd = await spawnChatd(dir);
    const u = await registerUser(chatd.url);
    const data = bytes(4 * 1024 * 1024, 6);
    const b = await begin(chatd.url, u, 'k.bin', data.length);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(c) {
        if (sent >= 2 * 1024 * 1024) {
          // Killed once the server holds some of it on disk.
          const tmp = path.join(dir, 'files', 'tmp', b.body.id);
          for (let i = 0; i < 100 && !(fs.existsSync(tmp) && fs.statSync(tmp).size > 0); i++) await new Promise((r) => setTimeout(r, 20));
          chatd.child.kill('SIGKILL');
          await new Promise((r) => setTimeout(r, 200));
          c.error(new Error('stop'));
          return;
        }
        c.enqueue(data.subarray(sent, sent + 64 * 1024));
        sent += 64 * 1024;
      },
    });
    await fetch(new URL(`/v1/files/${b.body.id}/content`, chatd.url), { method: 'PATCH', headers: { authorization: `Bearer ${u.auth.accessToken}`, 'content-type': 'application/offset+octet-stream', 'upload-offset': '0' }, body, duplex: 'half' } as RequestInit).catch(() => null);
    await chatd.exited;
    const addresses = () => fs.readdirSync(path.join(dir, 'files')).filter((x) => x !== 'tmp');
    expect(addresses()).toEqual([]);
    const held = fs.statSync(path.join(dir, 'files', 'tmp', b.body.id)).size;
    fs.writeFileSync(path.join(dir, 'files', 'tmp', 'stray'), 'left by a crash');
    chatd = await spawnChatd(dir);
    try {
      const u2 = { ...u, api: u.api };
      const head = await fetch(new URL(`/v1/files/${b.body.id}/content`, chatd.url), { method: 'HEAD', headers: { authorization: `Bearer ${u2.auth.accessToken}` } });
      const at = Number(head.headers.get('upload-offset'));
      expect(at).toBe(held);
      const last = await piece(chatd.url, u2, b.body.id, at, data.subarray(at));
      expect(last.body.sha256).toBe(sha256(data));
      expect(fs.readdirSync(path.join(dir, 'files', 'tmp'))).toEqual([]);
      expect(addresses().length).toBe(1);
      console.log(`kill -9 at ${held} of ${data.length} bytes: no content file; resumed after restart, sha256 matched; stray temporary removed`);
    } finally {
      chatd.child.kill('SIGTERM');
      await chatd.exited;
    }
  });
});

