import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  ChatError, ERROR_CODES, LIMITS, adminIdsSchema, httpBodyLimitFor, maxAdminIdsBytes, syncSchema, conversationMembers, dmConversationId, dmPeer, fromErrorBody, historyQuerySchema, makeSendSchema, sendSchema, socketBufferSizeFor, toChatError, usernameSchema, wellFormedSend,
} from '../../src/protocol/index.js';
import { safeJson, sanitize, sanitizeLine } from '../../src/client/sanitize.js';

describe('schemas', () => {
  it('accepts usernames of 3-32 of [a-z0-9_.-] only', () => {
    for (const ok of ['bob', 'a.b-c_d', 'x'.repeat(32), '123']) expect(usernameSchema.safeParse(ok).success, ok).toBe(true);
    for (const bad of ['ab', 'x'.repeat(33), 'Bob', 'a b', 'ä12', '', 'bob\n']) expect(usernameSchema.safeParse(bad).success, bad).toBe(false);
    fc.assert(fc.property(fc.string(), (s) => usernameSchema.safeParse(s).success === /^[a-z0-9_.-]{3,32}$/.test(s)));
  });

  it('bounds message text by the configured length and refuses unknown keys', () => {
    expect(sendSchema.safeParse({ to: 'bob', text: 'x'.repeat(LIMITS.maxMessageLength) }).success).toBe(true);
    expect(sendSchema.safeParse({ to: 'bob', text: 'x'.repeat(LIMITS.maxMessageLength + 1) }).success).toBe(false);
    expect(makeSendSchema(10).safeParse({ to: 'bob', text: 'x'.repeat(11) }).success).toBe(false);
    expect(sendSchema.safeParse({ to: 'bob', text: 'hi', admin: true }).success).toBe(false);
    expect(sendSchema.safeParse({ to: 'bob', text: 'hi', clientMsgId: 'x'.repeat(129) }).success).toBe(false);
  });

  it('fits every payload the schemas accept, every character escaped, in the socket buffer and the body limits', () => {
    /** JSON with every string character written as a \\uXXXX escape: the longest valid encoding without whitespace. */
    const escapedJson = (v: unknown) => JSON.stringify(v).replace(/"((?:[^"\\]|\\.)*)"/g, (_m, body: string) => `"${[...(JSON.parse(`"${body}"`) as string)].flatMap((c) => c.split('')).map((u) => `\\u${u.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')}"`);
    for (const max of [LIMITS.maxMessageLength, 10, LIMITS.maxMessageLengthCeiling]) {
      const send = { to: 'x'.repeat(32), text: '😀'.repeat(max), clientMsgId: 'c'.repeat(LIMITS.maxClientMsgIdLength) };
      expect(makeSendSchema(max).safeParse(send).success).toBe(true);
      const bytes = Buffer.byteLength(escapedJson(send));
      expect(bytes).toBeLessThanOrEqual(socketBufferSizeFor(max));
      expect(bytes).toBeLessThanOrEqual(httpBodyLimitFor(max));
    }
    const cursors = Object.fromEntries(Array.from({ length: LIMITS.maxSyncCursors }, (_, i) => [`dm:${String(i).padStart(LIMITS.maxConversationIdLength - 3, 'a')}`, Number.MAX_SAFE_INTEGER]));
    expect(syncSchema.safeParse({ cursors, limit: LIMITS.maxHistoryLimit }).success).toBe(true);
    expect(Buffer.byteLength(escapedJson({ cursors, limit: LIMITS.maxHistoryLimit }))).toBeLessThanOrEqual(socketBufferSizeFor(LIMITS.maxMessageLength));
    expect(syncSchema.safeParse({ cursors: { ...cursors, 'dm:one:more': 1 } }).success).toBe(false);
    const ids = { ids: Array.from({ length: LIMITS.maxAdminIds }, () => 'i'.repeat(LIMITS.maxAdminIdLength)) };
    expect(adminIdsSchema.safeParse(ids).success).toBe(true);
    expect(Buffer.byteLength(escapedJson(ids))).toBeLessThanOrEqual(maxAdminIdsBytes());
  });

  it('coerces history queries and rejects inverted ranges', () => {
    expect(historyQuerySchema.parse({ limit: '5', beforeSeq: '10' })).toEqual({ limit: 5, beforeSeq: 10 });
    expect(historyQuerySchema.safeParse({ afterSeq: '9', beforeSeq: '3' }).success).toBe(false);
    expect(historyQuerySchema.safeParse({ limit: '501' }).success).toBe(false);
  });

  it('builds one DM conversation id whoever writes first', () => {
    fc.assert(fc.property(fc.stringMatching(/^[a-z]{3,8}$/), fc.stringMatching(/^[a-z]{3,8}$/), (a, b) => {
      const id = dmConversationId(a, b);
      expect(id).toBe(dmConversationId(b, a));
      if (a !== b) expect(dmPeer(id, a)).toBe(b);
      expect(conversationMembers(id).sort()).toEqual([a, b].sort());
    }));
    expect(conversationMembers('grp:x', ['a', 'b'])).toEqual(['a', 'b']);
    expect(dmPeer('dm:alice:bob', 'carol')).toBeUndefined();
  });
});

describe('the send fast path (wellFormedSend)', () => {
  const max = 20;
  const schema = makeSendSchema(max);
  const username = fc.stringMatching(/^[a-z0-9_.-]{3,32}$/);
  // Near the edges of every rule: lengths around the limits, characters just outside the sets.
  const nearly = {
    to: fc.oneof(username, fc.string({ maxLength: 40 }), fc.constantFrom('ab', 'a'.repeat(33), 'Bob', 'bo b', ''), fc.integer(), fc.constant(null)),
    text: fc.oneof(fc.string({ minLength: 0, maxLength: max + 2 }), fc.constantFrom('', 'x'.repeat(max), 'x'.repeat(max + 1), '😀'.repeat(10), '😀'.repeat(11)), fc.integer(), fc.constant(undefined)),
    clientMsgId: fc.oneof(fc.stringMatching(/^[\x21-\x7e]{1,130}$/), fc.string({ maxLength: 10 }), fc.constantFrom('', ' ', 'a b', 'é', '~'.repeat(128), '~'.repeat(129)), fc.constant(undefined), fc.integer()),
    extra: fc.anything(),
  };
  const payloads = fc.oneof(
    fc.record(nearly, { requiredKeys: [] }),
    fc.record({ to: username, text: fc.string({ minLength: 1, maxLength: max }), clientMsgId: fc.option(fc.stringMatching(/^[\x21-\x7e]{1,128}$/), { nil: undefined }) }, { requiredKeys: ['to', 'text'] }),
    fc.anything(),
  );

  it('accepts only what the schema accepts, with the same result', () => {
    fc.assert(fc.property(payloads, (p) => {
      const fast = wellFormedSend(p, max);
      if (fast === null) return;
      const slow = schema.safeParse(p);
      expect(slow.success).toBe(true);
      expect(fast).toEqual(slow.data);
    }), { numRuns: 5000 });
  });

  it('accepts every well-formed payload as a socket delivers it (parsed JSON), leaving to the schema only texts over the limit in UTF-16 units', () => {
    fc.assert(fc.property(payloads, (p) => {
      let wire: unknown;
      try { wire = JSON.parse(JSON.stringify(p) ?? 'null'); } catch { return; }
      const slow = schema.safeParse(wire);
      // Over the limit in UTF-16 units but not in code points (emoji): the schema's to decide.
      if (slow.success && slow.data.text.length > max) {
        expect(wellFormedSend(wire, max)).toBeNull();
        return;
      }
      expect(wellFormedSend(wire, max) !== null).toBe(slow.success);
    }), { numRuns: 5000 });
  });
});

describe('errors', () => {
  it('maps unknown throws to an internal error and keeps coded ones', () => {
    expect(toChatError(new Error('boom')).code).toBe('CHAT_ERR_INTERNAL');
    expect(toChatError(new Error('boom')).message).toBe('Internal server error');
    expect(toChatError(new ChatError('CHAT_ERR_NOT_FRIENDS')).status).toBe(403);
    expect(toChatError({ code: 'CHAT_ERR_SHUTTING_DOWN', message: 'x' }).code).toBe('CHAT_ERR_SHUTTING_DOWN');
    expect(fromErrorBody({ code: 'CHAT_ERR_RATE_LIMITED', message: 'm', retryAfterMs: 5 }).retryAfterMs).toBe(5);
    expect(fromErrorBody({ code: 'NOT_A_CODE' }).code).toBe('CHAT_ERR_INTERNAL');
  });

  it('every error code is documented in the README', () => {
    const readme = fs.readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const missing = Object.keys(ERROR_CODES).filter((c) => !readme.includes(`\`${c}\``));
    expect(missing).toEqual([]);
  });
});

describe('terminal safety', () => {
  it('makes escape sequences inert', () => {
    const osc52 = '\u001b]52;c;ZXZpbA==\u0007';
    const title = '\u001b]0;pwned\u0007';
    const csi8 = '\u009b2J';
    const out = sanitize(`hi ${osc52} ${title} ${csi8} \u001b[2J bye`);
    expect(out).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    expect(out).toContain('^[]52;c;ZXZpbA==^G');
    expect(sanitize('line1\nline2\ttab')).toBe('line1\nline2\ttab');
    expect(sanitizeLine('a\nb')).toBe('a⏎b');
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (s) => !/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/.test(sanitize(s))));
  });

  it('keeps JSON output valid and free of raw C1 controls', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (s) => {
      const j = safeJson({ text: s });
      expect(JSON.parse(j)).toEqual({ text: s });
      expect(/[\u0000-\u001f\u007f-\u009f]/.test(j)).toBe(false);
    }));
  });
});

describe('README', () => {
  it('documents every TUI key binding', async () => {
    const { BINDINGS } = await import('../../src/tui/keys.js');
    const readme = fs.readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    for (const b of BINDINGS) expect(readme, b.id).toContain(`| ${b.keys.replace(/\|/g, '\\|')} |`);
  });
});
