/**
 * Terminal input as key events. ink hands over what arrived together as one string (`alice\r`
 * typed in a burst, six Backspaces at once, a paste): this splits every key of it, tells
 * Backspace (DEL) from Delete (ESC[3~), and reports bracketed-paste and focus markers.
 */
export type KeyName =
  | 'return' | 'backspace' | 'delete' | 'tab' | 'backtab' | 'escape'
  | 'up' | 'down' | 'left' | 'right' | 'home' | 'end' | 'pageUp' | 'pageDown' | 'f1'
  | 'pasteStart' | 'pasteEnd' | 'focusIn' | 'focusOut' | 'mouse';

export interface KeyEvent {
  /** A named key, or undefined for text. */
  name?: KeyName;
  /** Printable text (one key, or a run of printable keys), or the letter of a Ctrl/Alt chord. */
  ch: string;
  ctrl: boolean;
  meta: boolean;
  shift: boolean;
  /** A mouse report (SGR 1006, with mouse on): the button code, the cell (1-based), and whether it was a release. */
  mouse?: { button: number; x: number; y: number; release: boolean };
}

/** One SGR mouse report: ESC [ < button ; x ; y M (press) or m (release). */
const MOUSE = /\u001b\[<(\d+);(\d+);(\d+)([Mm])/g;

const key = (name: KeyName | undefined, ch = '', mods: Partial<Pick<KeyEvent, 'ctrl' | 'meta' | 'shift'>> = {}): KeyEvent => ({ name, ch, ctrl: false, meta: false, shift: false, ...mods });

const CSI_TILDE: Record<string, KeyName> = { '1': 'home', '7': 'home', '4': 'end', '8': 'end', '3': 'delete', '5': 'pageUp', '6': 'pageDown', '200': 'pasteStart', '201': 'pasteEnd' };
const CSI_FINAL: Record<string, KeyName> = { A: 'up', B: 'down', C: 'right', D: 'left', H: 'home', F: 'end', Z: 'backtab', I: 'focusIn', O: 'focusOut', P: 'f1' };

/** xterm modifier parameter: 1 + (shift 1, alt 2, ctrl 4). */
function mods(param: string | undefined) {
  const m = Math.max(0, Number(param ?? 1) - 1);
  return { shift: (m & 1) !== 0, meta: (m & 2) !== 0, ctrl: (m & 4) !== 0 };
}

/** One control character (outside an escape sequence) as a key. */
function control(c: number, meta = false): KeyEvent | null {
  if (c === 0x0d || c === 0x0a) return key('return', '', { meta });
  if (c === 0x7f || c === 0x08) return key('backspace', '', { meta });
  if (c === 0x09) return key('tab', '', { meta });
  if (c === 0x1b) return key('escape', '', { meta });
  if (c >= 0x01 && c <= 0x1a) return key(undefined, String.fromCharCode(c + 0x60), { ctrl: true, meta });
  return null;
}

function escapeSequence(seq: string): KeyEvent | null {
  // CSI: ESC [ params final (also SS3: ESC O final).
  const csi = /^\u001b\[([0-9;]*)([~A-Za-z])$/.exec(seq);
  if (csi) {
    const [, params = '', final = ''] = csi;
    const parts = params.split(';');
    if (final === '~') {
      const name = CSI_TILDE[parts[0] ?? ''];
      return name ? key(name, '', mods(parts[1])) : null;
    }
    if (final === 'u') {
      // CSI u (kitty, fixterms): codepoint ; modifiers — Shift+Enter and friends.
      const c = Number(parts[0]);
      const m = mods(parts[1]);
      const ctl = control(c);
      if (ctl) return { ...ctl, ...m, ctrl: m.ctrl || ctl.ctrl };
      return Number.isInteger(c) && c >= 0x20 ? key(undefined, String.fromCodePoint(c), m) : null;
    }
    const name = CSI_FINAL[final];
    return name ? key(name, '', mods(parts[1])) : null;
  }
  const ss3 = /^\u001bO([A-DHFP])$/.exec(seq);
  if (ss3) return key(CSI_FINAL[ss3[1]!]);
  // ESC + one key: Alt+key.
  if (seq.length >= 2 && seq[0] === '\u001b') {
    const rest = seq.slice(1);
    const cp = rest.codePointAt(0)!;
    if (rest.length === String.fromCodePoint(cp).length) {
      const ctl = control(cp, true);
      if (ctl) return ctl;
      return cp >= 0x20 ? key(undefined, rest, { meta: true }) : null;
    }
  }
  return null;
}

/** Every key in one chunk of input, in order. Unknown sequences are dropped, never typed. */
export function decodeKeys(raw: string): KeyEvent[] {
  // Mouse reports, one or several in a read (a fast wheel): each an event.
  if (raw.startsWith('\u001b[<') && raw.replace(MOUSE, '') === '') {
    return [...raw.matchAll(MOUSE)].map((m) => ({ ...key('mouse'), mouse: { button: Number(m[1]), x: Number(m[2]), y: Number(m[3]), release: m[4] === 'm' } }));
  }
  if (raw.startsWith('\u001b')) {
    if (raw === '\u001b') return [key('escape')];
    const one = escapeSequence(raw);
    if (one) return [one];
    // A sequence ink did not split (rare): take the escape alone, then the rest as keys.
    if (/^\u001b[[O]/.test(raw)) return [];
  }
  const out: KeyEvent[] = [];
  let text = '';
  const flush = () => { if (text) { out.push(key(undefined, text)); text = ''; } };
  for (const ch of raw) {
    const c = ch.codePointAt(0)!;
    if (c < 0x20 || c === 0x7f) {
      flush();
      const k = control(c);
      if (k) out.push(k);
    } else if (c >= 0x80 && c <= 0x9f) {
      // C1 controls are never typed into anything.
      continue;
    } else text += ch;
  }
  flush();
  return out;
}
