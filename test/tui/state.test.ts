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
  it('keeps the last server search: its hits, the picked one within bounds, and the hit shown in place', () => {
    const hit = (seq: number) => ({ message: msg(seq, `needle ${seq}`), with: 'b', snippet: `needle ${seq}`, matches: [[0, 6]] as [number, number][] });
    let s: TuiState = reducer(initialState('a', 'http://x'), { type: 'results', results: { query: 'needle', scope: null, hits: [hit(3), hit(1)], index: 0, from: 'c' } });
    s = reducer(s, { type: 'resultsMove', delta: 5 });
    expect(s.results?.index).toBe(1);
    s = reducer(s, { type: 'resultsMove', delta: -5 });
    expect(s.results?.index).toBe(0);
    s = reducer(s, { type: 'searchHit', peer: 'b', query: 'needle', id: 'id3' });
    expect(s.search).toEqual({ peer: 'b', query: 'needle', hit: 'id3' });
    expect(reducer(s, { type: 'resultsMove', delta: 1 }).results?.hits).toHaveLength(2);
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
