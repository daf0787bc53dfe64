import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPERATIONS } from '../../src/protocol/index.js';
import { startDaemon, type TestDaemon } from '../support/daemon.js';
import { startFakeGemini } from '../support/fake-gemini.js';
import { servedDocuments, type Documents } from '../support/documents.js';
import { NEEDS_KAFKA, walkOperations, walkSummary } from '../support/walk.js';


describe('every answer and every pushed event conforms to the documents chatd serves', () => {
  let d: TestDaemon;
  let docs: Documents;
  let gem: Awaited<ReturnType<typeof startFakeGemini>>;
  beforeAll(async () => {
    gem = await startFakeGemini({ answer: () => 'a documented answer' });
    d = await startDaemon({ GEMINI_API_KEY: 'k', GEMINI_BASE_URL: gem.url, LOG_LEVEL: 'error' }, undefined, { write: (l: string) => { process.stdout.write(l); } });
    docs = await servedDocuments(d.url);
  });
  afterAll(async () => { await d?.close(); await gem?.close(); });

  it('the document names a schema for every JSON answer; closed, they refuse a field chatd does not document', () => {
    for (const o of OPERATIONS) {
      const [status, returns] = o.ok;
      const content = docs.openapi.paths[o.path]![o.method]!.responses[String(status)]!.content as Record<string, { schema: { $ref?: string; items?: { $ref?: string } } }> | undefined;
      const what = `${o.method} ${o.path}`;
      if (returns === undefined) expect(content, what).toBeUndefined();
      else if (typeof returns === 'string') expect(Object.keys(content!), what).toEqual([returns]);
      else expect(content!['application/json']!.schema.$ref ?? content!['application/json']!.schema.items?.$ref, what).toMatch(/^#\/components\/schemas\/[A-Z]\w+$/);
    }
    expect(docs.named('FriendView', { username: 'bob', online: true })).toEqual([]);
    expect(docs.named('FriendView', { username: 'bob', online: true, email: 'x' }).join()).toMatch(/additional properties \(email\)/);
    expect(docs.named('FriendView', { username: 'bob' }).join()).toMatch(/required property 'online'/);
    expect(docs.answer('GET', '/v1/me', 200, { id: '1', username: 'a', admin: 'yes' }).join()).toMatch(/\/admin must be boolean/);
  });

  it('walks every documented operation on a real chatd: each answer validates against its documented status and schema', async () => {
    const w = await walkOperations(d.url, docs, false);
    console.log(`documents (embedded): ${walkSummary(w)} (${NEEDS_KAFKA.length} need Kafka: the service suites)`);
    expect(w.failures).toEqual([]);
    expect([...w.checked].sort()).toEqual(OPERATIONS.map((o) => `${o.method.toUpperCase()} ${o.path}`).sort());
    expect(w.succeeded.size).toBe(OPERATIONS.length - NEEDS_KAFKA.length - 1); // and the reindex (OpenSearch only)
    expect([...new Set(w.seen.map((s) => s.event))].sort()).toEqual(['ai:chunk', 'friend:update', 'group:update', 'message:change', 'message:new', 'presence:update', 'receipt:update', 'typing:update']);
  }, 60_000);
});
