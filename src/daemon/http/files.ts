import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  ChatError, UPLOAD_CONTENT_TYPE, UPLOAD_LENGTH_HEADER, UPLOAD_OFFSET_HEADER, fileParamSchema, filesQuerySchema, historyParamSchema, uploadCreateSchema, type FileInfo,
} from '../../protocol/index.js';
import { parse } from '../validation.js';
import { countedStream, transientBytes } from '../../shared/transient-bytes.js';
import type { RouteContext } from './index.js';

/** Types a download is labelled with as they are; everything else goes as application/octet-stream. */
const SERVED_AS_IS = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/bmp', 'application/pdf']);

/** The Content-Type of a download: a few inert types as sniffed, text as UTF-8 text, the rest as bytes. */
function servedType(type: string): string {
  if (type === 'text/plain') return 'text/plain; charset=utf-8';
  return SERVED_AS_IS.has(type) ? type : 'application/octet-stream';
}

/** `attachment` with the name as ASCII (quotes, backslashes and anything outside printable ASCII replaced) and as UTF-8 (RFC 6266, 8187). */
export function contentDisposition(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\%]/g, '_');
  const utf8 = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${utf8}`;
}

/**
 * The bytes of one upload request, cut off when a window of `windowMs` brings fewer than
 * `minBytes` (at least one): a client that drips bytes cannot hold a request open for ever.
 * Ends early (not with an error) so what arrived is kept and the client is told where it stands.
 */
export function rateGuarded(src: Readable, windowMs: number, minBytes: number, state: { timedOut: boolean }): AsyncIterable<Buffer> {
  const need = Math.max(1, minBytes);
  const TIMEOUT = Symbol('timeout');
  return (async function* () {
    const it = (src as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
    // One timer per window, not per chunk. Each wait is a fresh promise that the chunk or the
    // window's end settles: racing every chunk against one promise per window would hang a
    // reaction on that promise per chunk, and each kept its chunk alive until the window ended
    // (a whole upload in memory).
    let timer: NodeJS.Timeout | undefined;
    let ended = false;
    let wake: ((v: typeof TIMEOUT) => void) | null = null;
    let inWindow = 0;
    const openWindow = () => {
      inWindow = 0;
      ended = false;
      timer = setTimeout(() => {
        ended = true;
        wake?.(TIMEOUT);
      }, windowMs);
    };
    openWindow();
    let pending: Promise<IteratorResult<Buffer>> | null = null;
    try {
      for (;;) {
        if (ended) {
          if (inWindow < need) {
            state.timedOut = true;
            return;
          }
          openWindow();
        }
        const next = (pending ??= it.next());
        const r = await new Promise<IteratorResult<Buffer> | typeof TIMEOUT>((resolve, reject) => {
          wake = resolve;
          next.then(resolve, reject);
        });
        wake = null;
        if (r === TIMEOUT) continue;
        pending = null;
        if (r.done) return;
        inWindow += r.value.length;
        transientBytes(r.value.length);
        yield r.value;
      }
    } finally {
      clearTimeout(timer);
    }
  })();
}

/** Files: uploads in resumable pieces, downloads with ranges, and what a conversation shared. */
export function fileRoutes(app: FastifyInstance, ctx: RouteContext) {
  const { config, files, authed, me } = ctx;
  const id = (req: FastifyRequest) => parse(fileParamSchema, req.params).id;
  const offsetHeaders = (reply: FastifyReply, f: Pick<FileInfo, 'received' | 'size'>) => reply.header(UPLOAD_OFFSET_HEADER, String(f.received)).header(UPLOAD_LENGTH_HEADER, String(f.size));

  app.post('/v1/files', { onRequest: authed }, async (req, reply) => {
    const body = parse(uploadCreateSchema, req.body);
    const f = await files.begin(me(req).user.username, body);
    return offsetHeaders(reply, f).status(201).send(f);
  });
  app.get('/v1/files/:id', { onRequest: authed }, async (req, reply) => {
    const f = await files.info(me(req).user.username, id(req));
    return offsetHeaders(reply, f).send(f);
  });
  app.delete('/v1/files/:id', { onRequest: authed }, async (req, reply) => {
    await files.cancel(me(req).user.username, id(req));
    return reply.status(204).send();
  });
  app.get('/v1/messages/:username/files', { onRequest: authed }, async (req) => {
    const { peer } = parse(historyParamSchema, { peer: (req.params as { username?: string }).username });
    return files.shared(me(req).user.username, peer, parse(filesQuerySchema, req.query));
  });

  // Declared before GET so that fastify does not derive HEAD from the download.
  app.head('/v1/files/:id/content', { onRequest: authed }, async (req, reply) => {
    const f = await files.info(me(req).user.username, id(req));
    return offsetHeaders(reply, f).header('accept-ranges', 'bytes').status(200).send();
  });
  app.get('/v1/files/:id/content', { onRequest: authed }, async (req, reply) => {
    let d: Awaited<ReturnType<typeof files.download>>;
    try {
      d = await files.download(me(req).user.username, id(req), req.headers.range);
    } catch (err) {
      const size = ((err as ChatError).details as { size?: number } | undefined)?.size;
      if ((err as ChatError).code === 'CHAT_ERR_RANGE_NOT_SATISFIABLE' && size !== undefined) void reply.header('content-range', `bytes */${size}`);
      throw err;
    }
    const { file, stream, range } = d;
    void reply
      .header('content-type', servedType(file.type))
      .header('content-disposition', contentDisposition(file.name))
      .header('accept-ranges', 'bytes')
      .header('etag', `"${file.sha256}"`);
    if (range) {
      void reply.status(206).header('content-range', `bytes ${range.start}-${range.end}/${file.size}`).header('content-length', String(range.end - range.start + 1));
    } else void reply.header('content-length', String(file.size));
    return reply.send(countedStream(stream));
  });

  // The upload's bytes arrive as a stream: this scope's parser hands the request over unread.
  void app.register(async (scope) => {
    scope.addContentTypeParser(UPLOAD_CONTENT_TYPE, (_req, payload, done) => done(null, payload));
    scope.patch('/v1/files/:id/content', { onRequest: authed }, async (req, reply) => {
      const fileId = id(req);
      if (req.headers['content-type']?.split(';')[0]?.trim().toLowerCase() !== UPLOAD_CONTENT_TYPE) throw new ChatError('CHAT_ERR_VALIDATION', `An upload's bytes are sent as ${UPLOAD_CONTENT_TYPE}`);
      const rawOffset = req.headers[UPLOAD_OFFSET_HEADER];
      if (typeof rawOffset !== 'string' || !/^\d{1,16}$/.test(rawOffset)) throw new ChatError('CHAT_ERR_VALIDATION', `${UPLOAD_OFFSET_HEADER} must be the number of bytes the server holds`);
      const rawLength = req.headers['content-length'];
      const length = rawLength !== undefined && /^\d{1,16}$/.test(rawLength) ? Number(rawLength) : null;
      const state = { timedOut: false };
      const body = rateGuarded(req.body as Readable, config.uploadTimeoutSeconds * 1000, config.uploadMinRate * config.uploadTimeoutSeconds, state);
      let f: FileInfo;
      try {
        f = await files.append(me(req).user.username, fileId, Number(rawOffset), body, length);
      } catch (err) {
        // Where the upload stands, for the client to continue from.
        const offset = (err as ChatError).details as { offset?: number } | undefined;
        if (typeof offset?.offset === 'number') void reply.header(UPLOAD_OFFSET_HEADER, String(offset.offset));
        // The rest of the body is not read: the connection closes after the answer, so the client
        // stops sending instead of waiting on a full socket.
        if (!req.raw.complete) void reply.header('connection', 'close');
        throw err;
      }
      void offsetHeaders(reply, f);
      if (state.timedOut) {
        // The rest of the request is not read: the connection closes after the answer.
        void reply.header('connection', 'close');
        throw new ChatError('CHAT_ERR_UPLOAD_TIMEOUT', undefined, { details: { offset: f.received } });
      }
      return reply.send(f);
    });
  });
}
