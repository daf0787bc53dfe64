import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
    // No URL, username or token in any label.
    expect(text).not.toContain(b.name);
    expect(text).not.toContain(a.auth.accessToken);
    // The embedded node has no pipeline backlog to report.
    expect(text).not.toContain('chatd_pipeline_backlog');
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
