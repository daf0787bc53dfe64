/**
 * Links in messages: found in the text as it was sent (never in what escaping made of it), styled,
 * and made clickable with OSC 8 hyperlinks where the terminal takes them.
 */

/** An http(s) URL of printable characters: a control character ends it, so escaped text is never part of one. */
const URL_RE = /\bhttps?:\/\/[^\s<>"'`\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g;
/** The longest URL made a link. */
export const MAX_URL_LENGTH = 2000;

/** The URLs of a message's text, without the punctuation that ends a sentence after one. */
export function rawUrls(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(URL_RE)) {
    let url = m[0];
    // "(see https://x.org/a)." ends at "a"; a balanced ")" (a wiki link) stays.
    while (/[.,;:!?'")\]}]$/.test(url) && !(url.endsWith(')') && (url.match(/\(/g)?.length ?? 0) >= (url.match(/\)/g)?.length ?? 0))) url = url.slice(0, -1);
    if (url.length <= MAX_URL_LENGTH && /^https?:\/\/[^/]/.test(url)) out.push(url);
  }
  return out;
}

export interface LinkSpan { start: number; end: number; url: string }

/**
 * Where a display line (a message's text, sanitized and wrapped) shows one of the message's own
 * URLs, or the start of one cut by the wrap: each span links to the whole URL.
 */
export function linkSpans(line: string, urls: string[]): LinkSpan[] {
  if (urls.length === 0) return [];
  const spans: LinkSpan[] = [];
  for (const m of line.matchAll(URL_RE)) {
    const shown = m[0];
    const url = urls.find((u) => u.startsWith(shown)) ?? urls.find((u) => shown.startsWith(u));
    if (!url) continue;
    const len = Math.min(shown.length, url.length);
    spans.push({ start: m.index, end: m.index + len, url });
  }
  return spans;
}

/** An OSC 8 hyperlink around `text` (the URL holds no control character: URL_RE). */
export function osc8(url: string, text: string): string {
  return `\u001b]8;;${url}\u001b\\${text}\u001b]8;;\u001b\\`;
}

/**
 * Whether the terminal takes OSC 8 hyperlinks: `CHAT_LINKS=on|off` decides; otherwise terminals
 * known to (iTerm2, WezTerm, kitty, VS Code, Windows Terminal, GNOME's VTE, foot, Ghostty), not
 * inside tmux or screen (tmux before 3.4 drops them; set CHAT_LINKS=on where yours passes them).
 */
export function hyperlinks(env: NodeJS.ProcessEnv): boolean {
  if (env.CHAT_LINKS === 'on') return true;
  if (env.CHAT_LINKS === 'off') return false;
  if (env.TMUX || env.STY) return false;
  if (['iTerm.app', 'WezTerm', 'vscode', 'ghostty'].includes(env.TERM_PROGRAM ?? '')) return true;
  if (env.KITTY_WINDOW_ID || env.WT_SESSION) return true;
  if (Number(env.VTE_VERSION ?? 0) >= 5000) return true;
  return ['xterm-kitty', 'foot', 'xterm-ghostty'].includes(env.TERM ?? '');
}
