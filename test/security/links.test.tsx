/**
 * Issue 31, item 14: links made clickable (OSC 8) must never hide where they go. A message that
 * carries its own OSC 8 sequence, or text that becomes a URL only once escaped, is shown inert;
 * every hyperlink the TUI writes has the very URL it shows as its target.
 */
import React from 'react';
import { describe, expect, it } from 'vitest';
import { render } from 'ink-testing-library';
import type { Message } from '../../src/protocol/index.js';
import { MessagePane } from '../../src/tui/MessagePane.js';
import { initialState, reducer } from '../../src/tui/state.js';
import { theme } from '../../src/tui/theme.js';

const ATTACKS = [
  // A link whose text says one thing and goes elsewhere.
  '\u001b]8;;https://evil.example/steal\u001b\\https://bank.example/login\u001b]8;;\u001b\\',
  // The same with BEL terminators, and a C1 OSC introducer.
  '\u001b]8;;https://evil.example/2\u0007click me\u001b]8;;\u0007',
  '\u009d8;;https://evil.example/3\u009chttps://bank.example\u009d8;;\u009c',
  // A URL whose end carries an escape sequence, and a newline forging a second line.
  'https://bank.example/ok\u001b[2J\nhttps://bank.example/forged',
];

describe('links never hide their target (issue 31, 14)', () => {
  it('every OSC 8 hyperlink the pane writes has the URL it shows as its target; a message\'s own sequences stay inert', () => {
    let s = initialState('ann', 'http://x');
    s = reducer(s, { type: 'conversations', list: [{ conversationId: 'dm:ann:eve', kind: 'dm', with: 'eve', title: 'eve', lastSeq: ATTACKS.length, lastMessage: null, unread: 0, mentions: 0, myRead: ATTACKS.length, peerDelivered: 0, peerRead: 0 }] });
    ATTACKS.forEach((text, i) => {
      const m: Message = { id: `m${i}`, seq: i + 1, conversationId: 'dm:ann:eve', from: 'eve', to: 'ann', text, kind: 'user', createdAt: '2026-12-06T10:00:00.000Z' };
      s = reducer(s, { type: 'message', message: m });
    });
    s = reducer(s, { type: 'select', peer: 'eve' });
    const r = render(<MessagePane state={s} width={200} height={20} t={theme(false)} links />);
    const out = r.lastFrame() ?? '';
    r.unmount();
    // Every hyperlink opened: its target, then the text up to its close, which must be that same URL (or its start).
    const links = [...out.matchAll(/\u001b\]8;;([^\u001b\u0007]*)\u001b\\([\s\S]*?)\u001b\]8;;\u001b\\/g)].map((m) => ({ target: m[1]!, shown: m[2]!.replace(/\u001b\[[0-9;]*m/g, '') }));
    console.log(`hyperlinks written: ${JSON.stringify(links)}`);
    expect(links.length).toBeGreaterThan(0);
    for (const l of links) {
      expect(l.target.startsWith(l.shown) || l.shown === l.target, `${l.shown} -> ${l.target}`).toBe(true);
      expect(l.target).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
    }
    // No sequence of the messages reached the output raw: only ours (SGR colours and OSC 8 links).
    const ours = out.replace(/\u001b\[[0-9;]*m/g, '').replace(/\u001b\]8;;[^\u001b\u0007]*\u001b\\/g, '');
    expect(ours).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    // The forged link's hidden target is shown as text, and where it is linked it goes where it says.
    expect(links.filter((l) => l.target === 'https://evil.example/steal').every((l) => l.shown === l.target)).toBe(true);
  });
});
