/**
 * Holds chatd's answers and pushed events to the documents it serves (/v1/openapi.json,
 * /v1/events.schema.json), validated with ajv as a third-party client would. The documents leave
 * objects open for later fields; here they are closed, so a field chatd sends but does not
 * document fails too.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { ROUTES, eventsJsonSchema, openApiDocument } from '../../src/protocol/index.js';

// ajv-formats is CommonJS with a default export.
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => void;

/** additionalProperties: false on every object schema that lists properties and says nothing else. */
function closed<T>(node: T): T {
  if (Array.isArray(node)) return node.map(closed) as T;
  if (!node || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) out[k] = closed(v);
  if (out.type === 'object' && out.properties && !('additionalProperties' in out)) out.additionalProperties = false;
  return out as T;
}

const pointer = (...parts: (string | number)[]) => '/' + parts.map((p) => String(p).replace(/~/g, '~0').replace(/\//g, '~1')).map(encodeURIComponent).join('/');

export interface Documents {
  /** Validation errors of an answer to a documented operation (empty when it conforms). */
  answer(method: string, path: string, status: number, body: unknown): string[];
  /** Validation errors of a server-to-client event payload. */
  event(name: string, payload: unknown): string[];
  /** Validation errors of a client event's acknowledgement. */
  ack(name: string, ack: unknown): string[];
  /** Validation errors against a named schema of the OpenAPI document (`FriendView`, `DeadLetter[]`). */
  named(name: string, value: unknown): string[];
  openapi: { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, unknown> }> }>> };
}

/** The documents a running chatd serves. */
export async function servedDocuments(url: string): Promise<Documents> {
  const get = async (route: string) => (await fetch(new URL(route, url))).json() as Promise<Record<string, unknown>>;
  return documents(await get(ROUTES.openapi), await get(ROUTES.eventsSchema));
}

/** The same documents, generated here, for tests of parts that run without a chatd. */
export function generatedDocuments(): Documents {
  return documents(openApiDocument('test'), eventsJsonSchema('test'));
}

function documents(openapi: Record<string, unknown>, events: Record<string, unknown>): Documents {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema(closed(openapi), 'openapi');
  ajv.addSchema(closed(events));
  const eventsId = String(events.$id);
  const cache = new Map<string, ReturnType<Ajv2020['compile']>>();
  const check = (ref: string, value: unknown): string[] => {
    let v = cache.get(ref);
    if (!v) cache.set(ref, (v = ajv.compile({ $ref: ref })));
    return v(value) ? [] : (v.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}${e.params && 'additionalProperty' in e.params ? ` (${String(e.params.additionalProperty)})` : ''}`);
  };
  const doc = openapi as unknown as Documents['openapi'];
  return {
    openapi: doc,
    answer(method, path, status, body) {
      const responses = doc.paths[path]?.[method.toLowerCase()]?.responses;
      if (!responses) return [`${method} ${path} is not documented`];
      // Every error status a client can act on is declared on its own (a generated client types it).
      if (status >= 400 && status < 500 && !(String(status) in responses)) return [`${method} ${path} answered ${status}, which it does not declare`];
      const key = String(status) in responses ? String(status) : 'default';
      // A response is written in place, or shared under components.responses and referred to.
      const ref = (responses[key] as { $ref?: string }).$ref;
      const name = ref?.replace('#/components/responses/', '');
      const shared = (doc as unknown as { components: { responses: Record<string, { content?: Record<string, unknown> }> } }).components.responses;
      const content = (name !== undefined ? shared[name] : responses[key])!.content;
      if (!content) return body === undefined || body === '' ? [] : [`${method} ${path} ${status} documents no body, got one`];
      if (!content['application/json']) return Object.keys(content).some((t) => t === 'application/octet-stream' || (typeof body === 'string' ? t.startsWith('text/') : t.endsWith('json'))) ? [] : [`${method} ${path} ${status}: the body is not ${Object.keys(content).join(' or ')}`];
      return check(`openapi#${name !== undefined ? pointer('components', 'responses', name, 'content', 'application/json', 'schema') : pointer('paths', path, method.toLowerCase(), 'responses', key, 'content', 'application/json', 'schema')}`, body);
    },
    event: (name, payload) => check(`${eventsId}#${pointer('serverToClient', name, 'payload')}`, payload),
    ack: (name, ack) => check(`${eventsId}#${pointer('clientToServer', name, 'ack')}`, ack),
    named: (name, value) => name.endsWith('[]')
      ? (Array.isArray(value) ? value.flatMap((x, i) => check(`openapi#/components/schemas/${name.slice(0, -2)}`, x).map((e) => `[${i}]${e}`)) : ['not an array'])
      : check(`openapi#/components/schemas/${name}`, value),
  };
}

/**
 * REST calls whose answers are validated against the documents: `docPath` is the operation's
 * OpenAPI path (`/v1/friends/{username}`), `url` the concrete one. Nonconforming answers are
 * collected in `failures`; each call's status is recorded by operation in `answered`.
 */
export function documentedApi(base: string, docs: Documents) {
  const failures: string[] = [];
  const answered = new Map<string, number[]>();
  /** `raw`: a body sent as it is (an upload's bytes), with `headers`. */
  async function call<T = never>(method: string, docPath: string, url: string, token?: string, body?: unknown, raw?: { body?: Buffer; headers?: Record<string, string> }): Promise<{ status: number; body: T; headers: Headers }> {
    const res = await fetch(new URL(url, base), {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...raw?.headers },
      ...(body !== undefined ? { body: JSON.stringify(body) } : raw?.body ? { body: raw.body } : {}),
    });
    const text = await res.text();
    const json = res.headers.get('content-type')?.includes('json') && text ? JSON.parse(text) as unknown : text;
    for (const e of docs.answer(method, docPath, res.status, json)) failures.push(`${method} ${docPath} ${res.status}: ${e}`);
    const key = `${method} ${docPath}`;
    answered.set(key, [...(answered.get(key) ?? []), res.status]);
    return { status: res.status, body: json as T, headers: res.headers };
  }
  return { call, failures, answered };
}
