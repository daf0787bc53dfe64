import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPERATIONS, ROUTES } from '../../src/protocol/index.js';
import { startDaemon, type TestDaemon } from '../support/daemon.js';

describe('the protocol written down: OpenAPI and the socket events\' JSON Schema', () => {
  let d: TestDaemon;
  beforeAll(async () => { d = await startDaemon({ CHAT_MAX_MESSAGE_LENGTH: '500' }); });
  afterAll(() => d?.close());

  it('documents exactly the routes chatd serves, no more, no fewer', () => {
    const served = d.daemon.http.routeList.map((r) => `${r.method} ${r.url}`).sort();
    const documented = OPERATIONS.map((o) => `${o.method.toUpperCase()} ${o.path.replace(/\{(\w+)\}/g, ':$1')}`).sort();
    const undocumented = served.filter((r) => !documented.includes(r));
    const phantom = documented.filter((r) => !served.includes(r));
    console.log(`${served.length} routes served, ${documented.length} documented; undocumented: ${undocumented.join(', ') || 'none'}; documented but not served: ${phantom.join(', ') || 'none'}`);
    expect(undocumented).toEqual([]);
    expect(phantom).toEqual([]);
  });

  it('is shaped for client generators: named operations in tags, every client error status declared, an open error code, enums and date-times', async () => {
    type Op = { operationId: string; tags: string[]; responses: Record<string, unknown>; parameters?: { name: string; in: string; schema: { enum?: string[] } }[] };
    const doc = await (await fetch(new URL(ROUTES.openapi, d.url))).json() as { tags: { name: string }[]; paths: Record<string, Record<string, Op>>; components: { schemas: Record<string, { properties?: Record<string, Record<string, unknown>> }>; responses: Record<string, unknown> } };
    const ops = Object.entries(doc.paths).flatMap(([path, m]) => Object.entries(m).map(([method, o]) => ({ path, method, ...o })));
    const ids = ops.map((o) => o.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    // Names a person would call, not paths spelled out (post_v1_admin_users_username_action).
    for (const id of ids) expect(id).toMatch(/^[a-z][a-zA-Z]{2,30}$/);
    expect(ids).toEqual(expect.arrayContaining(['register', 'login', 'addFriend', 'acceptFriend', 'sendMessage', 'getHistory', 'adminUserAction']));
    const tags = new Set(doc.tags.map((t) => t.name));
    for (const o of ops) expect(o.tags.length === 1 && tags.has(o.tags[0]!), `${o.method} ${o.path}`).toBe(true);
    console.log(`${ops.length} operations in ${tags.size} tags: ${[...tags].map((t) => `${t} ${ops.filter((o) => o.tags[0] === t).length}`).join(', ')}`);
    // Client errors each declared (with the one error body), not only as default.
    const send = doc.paths['/v1/messages']!.post!.responses;
    expect(Object.keys(send).sort()).toEqual(['201', '400', '401', '403', '409', '413', '429', 'default']);
    expect(Object.keys(doc.paths['/v1/auth/login']!.post!.responses)).toEqual(expect.arrayContaining(['400', '401', '429']));
    for (const o of ops) for (const [status, r] of Object.entries(o.responses)) if (/^4/.test(status)) expect(r).toEqual({ $ref: `#/components/responses/Error${status}` });
    // A code added next version must not break a generated client: a string, today's codes as examples.
    const code = doc.components.schemas.Error!.properties!.code!;
    expect(code.enum).toBeUndefined();
    expect(code.type).toBe('string');
    expect(code.examples).toContain('CHAT_ERR_NOT_FRIENDS');
    expect(doc.paths['/v1/admin/users/{username}/{action}']!.post!.parameters!.find((p) => p.name === 'action')!.schema.enum).toEqual(['disable', 'enable', 'promote', 'demote', 'password']);
    // Every time is a date-time.
    const times: string[] = [];
    const walk = (node: unknown, key = '') => {
      if (!node || typeof node !== 'object') return;
      if (/At$/.test(key) || key === 'at') times.push(`${key}:${JSON.stringify(node).includes('"format":"date-time"') ? 'ok' : 'MISSING'}`);
      for (const [k, v] of Object.entries(node)) walk(v, k);
    };
    walk(doc.components.schemas);
    expect(times.length).toBeGreaterThanOrEqual(10);
    expect(times.filter((t) => t.endsWith('MISSING'))).toEqual([]);
  });

  it('serves the OpenAPI document and the events schema without a token; their request schemas are the ones requests are parsed with', async () => {
    const doc = await (await fetch(new URL(ROUTES.openapi, d.url))).json() as { openapi: string; paths: Record<string, Record<string, { requestBody?: { content: { 'application/json': { schema: { properties: Record<string, { maxLength?: number }>; required: string[]; additionalProperties: boolean } } } }; parameters?: { name: string; in: string }[] }>> };
    expect(doc.openapi).toBe('3.1.0');
    const send = doc.paths['/v1/messages']!.post!.requestBody!.content['application/json'].schema;
    expect(send.required).toEqual(['to']);
    expect(send.additionalProperties).toBe(false);
    // The daemon's configured limit (500 here, not the default 4000) is what the schema says.
    expect(send.properties.text!.maxLength).toBe(500);
    expect(doc.paths['/v1/messages/{username}']!.get!.parameters!.map((p) => `${p.in}:${p.name}`)).toEqual(['path:username', 'query:limit', 'query:beforeSeq', 'query:afterSeq', 'query:around']);
    const events = await fetch(new URL(ROUTES.eventsSchema, d.url));
    expect(events.headers.get('content-type')).toMatch(/^application\/schema\+json/);
    const schema = await events.json() as { clientToServer: Record<string, { payload: { required?: string[] } }>; serverToClient: Record<string, unknown> };
    expect(Object.keys(schema.clientToServer).sort()).toEqual(['message:delete', 'message:edit', 'message:react', 'message:send', 'message:sync', 'receipt:update', 'typing:update']);
    expect(schema.clientToServer['typing:update']!.payload.required).toEqual(['to', 'typing']);
    expect((schema.clientToServer['message:send']!.payload as { properties: { text: { maxLength: number } } }).properties.text.maxLength).toBe(500);
    expect(Object.keys(schema.serverToClient)).toContain('message:new');
  });

  it('is a valid OpenAPI 3.1 document by the specification\'s own schema, and the events document a valid JSON Schema 2020-12', async () => {
    const doc = await (await fetch(new URL(ROUTES.openapi, d.url))).json() as { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };
    const validator = new Validator();
    const result = await validator.validate(structuredClone(doc));
    console.log(`openapi ${validator.version}: valid=${result.valid}${result.valid ? '' : ` ${JSON.stringify(result.errors).slice(0, 500)}`}`);
    expect(result.valid).toBe(true);
    // The validator refuses what the specification forbids: a response without its description.
    const broken = structuredClone(doc);
    delete (broken.paths['/v1/me']!.get!.responses['200'] as { description?: string }).description;
    expect((await new Validator().validate(broken)).valid).toBe(false);
    const events = await (await fetch(new URL(ROUTES.eventsSchema, d.url))).json() as Record<string, unknown>;
    const ajv = new Ajv2020({ strict: false });
    expect(ajv.validateSchema(events), JSON.stringify(ajv.errors)).toBe(true);
    expect(ajv.validateSchema({ ...events, $defs: { Bad: { type: 'not-a-type' } } })).toBe(false);
  });
});
