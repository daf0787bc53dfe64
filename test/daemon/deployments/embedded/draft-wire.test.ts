import v8 from 'node:v8';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { packDrafts, packResults, unpackDrafts, unpackResults } from '../../../../src/daemon/deployments/embedded/draft-wire.js';
import type { MessageDraft } from '../../../../src/daemon/ports/index.js';
import type { MessageRow } from '../../../../src/daemon/deployments/embedded/sqlite-messages.js';

const draft = fc.record({
  id: fc.uuid(), conversationId: fc.string(), from: fc.string(), to: fc.string(), text: fc.string(),
  kind: fc.constantFrom('user', 'ai', 'system'), createdAt: fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
}).chain((d) => fc.option(fc.string(), { nil: undefined }).map((clientMsgId): MessageDraft => (clientMsgId === undefined ? d : { ...d, clientMsgId }) as MessageDraft))
  // Any of the extra fields (a reply, mentions, a change's target, emoji and op, files), or none.
  .chain((d) => fc.record({
    replyTo: fc.nat(), mentions: fc.array(fc.string(), { maxLength: 3 }), target: fc.nat(), emoji: fc.string(), op: fc.constantFrom('add', 'remove'),
    files: fc.array(fc.record({ id: fc.uuid(), name: fc.string(), size: fc.nat(), type: fc.string() }), { maxLength: 2 }),
  }, { requiredKeys: [] }).map((extra) => ({ ...d, ...extra }) as MessageDraft));

describe('drafts across the writer-thread boundary', () => {
  it('arrive as they left, field for field, with or without a clientMsgId and any extra field', () => {
    fc.assert(fc.property(fc.array(draft, { maxLength: 50 }), (drafts) => {
      // structuredClone: what postMessage does to it on the way.
      expect(unpackDrafts(structuredClone(packDrafts(drafts)))).toEqual(drafts);
    }));
  });

  it('carry each extra field when it is the draft’s only one (a plain draft is told from the others by name)', () => {
    const base = { id: 'm1', conversationId: 'dm:a:b', from: 'a', to: 'b', text: 'hi', kind: 'user', createdAt: new Date(0).toISOString() };
    const alone: Record<string, unknown> = { replyTo: 0, mentions: [], target: 0, emoji: '', op: 'add', files: [] };
    for (const [k, v] of Object.entries(alone)) {
      const d = { ...base, [k]: v } as unknown as MessageDraft;
      expect(unpackDrafts(structuredClone(packDrafts([d]))), k).toEqual([d]);
    }
  });

  it('cross as a dense array: a holey one is cloned index by index, at about twice the cost (Node 20 and 22)', () => {
    const drafts = fc.sample(draft, { numRuns: 20, seed: 7 });
    // The serializer's header (0xFF, version), then the value's tag: 'A' begins a dense array, 'a' a sparse one.
    const tag = (a: unknown[]) => String.fromCharCode(v8.serialize(a)[2]!);
    expect(tag(packDrafts(drafts))).toBe('A');
    // What the check tells apart: Node 20's and 22's V8 write a filled preallocated array as a
    // sparse one; Node 24's writes it dense too.
    if (Number(process.versions.node.split('.')[0]) < 24) expect(tag(new Array(3).fill(null))).toBe('a');
  });

  it('bring back each draft’s seq, or the stored row of a resend at its own index', () => {
    const row = { id: 'x', seq: 7 } as unknown as MessageRow;
    const results = [{ seq: 3 }, { row }, { seq: 4 }];
    expect(unpackResults(structuredClone(packResults(results)))).toEqual(results);
    expect(unpackResults(packResults([]))).toEqual([]);
  });
});
