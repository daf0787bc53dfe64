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

  it('a conversation view read before this client\'s read receipt does not bring the unread count back (issue 31, 4)', () => {
    const view = (unread: number, myRead: number) => ({ conversationId: 'dm:a:b', kind: 'dm' as const, with: 'b', title: 'b', lastSeq: 2, lastMessage: msg(2), unread, mentions: 0, myRead, peerDelivered: 0, peerRead: 0 });
    let s = reducer(initialState('a', 'http://x'), { type: 'conversations', list: [view(2, 0)] });
    expect(s.conversations.b!.unread).toBe(2);
    s = reducer(s, { type: 'read', peer: 'b', seq: 2 });
    // The second view of the start-up, asked for before the receipt went out, answers unread: 2.
    s = reducer(s, { type: 'conversations', list: [view(2, 0)] });
    expect([s.conversations.b!.unread, s.conversations.b!.myRead]).toEqual([0, 2]);
    // A view with news past what this client read still counts them.
    s = reducer(s, { type: 'conversations', list: [{ ...view(1, 2), lastSeq: 3, lastMessage: msg(3) }] });
    expect(s.conversations.b!.unread).toBe(1);
  });

  it('holds the conversation list still while the user moves through it, and lets it follow activity again once they type (issue 31, 6)', async () => {
    const { orderedPeers } = await import('../../src/tui/state.js');
    const at = (peer: string, iso: string): Message => ({ ...msg(1), id: `${peer}${iso}`, conversationId: `dm:a:${peer}`, from: peer, createdAt: iso });
    let s = initialState('a', 'http://x');
    for (const [p, t] of [['b', '2026-01-01T00:00:03Z'], ['c', '2026-01-01T00:00:02Z'], ['d', '2026-01-01T00:00:01Z']] as const) {
      s = reducer(s, { type: 'conversations', list: [{ conversationId: `dm:a:${p}`, kind: 'dm', with: p, title: p, lastSeq: 1, lastMessage: at(p, t), unread: 0, mentions: 0, myRead: 1, peerDelivered: 0, peerRead: 0 }] });
    }
    expect(orderedPeers(s)).toEqual(['b', 'c', 'd']);
    s = reducer(s, { type: 'select', peer: 'b' });
    s = reducer(s, { type: 'focus', focus: 'sidebar' });
    s = reducer(s, { type: 'move', delta: 1 });
    expect(s.selected).toBe('c');
    // d becomes the most recent while the user is on c: the list does not move under them.
    s = reducer(s, { type: 'message', message: { ...at('d', '2026-01-01T00:00:09Z'), seq: 2 } });
    expect(orderedPeers(s)).toEqual(['b', 'c', 'd']);
    s = reducer(s, { type: 'move', delta: 1 });
    expect(s.selected).toBe('d');
    // Past the end it wraps to the top, the order still held.
    expect(reducer(s, { type: 'move', delta: 1 }).selected).toBe('b');
    s = reducer(s, { type: 'focus', focus: 'input' });
    expect(orderedPeers(s)).toEqual(['d', 'b', 'c']);
    // Ctrl+N from the input line holds it too, until the user types.
    s = reducer(s, { type: 'move', delta: 1 });
    s = reducer(s, { type: 'message', message: { ...at('c', '2026-01-01T00:00:10Z'), seq: 2 } });
    expect(orderedPeers(s)).toEqual(['d', 'b', 'c']);
    expect(orderedPeers(reducer(s, { type: 'unfreeze' }))).toEqual(['c', 'd', 'b']);
  });

  it('draws a refused send where it was written, in time, until dismissed; a queued one waits at the end (issue 31, 2)', async () => {
    const { conversationLines } = await import('../../src/tui/layout.js');
    let s = reducer(initialState('a', 'http://x'), { type: 'conversations', list: [{ conversationId: 'dm:a:b', kind: 'dm', with: 'b', title: 'b', lastSeq: 1, lastMessage: msg(1), unread: 0, mentions: 0, myRead: 1, peerDelivered: 0, peerRead: 0 }] });
    s = reducer(s, { type: 'pending:add', pending: { clientMsgId: 'x1', to: 'b', text: 'refused one', createdAt: '2026-11-28T10:01:00.000Z' } });
    s = reducer(s, { type: 'pending:done', peer: 'b', clientMsgId: 'x1', error: 'Direct messages go only between friends' });
    s = reducer(s, { type: 'message', message: { ...msg(2, 'later answer'), createdAt: '2026-11-28T10:02:00.000Z' } });
    s = reducer(s, { type: 'pending:add', pending: { clientMsgId: 'x2', to: 'b', text: 'queued one', createdAt: '2026-11-28T10:03:00.000Z' } });
    const texts = () => conversationLines(s, s.conversations.b!, 100).map((l) => l.text).filter((l) => !l.startsWith('─'));
    console.log(texts().join('\n'));
    expect(texts().map((l) => l.replace(/^\d\d:\d\d /, ''))).toEqual([
      'b: m1', 'a: refused one ✗ not sent: Direct messages go only between friends (Esc dismisses)', 'b: later answer', 'a: queued one … pending',
    ]);
    s = reducer(s, { type: 'dismissFailed' });
    expect(texts().join('\n')).not.toContain('refused one');
    expect(texts().join('\n')).toContain('queued one … pending');
  });

  it('Esc after a search hit ends its highlight and its notice, not other notices (issue 31, 9)', () => {
    let s = reducer(initialState('a', 'http://x'), { type: 'searchHit', peer: 'b', query: 'x', id: 'id1' });
    s = reducer(s, { type: 'notice', search: true, text: 'search "x": 1 of 3 (Ctrl+G next)' });
    s = reducer(s, { type: 'unpick' });
    expect([s.search, liveNotice(s)]).toEqual([null, null]);
    s = reducer(s, { type: 'notice', text: 'you and c are now friends' });
    expect(liveNotice(reducer(s, { type: 'unpick' }))).toBe('you and c are now friends');
  });
});
