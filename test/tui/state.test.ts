import { describe, expect, it } from 'vitest';
import type { Message } from '../../src/protocol/index.js';
import { NOTICE_MS, initialState, liveNotice, mergeMessages, reducer, type TuiState } from '../../src/tui/state.js';
import { applyLine, emptyLine } from '../../src/tui/line-editor.js';

const msg = (seq: number, text = `m${seq}`): Message => ({ id: `id${seq}`, seq, conversationId: 'dm:a:b', from: 'b', to: 'a', text, kind: 'user', createdAt: '2026-11-28T10:00:00.000Z' });

describe('TUI reducer', () => {
  it('lets notices expire, and a connection notice ends when the connection is back', () => {
    let s = reducer(initialState('a', 'http://x'), { type: 'notice', text: 'friend request sent to b', now: 1000 });
    expect(liveNotice(s, 1000 + NOTICE_MS - 1)).toBe('friend request sent to b');
    expect(liveNotice(s, 1000 + NOTICE_MS)).toBeNull();
    s = reducer(s, { type: 'notice', text: 'Cannot reach chatd', connection: true });
    s = reducer(s, { type: 'connection', state: 'offline' });
    expect(liveNotice(s)).toBe('Cannot reach chatd');
    s = reducer(s, { type: 'connection', state: 'online' });
    expect(liveNotice(s)).toBeNull();
    // Other notices survive a reconnect until they expire.
    s = reducer(s, { type: 'notice', text: 'you and b are now friends' });
    expect(liveNotice(reducer(s, { type: 'connection', state: 'online' }))).toBe('you and b are now friends');
  });

  it('keeps messages sorted by seq without duplicates, and the line as the editor left it', () => {
    expect(mergeMessages([msg(1), msg(3)], [msg(2), msg(3, 'again')]).map((m) => [m.seq, m.text])).toEqual([[1, 'm1'], [2, 'm2'], [3, 'again']]);
    const line = applyLine(emptyLine(), { op: 'insert', text: 'draft' });
    expect(reducer(initialState('a', 'http://x'), { type: 'line', line }).line).toBe(line);
  });
  it('says where a search hit stands, "2 of 3", and when nothing matched', () => {
    const base = initialState('a', 'http://x');
    const conv = { peer: 'b', kind: 'dm' as const, title: 'b', members: 2, reads: {}, conversationId: 'dm:a:b', messages: [msg(1, 'needle one'), msg(2, 'hay'), msg(3, 'Needle two'), msg(4, 'needle three')], pending: [], unread: 0, mentions: 0, myRead: 0, peerDelivered: 0, peerRead: 0, lastActivity: '', hasOlder: false, scroll: 0 };
    let s: TuiState = { ...base, conversations: { b: conv }, selected: 'b' };
    s = reducer(s, { type: 'search', query: 'needle' });
    expect(liveNotice(s)).toBe('search "needle": 1 of 3 (Ctrl+G next)');
    s = reducer(s, { type: 'searchNext' });
    expect(liveNotice(s)).toBe('search "needle": 2 of 3 (Ctrl+G next)');
    expect(s.search?.hit).toBe('id3');
    s = reducer(s, { type: 'search', query: 'absent' });
    expect(liveNotice(s)).toBe('search "absent": no match in the loaded messages');
  });
  it('marks where the unread messages start when a conversation is opened, until another is opened', async () => {
    const { conversationLines } = await import('../../src/tui/layout.js');
    const view = (peer: string, unread: number, myRead: number) => ({ conversationId: `dm:a:${peer}`, kind: 'dm' as const, with: peer, title: peer, lastSeq: 4, lastMessage: null, unread, mentions: 0, myRead, peerDelivered: 0, peerRead: 0 });
    let s = reducer(initialState('a', 'http://x'), { type: 'conversations', list: [view('c', 0, 0), view('b', 2, 2)] });
    for (const m of [msg(1), msg(2), msg(3), msg(4)]) s = reducer(s, { type: 'message', message: m });
    s = reducer(s, { type: 'select', peer: 'b' });
    expect(s.conversations.b!.newFrom).toBe(2);
    const lines = conversationLines(s, s.conversations.b!, 60).map((l) => l.text);
    const at = lines.findIndex((l) => l.includes(' new messages '));
    console.log(lines.join('\n'));
    expect(lines[at + 1]).toMatch(/b: m3$/);
    s = reducer(s, { type: 'select', peer: 'c' });
    expect(s.conversations.b!.newFrom).toBeUndefined();
    expect(conversationLines(s, s.conversations.b!, 60).some((l) => l.text.includes('new messages'))).toBe(false);
  });
});
