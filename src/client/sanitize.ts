/**
 * Terminal safety for untrusted text (messages, usernames in errors, AI output).
 * Control characters never reach the terminal raw: C0 (except newline and tab),
 * DEL and C1 (which includes 8-bit CSI/OSC) are shown as visible escapes, so
 * escape sequences (OSC 52 clipboard writes, title changes, cursor moves) are inert.
 * Bidi overrides and marks (U+200E, U+200F, U+061C) are shown too, so text cannot reorder what
 * follows it, and so are U+2028/U+2029, which some terminals and editors take as line breaks,
 * and U+10EEEE, kitty's image placeholder, which the TUI's pictures are made of (image.ts): text
 * cannot pose as a picture's cells.
 */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\u{10EEEE}]/gu;

function visible(ch: string): string {
  const c = ch.codePointAt(0)!;
  if (c === 0x1b) return '^[';
  if (c < 0x20) return '^' + String.fromCharCode(c + 0x40);
  if (c === 0x7f) return '^?';
  return `\\u{${c.toString(16)}}`;
}

/** Makes text safe to print; keeps newlines and tabs. */
export function sanitize(text: string): string {
  return text.replace(UNSAFE, visible);
}

/**
 * Makes multi-line text safe to print under a prefix: every line after the first starts with
 * `indent`, so no line of a message can pass for the start of another (or a [system] line).
 */
export function sanitizeIndented(text: string, indent: string): string {
  return sanitize(text).replace(/\r?\n/g, `\n${indent}`);
}

/** Makes text safe for one line: newlines and tabs become visible too. */
export function sanitizeLine(text: string): string {
  return sanitize(text).replace(/\r?\n/g, '⏎').replace(/\t/g, ' ');
}

// eslint-disable-next-line no-control-regex
const JSON_UNSAFE = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** JSON.stringify escapes C0 controls but leaves DEL, C1 and bidi controls raw; escape those too. */
export function safeJson(value: unknown, space?: number): string {
  return JSON.stringify(value, null, space).replace(JSON_UNSAFE, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
