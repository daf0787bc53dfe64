import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { pipeline } from 'node:stream/promises';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { ChatError, fromErrorBody } from '../protocol/errors.js';
import { ROUTES } from '../protocol/rest.js';
import { UPLOAD_CONTENT_TYPE, UPLOAD_OFFSET_HEADER as OFFSET } from '../protocol/uploads.js';
import type { FileInfo } from '../protocol/index.js';
import type { ApiClient } from './api.js';
import { unreachable } from './unreachable.js';
import { transientBytes } from '../shared/transient-bytes.js';


/** Told of progress: bytes done of the whole. */
export type Progress = (done: number, total: number) => void;

/** Tries a broken transfer gets, each resuming from where the server (or the file) stands. */
const ATTEMPTS = 5;

const retryable = (err: unknown) => {
  const code = (err as ChatError).code;
  return code === 'CHAT_ERR_UNAVAILABLE' || code === 'CHAT_ERR_UPLOAD_TIMEOUT' || code === 'CHAT_ERR_UPLOAD_OFFSET' || code === 'CHAT_ERR_TOKEN_EXPIRED' || code === 'CHAT_ERR_SHUTTING_DOWN';
};

/**
 * Sends `file` from `offset` as one piece of upload `id`, streamed with backpressure through
 * node:http (fetch would read a streamed request body ahead into memory: a 256 MiB file cost the
 * process 258 MiB that way). Resolves with the file as the server answers it.
 */
async function sendPiece(api: ApiClient, id: string, file: string, offset: number, size: number, onProgress?: Progress): Promise<FileInfo> {
  const url = new URL(ROUTES.fileContent(id), api.server);
  const token = await api.bearer();
  const request = (url.protocol === 'https:' ? https : http).request(url, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${token}`, 'content-type': UPLOAD_CONTENT_TYPE, [OFFSET]: String(offset), 'content-length': String(size - offset) },
  });
  const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
    request.once('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.once('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.once('error', reject);
    });
    request.once('error', reject);
  });
  let sent = offset;
  const source = fs.createReadStream(file, { start: offset, highWaterMark: 256 * 1024 });
  source.on('data', (c) => {
    sent += (c as Buffer).length;
    transientBytes((c as Buffer).length);
    onProgress?.(sent, size);
  });
  // The server may answer (and close) before it has read everything: its answer says why.
  const piped = pipeline(source, request).catch(() => {});
  let res: { status: number; body: string };
  try {
    res = await answer;
  } catch (err) {
    source.destroy();
    throw unreachable(api.server, (err as Error).message);
  }
  await piped;
  let json: unknown;
  try {
    json = JSON.parse(res.body);
  } catch {
    json = undefined;
  }
  if (res.status === 200) return json as FileInfo;
  const err = fromErrorBody((json as { error?: unknown } | undefined)?.error, res.status === 401 ? 'CHAT_ERR_UNAUTHENTICATED' : res.status >= 500 ? 'CHAT_ERR_UNAVAILABLE' : 'CHAT_ERR_VALIDATION');
  if (err.code === 'CHAT_ERR_TOKEN_EXPIRED') await api.refreshToken();
  throw err;
}

/**
 * Uploads a file from disk, streamed: begins the upload, sends the bytes, and when a request
 * breaks (a dropped connection, a restart, a timeout) asks the server where it stands and
 * continues from there, up to ATTEMPTS times. Resolves with the file as stored.
 */
export async function uploadFile(api: ApiClient, file: string, opts: { name?: string; onProgress?: Progress } = {}): Promise<FileInfo> {
  const stat = await fsp.stat(file).catch((err: NodeJS.ErrnoException) => {
    throw new ChatError('CHAT_ERR_VALIDATION', `Cannot read ${file}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
  });
  if (!stat.isFile()) throw new ChatError('CHAT_ERR_VALIDATION', `${file} is not a file`);
  if (stat.size === 0) throw new ChatError('CHAT_ERR_VALIDATION', `${file} is empty: a file has at least one byte`);
  const begun = await api.beginUpload(opts.name ?? path.basename(file), stat.size);
  return resumeUpload(api, begun.id, file, stat.size, opts.onProgress);
}

/** Sends the rest of upload `id` from `file`, resuming from the server's offset after each break. */
export async function resumeUpload(api: ApiClient, id: string, file: string, size: number, onProgress?: Progress): Promise<FileInfo> {
  let offset = await uploadOffset(api, id);
  for (let attempt = 1; ; attempt++) {
    if (offset >= size) return api.fileInfo(id);
    try {
      const info = await sendPiece(api, id, file, offset, size, onProgress);
      if (info.received >= size) return info;
      offset = info.received;
    } catch (err) {
      if (!retryable(err) || attempt >= ATTEMPTS) throw err;
      await new Promise((r) => setTimeout(r, Math.min(4000, 250 * 2 ** (attempt - 1))));
      offset = await uploadOffset(api, id);
    }
  }
}

/**
 * A file's bytes from `from` on, through node:http: the response is read as the disk takes it
 * (fetch's body buffered ahead: 37 MiB more for a 1 GiB download). Error answers become ChatErrors.
 */
async function getContent(api: ApiClient, id: string, from: number): Promise<http.IncomingMessage> {
  const url = new URL(ROUTES.fileContent(id), api.server);
  const get = async (token: string) => new Promise<http.IncomingMessage>((resolve, reject) => {
    const req = (url.protocol === 'https:' ? https : http).get(url, { headers: { authorization: `Bearer ${token}`, ...(from > 0 ? { range: `bytes=${from}-` } : {}) } }, resolve);
    req.once('error', (err) => reject(unreachable(api.server, err.message)));
  });
  let res = await get(await api.bearer());
  if (res.statusCode === 401) {
    const err = await errorOf(res);
    if (err.code !== 'CHAT_ERR_TOKEN_EXPIRED') throw err;
    res = await get(await api.refreshToken());
  }
  if ((res.statusCode ?? 500) >= 300) throw await errorOf(res);
  return res;
}

async function errorOf(res: http.IncomingMessage): Promise<ChatError> {
  let body = '';
  for await (const c of res) body += String(c);
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    json = undefined;
  }
  const status = res.statusCode ?? 500;
  return fromErrorBody((json as { error?: unknown } | undefined)?.error, status === 401 ? 'CHAT_ERR_UNAUTHENTICATED' : status >= 500 ? 'CHAT_ERR_UNAVAILABLE' : 'CHAT_ERR_VALIDATION');
}

/** Bytes the server holds of an upload. */
export async function uploadOffset(api: ApiClient, id: string): Promise<number> {
  const res = await api.raw('HEAD', ROUTES.fileContent(id));
  return Number(res.headers.get(OFFSET) ?? 0);
}

/**
 * Downloads a file to `out`, streamed, through `<out>.part`: a part left by an interrupted
 * download is continued with a range request, the whole is checked against the file's sha256,
 * and only then renamed to `out` (a mismatch removes the part and fails). Files are written 0600.
 */
export async function downloadFile(api: ApiClient, id: string, out: string, onProgress?: Progress, attempt = 1): Promise<{ file: FileInfo; path: string; resumedFrom: number }> {
  const info = await api.fileInfo(id);
  if (!info.sha256 || info.received < info.size) throw new ChatError('CHAT_ERR_UPLOAD_INCOMPLETE');
  const part = `${out}.part`;
  let have = (await fsp.stat(part).catch(() => null))?.size ?? 0;
  if (have > info.size) {
    await fsp.rm(part, { force: true });
    have = 0;
  }
  const resumedFrom = have;
  const hash = crypto.createHash('sha256');
  if (have > 0) for await (const c of fs.createReadStream(part)) hash.update(c as Buffer);
  try {
    if (have < info.size) {
      const res = await getContent(api, id, have);
      if (have > 0 && res.statusCode !== 206) {
        // The server sent the whole file: write it from the start.
        res.destroy();
        await fsp.rm(part, { force: true });
        return downloadFile(api, id, out, onProgress, attempt);
      }
      const fh = await fsp.open(part, 'a', 0o600);
      // A part left by someone else's umask is made private too.
      await fh.chmod(0o600);
      try {
        for await (const c of res as AsyncIterable<Buffer>) {
          await fh.write(c);
          hash.update(c);
          have += c.length;
          transientBytes(c.length);
          onProgress?.(have, info.size);
        }
      } finally {
        await fh.close();
      }
    }
  } catch (err) {
    // A broken download continues from what reached the part file.
    if (attempt >= ATTEMPTS || (!retryable(err) && !(err instanceof TypeError))) throw err;
    await new Promise((r) => setTimeout(r, Math.min(4000, 250 * 2 ** (attempt - 1))));
    return downloadFile(api, id, out, onProgress, attempt + 1);
  }
  const digest = hash.digest('hex');
  if (digest !== info.sha256) {
    await fsp.rm(part, { force: true });
    throw new ChatError('CHAT_ERR_VALIDATION', `The download does not match the file's sha256 (got ${digest.slice(0, 12)}…, expected ${info.sha256.slice(0, 12)}…): the partial file was removed; download again`);
  }
  await fsp.rename(part, out);
  return { file: info, path: out, resumedFrom };
}
