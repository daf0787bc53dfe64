import { describe, expect, it } from 'vitest';
import { completeSlash, parseSlash } from '../../src/tui/slash.js';
import { emote } from '../../src/client/emote.js';

describe('slash commands in the input line (issue 31, 12)', () => {
  it('tells a message from a command, and a misused command says how it is used', () => {
    expect(parseSlash('hello', false)).toEqual({ kind: 'send', text: 'hello' });
    expect(parseSlash('/ai what is a monad', true)).toEqual({ kind: 'send', text: '/ai what is a monad' });
    expect(parseSlash('//etc/hosts is the file', false)).toEqual({ kind: 'send', text: '/etc/hosts is the file' });
    expect(parseSlash('/topic release on friday', true)).toMatchObject({ kind: 'command', name: 'topic', rest: 'release on friday' });
    expect(parseSlash('/topic', true)).toMatchObject({ kind: 'command', name: 'topic', rest: '' });
    expect(parseSlash('/ROLE bob admin', true)).toMatchObject({ kind: 'command', name: 'role', args: ['bob', 'admin'] });
    expect(parseSlash('/role bob king', true)).toEqual({ kind: 'error', message: 'usage: /role <member> owner|admin|member' });
    expect(parseSlash('/kick', true)).toEqual({ kind: 'error', message: 'usage: /kick <member>' });
    expect(parseSlash('/kick bob', false)).toEqual({ kind: 'error', message: '/kick works in a group: open one first' });
    expect(parseSlash('/me waves', false)).toMatchObject({ kind: 'command', name: 'me', rest: 'waves' });
    expect(parseSlash('/frobnicate now', true)).toMatchObject({ kind: 'error', message: expect.stringContaining('unknown command /frobnicate') });
  });

  it('Tab completes the command, then friends, members or roles; several choices are listed', () => {
    const names = { friends: ['bob', 'bea', 'carl'], members: ['bob', 'dora'] };
    expect(completeSlash('/to', names)).toEqual({ value: '/topic ', candidates: [] });
    expect(completeSlash('/r', names)).toEqual({ value: '/r', candidates: ['/rename', '/role'] });
    expect(completeSlash('/invite carl b', names)).toEqual({ value: '/invite carl b', candidates: ['bea', 'bob'] });
    expect(completeSlash('/kick d', names)).toEqual({ value: '/kick dora ', candidates: [] });
    expect(completeSlash('/role dora a', names)).toEqual({ value: '/role dora admin ', candidates: [] });
    expect(completeSlash('/me wav', names)).toEqual({ value: '/me wav', candidates: [] });
  });

  it('an emote is /me and an action', () => {
    expect(emote('/me waves')).toBe('waves');
    expect([emote('/me'), emote('/me '), emote('/mention'), emote('me waves')]).toEqual([null, null, null, null]);
  });
});
