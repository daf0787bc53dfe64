import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/daemon/config.js';
import { createDaemon } from '../../src/daemon/daemon.js';
import { createLogger } from '../../src/daemon/logger.js';
import type { Ack, Message } from '../../src/protocol/index.js';
import { befriend, openSocket, registerUser, startDaemon, type TestDaemon } from '../support/daemon.js';

let d: TestDaemon;
beforeAll(async () => { d = await startDaemon(); });
afterAll(async () => { await d.close(); });

const scrape = async () => (await fetch(new URL('/metrics', d.url))).text();

describe('/metrics', () => {
  it('says which build runs, and times REST requests and socket events with Prometheus-conventional labels', async () => {
    const a = await registerUser(d.url);
    const b = await registerUser(d.url);
    await befriend(a, b);
    await a.api.history(b.name).catch(() => {});
    await fetch(new URL('/v1/me', d.url)); // 401
    const s = await openSocket(d.url, a.auth.accessToken);
    const send = (p: unknown) => (s.timeout(5000) as unknown as { emitWithAck: (e: string, p: unknown) => Promise<Ack<Message>> }).emitWithAck('message:send', p);
    expect((await send({ to: b.name, text: 'timed' })).ok).toBe(true);
    expect((await send({ to: b.name, text: '' })).ok).toBe(false);
    s.close();
    const text = await scrape();
    expect(text).toMatch(/^chatd_build_info\{version="[^"]+",node="v\d+\.\d+\.\d+",store="sqlite",log="embedded",cache="memory"\} 1$/m);
    expect(text).toMatch(/^chatd_http_request_duration_seconds_count\{method="GET",route="\/v1\/messages\/:username",code="200"\} 1$/m);
    expect(text).toMatch(/^chatd_http_request_duration_seconds_count\{method="GET",route="\/v1\/me",code="401"\} 1$/m);
    expect(text).toMatch(/^chatd_socket_event_duration_seconds_count\{event="message:send",code="ok"\} 1$/m);
    expect(text).toMatch(/^chatd_socket_event_duration_seconds_count\{event="message:send",code="CHAT_ERR_VALIDATION"\} 1$/m);
    expect(text).toMatch(/^chatd_socket_errors_total\{event="message:send",code="CHAT_ERR_VALIDATION"\} 1$/m);
    // Requests are counted with the same labels as they are timed.
    expect(text).toMatch(/^chatd_http_requests_total\{method="GET",route="\/v1\/me",code="401"\} 1$/m);
    // The exposition format's rule: a _total suffix is a counter's (promtool refuses a gauge named so).
    const types = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!] as const);
    expect(types.filter(([n, t]) => n.endsWith('_total') && t !== 'counter')).toEqual([]);
    // No URL, username or token in any label.
    expect(text).not.toContain(b.name);
    expect(text).not.toContain(a.auth.accessToken);
    // The embedded node has no pipeline backlog to report.
    expect(text).not.toContain('chatd_pipeline_backlog');
  });
  it('counts and times sends whichever way they come: a socket\'s message:send and POST /v1/messages (the CLI\'s)', async () => {
    const a = await registerUser(d.url);
    const b = await registerUser(d.url);
    await befriend(a, b);
    const count = (text: string, transport: string) => Number(new RegExp(`^chatd_messages_sent_total\\{transport="${transport}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
    const timed = (text: string, transport: string) => Number(new RegExp(`^chatd_message_send_duration_seconds_count\\{transport="${transport}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
    const before = await scrape();
    for (let i = 0; i < 3; i++) await a.api.sendRest({ to: b.name, text: `over REST ${i}` });
    await expect(a.api.sendRest({ to: 'nobody-at-all', text: 'refused' })).rejects.toThrow();
    const s = await openSocket(d.url, a.auth.accessToken);
    const r = await (s.timeout(5000) as unknown as { emitWithAck: (e: string, p: unknown) => Promise<Ack<Message>> }).emitWithAck('message:send', { to: b.name, text: 'over the socket' });
    s.close();
    expect(r.ok).toBe(true);
    const after = await scrape();
    console.log(`sends counted: http +${count(after, 'http') - count(before, 'http')}, socket +${count(after, 'socket') - count(before, 'socket')}`);
    expect([count(after, 'http') - count(before, 'http'), timed(after, 'http') - timed(before, 'http')]).toEqual([3, 3]);
    expect([count(after, 'socket') - count(before, 'socket'), timed(after, 'socket') - timed(before, 'socket')]).toEqual([1, 1]);
  });

  it('answers an unknown socket event sent with an ack with a coded error, and counts it under one label', async () => {
    const a = await registerUser(d.url);
    const s = await openSocket(d.url, a.auth.accessToken);
    const emit = s.timeout(3000) as unknown as { emitWithAck: (e: string, p: unknown) => Promise<Ack<unknown>> };
    const r = await emit.emitWithAck('message:sendd', { to: 'x', text: 'y' });
    expect(r).toMatchObject({ ok: false, error: { code: 'CHAT_ERR_UNKNOWN_EVENT' } });
    // Without an ack it is dropped quietly, and the socket keeps working.
    (s as unknown as { emit: (e: string, p: unknown) => void }).emit('no:such:event', {});
    expect((await emit.emitWithAck('typing:update', { to: 'x', typing: true })).ok).toBe(false);
    s.close();
    const text = await scrape();
    expect(text).toMatch(/^chatd_socket_errors_total\{event="unknown",code="CHAT_ERR_UNKNOWN_EVENT"\} [2-9]$/m);
    expect(text).not.toContain('message:sendd');
  });

  it('answers with the caller\'s x-request-id when it is a plain token, and a fresh one otherwise', async () => {
    const id = async (given?: string) => (await fetch(new URL('/healthz', d.url), { headers: given === undefined ? {} : { 'x-request-id': given } })).headers.get('x-request-id');
    expect(await id('trace-42.a:b')).toBe('trace-42.a:b');
    const fresh = await id();
    expect(fresh).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(await id()).not.toBe(fresh);
    // Spaces, control characters or an overlong value could forge or flood log lines: replaced.
    for (const bad of ['two words', 'x'.repeat(129), 'a"b']) expect(await id(bad)).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('a metrics listener of its own (CHAT_METRICS_PORT)', () => {
  it('serves /metrics there and not on the public port', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chat-test-metrics-'));
    const { config } = loadConfig({ env: { CHAT_DATA_DIR: dir, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', CHAT_METRICS_PORT: '0', XDG_CONFIG_HOME: dir }, persistSecrets: true });
    const daemon = createDaemon(config, { log: createLogger('silent') });
    const { url, metricsUrl } = await daemon.start();
    try {
      expect(metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      expect(new URL(metricsUrl!).port).not.toBe(new URL(url).port);
      const m = await fetch(metricsUrl!);
      expect(m.status).toBe(200);
      expect(await m.text()).toContain('chatd_build_info');
      expect((await fetch(new URL('/metrics', url))).status).toBe(404);
      expect((await fetch(new URL('/healthz', metricsUrl))).status).toBe(404);
    } finally {
      await daemon.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
