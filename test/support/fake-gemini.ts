import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface GeminiRequest {
  model: string;
  method: 'generateContent' | 'streamGenerateContent';
  apiKey: string | undefined;
  body: { contents?: { role: string; parts: { text: string }[] }[]; systemInstruction?: unknown; generationConfig?: unknown };
}

export interface FakeGeminiBehaviour {
  /** Answer text for a request (default: echoes the last user line). */
  answer?: (req: GeminiRequest) => string;
  /** Status codes to answer with, one per call, before answering normally (e.g. [429, 500]). */
  failures?: number[];
  /** Per-model status (e.g. { 'gemini-2.5-flash': 404 }) answered on every call. */
  modelStatus?: Record<string, number>;
  /** Delay before answering, in ms (to exercise timeouts). */
  delayMs?: number;
  /** A delay per request, in ms (overrides delayMs). */
  delayFor?: (req: GeminiRequest) => number;
  /** When given, no answer leaves before this resolves (to observe what happens meanwhile). */
  gate?: Promise<void>;
  /** Chunks for streaming (default: the answer split into words). */
  chunks?: (req: GeminiRequest) => string[];
  /** Pause between streamed chunks, in ms. */
  chunkDelayMs?: number;
}

const STATUS_NAMES: Record<number, string> = { 400: 'INVALID_ARGUMENT', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND', 429: 'RESOURCE_EXHAUSTED', 500: 'INTERNAL', 503: 'UNAVAILABLE' };

function candidate(text: string, finish?: string) {
  return { candidates: [{ content: { role: 'model', parts: [{ text }] }, ...(finish ? { finishReason: finish } : {}), index: 0 }], usageMetadata: { promptTokenCount: 10, candidatesTokenCount: 5, totalTokenCount: 15 }, modelVersion: 'fake' };
}

/**
 * A local server speaking the Gemini REST shape: POST /{version}/models/{model}:generateContent
 * and :streamGenerateContent?alt=sse, key in x-goog-api-key, errors as { error: { code, message, status } }.
 */
export async function startFakeGemini(behaviour: FakeGeminiBehaviour = {}) {
  const requests: GeminiRequest[] = [];
  const failures = [...(behaviour.failures ?? [])];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const m = /^\/[^/]+\/models\/([^:/]+):(generateContent|streamGenerateContent)$/.exec(url.pathname);
      const fail = (code: number, message: string) => {
        res.writeHead(code, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code, message, status: STATUS_NAMES[code] ?? 'UNKNOWN' } }));
      };
      if (req.method !== 'POST' || !m) return fail(404, `no route ${req.method} ${url.pathname}`);
      let body: GeminiRequest['body'];
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return fail(400, 'invalid JSON');
      }
      const r: GeminiRequest = { model: m[1]!, method: m[2] as GeminiRequest['method'], apiKey: req.headers['x-goog-api-key'] as string | undefined, body };
      requests.push(r);
      const respond = () => {
        if (!r.apiKey) return fail(403, 'API key missing');
        const ms = behaviour.modelStatus?.[r.model];
        if (ms) return fail(ms, `model ${r.model} answered ${ms}`);
        const f = failures.shift();
        if (f) return fail(f, `injected failure ${f}`);
        const lastUser = [...(body.contents ?? [])].reverse().find((c) => c.role === 'user');
        const text = behaviour.answer?.(r) ?? `echo: ${lastUser?.parts.map((p) => p.text).join(' ') ?? ''}`;
        if (r.method === 'generateContent') {
          res.writeHead(200, { 'content-type': 'application/json' });
          return res.end(JSON.stringify(candidate(text, 'STOP')));
        }
        const parts = behaviour.chunks?.(r) ?? text.split(/(?<= )/);
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        const write = (i: number) => {
          if (i >= parts.length) return res.end();
          res.write(`data: ${JSON.stringify(candidate(parts[i]!, i === parts.length - 1 ? 'STOP' : undefined))}\r\n\r\n`);
          if (behaviour.chunkDelayMs) setTimeout(() => write(i + 1), behaviour.chunkDelayMs);
          else write(i + 1);
        };
        write(0);
      };
      const delay = behaviour.delayFor?.(r) ?? behaviour.delayMs;
      const go = () => (delay ? setTimeout(respond, delay) : respond());
      if (behaviour.gate) void behaviour.gate.then(go);
      else go();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
