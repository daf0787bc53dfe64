import { describe, expect, it } from 'vitest';
import { hyperlinks, linkSpans, osc8, rawUrls } from '../../src/tui/links.js';
import { sanitize } from '../../src/client/sanitize.js';

describe('links in messages (issue 31, 14)', () => {
  it('finds http(s) URLs in the sent text, without a sentence\'s closing punctuation; a balanced ")" stays', () => {
    expect(rawUrls('see https://example.com/a_(b) and (https://x.org/y). Or http://h:8080/p?q=1&r=2, ok?')).toEqual(['https://example.com/a_(b)', 'https://x.org/y', 'http://h:8080/p?q=1&r=2']);
    expect(rawUrls('ftp://x.org javascript:alert(1) https:// no')).toEqual([]);
  });

  it('a control character ends a URL: an escape sequence in a message never becomes part of a link', () => {
    const evil = 'https://good.example\u001b]8;;https://evil.example\u001b\\click\u001b]8;;\u001b\\';
    expect(rawUrls(evil)).toEqual(['https://good.example', 'https://evil.example']);
    // On screen the sequence is inert text (^[), and only what is a URL of the sent text, shown as it is, is linked.
    const shown = sanitize(evil);
    expect(shown).not.toContain('\u001b');
    const spans = linkSpans(shown, rawUrls(evil));
    for (const s of spans) expect(shown.slice(s.start, s.end)).toBe(s.url.slice(0, s.end - s.start));
    // Text that is a URL only after escaping is not linked: no such URL was sent.
    expect(linkSpans('^[https://made.by.escaping', ['https://other.example'])).toEqual([]);
  });

  it('links a URL cut by the wrap from its first part to the whole URL', () => {
    const url = 'https://example.com/a/very/long/path';
    expect(linkSpans('alice: https://example.com/a/ve', [url])).toEqual([{ start: 7, end: 31, url }]);
    expect(osc8(url, 'x')).toBe(`\u001b]8;;${url}\u001b\\x\u001b]8;;\u001b\\`);
  });

  it('hyperlinks where the terminal takes them, CHAT_LINKS deciding; not inside tmux unless asked', () => {
    expect(hyperlinks({ TERM_PROGRAM: 'iTerm.app' })).toBe(true);
    expect(hyperlinks({ VTE_VERSION: '7200' })).toBe(true);
    expect(hyperlinks({ TERM: 'xterm-256color' })).toBe(false);
    expect(hyperlinks({ TERM_PROGRAM: 'WezTerm', TMUX: '/tmp/tmux-0/default,1,0' })).toBe(false);
    expect(hyperlinks({ TMUX: 'x', CHAT_LINKS: 'on' })).toBe(true);
    expect(hyperlinks({ KITTY_WINDOW_ID: '1', CHAT_LINKS: 'off' })).toBe(false);
  });
});
