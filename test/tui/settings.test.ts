import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSettings, parseKeySpec, withKeys } from '../../src/tui/settings.js';
import { bindingFor } from '../../src/tui/keys.js';
import { decodeKeys } from '../../src/tui/key-decoder.js';
import { stamp } from '../../src/tui/layout.js';
import { helpRows } from '../../src/tui/HelpOverlay.js';
import { tmpDir } from '../support/daemon.js';

const write = (json: unknown) => {
  const dir = tmpDir('chat-settings-');
  fs.writeFileSync(path.join(dir, 'tui.json'), typeof json === 'string' ? json : JSON.stringify(json));
  return dir;
};

describe('the TUI settings file (issue 31, 17)', () => {
  it('reads timestamps, theme, mouse and keys; without a file, the defaults', () => {
    expect(loadSettings(tmpDir('chat-settings-'), {})).toMatchObject({ settings: { timestamps: 'HH:MM', theme: 'dark', mouse: false, keys: {} }, problems: [] });
    const { settings, problems } = loadSettings(write({ timestamps: 'relative', theme: 'light', mouse: true, keys: { jump: 'Alt+J', jumpQuoted: 'Alt+Q', search: 'Ctrl+T' } }), {});
    expect(problems).toEqual([]);
    expect(settings).toEqual({ timestamps: 'relative', theme: 'light', mouse: true, keys: { jump: 'Alt+J', jumpQuoted: 'Alt+Q', search: 'Ctrl+T' } });
    // NO_COLOR wins over the theme.
    expect(loadSettings(write({ theme: 'light' }), { NO_COLOR: '1' }).settings.theme).toBe('none');
  });

  it('says what is wrong (with "did you mean"), keeps each wrong setting at its default, and never takes a key another binding answers', () => {
    const { settings, problems } = loadSettings(write({ timestamp: 'HH:MM', theme: 'drak', mouse: 'yes', keys: { jmup: 'Alt+J', search: 'Ctrl+Shift', attach: 'Ctrl+R', jump: 'x' } }), {});
    console.log(problems.join('\n'));
    expect(problems).toEqual([
      'tui.json: unknown setting "timestamp" (did you mean "timestamps"?)',
      'tui.json: theme must be "dark", "light" or "none" (did you mean "dark"?)',
      'tui.json: mouse must be true or false',
      'tui.json: keys: no binding "jmup" (did you mean "jump"?)',
      'tui.json: keys: search: "Ctrl+Shift" is not a key (Ctrl+F, Alt+J, Alt+Up, F1…)',
      'tui.json: keys: jump: "x" is not a key (Ctrl+F, Alt+J, Alt+Up, F1…)',
      "tui.json: keys: Ctrl+R is already search's key; attach keeps its own",
    ]);
    expect(settings).toEqual({ timestamps: 'HH:MM', theme: 'dark', mouse: false, keys: {} });
    expect(loadSettings(write('{"theme": '), {}).problems[0]).toMatch(/^tui\.json is not valid JSON/);
  });

  it('a rebound key does what its binding does, the old key no longer, and the help shows the new one', () => {
    const bindings = withKeys({ jump: 'Alt+J', jumpQuoted: 'Alt+Q' });
    const ctx = { focus: 'input' as const, overlay: null, inputEmpty: true };
    const [altJ] = decodeKeys('\u001bj');
    const [altK] = decodeKeys('\u001bk');
    expect(bindingFor(altJ!, ctx, bindings)?.id).toBe('jump');
    expect(bindingFor(altK!, ctx, bindings)).toBeUndefined();
    expect(helpRows(bindings).find((r) => r.ids.includes('jump'))!.keys).toBe('Ctrl+N / Ctrl+P / Alt+J');
    expect(parseKeySpec('Alt+Up')!.match(decodeKeys('\u001b[1;3A')[0]!)).toBe(true);
    expect(parseKeySpec('F1')!.match(decodeKeys('\u001bOP')[0]!)).toBe(true);
    // Ctrl+F is the line editor's (forward a character): taking it for search is refused.
    expect(loadSettings(write({ keys: { search: 'Ctrl+F' } }), {}).problems).toEqual(["tui.json: keys: Ctrl+F is already edit's key; search keeps its own"]);
  });

  it('message times: 14:05, with seconds, or how long ago', () => {
    const at = new Date(2026, 11, 6, 14, 5, 9).toISOString();
    const t = new Date(at).getTime();
    expect(stamp(at, 'HH:MM')).toBe('14:05');
    expect(stamp(at, 'HH:MM:SS')).toBe('14:05:09');
    expect([stamp(at, 'relative', t + 30_000), stamp(at, 'relative', t + 5 * 60_000), stamp(at, 'relative', t + 3 * 3600_000), stamp(at, 'relative', t + 2 * 86400_000), stamp(at, 'relative', t + 30 * 86400_000)]).toEqual(['now', '5m', '3h', '2d', '2026-12-06']);
  });

  it('decodes SGR mouse reports, several in one read (issue 31, 16)', () => {
    expect(decodeKeys('\u001b[<0;5;4M\u001b[<0;5;4m').map((k) => [k.name, k.mouse])).toEqual([
      ['mouse', { button: 0, x: 5, y: 4, release: false }], ['mouse', { button: 0, x: 5, y: 4, release: true }],
    ]);
    expect(decodeKeys('\u001b[<64;50;10M\u001b[<64;50;10M')).toHaveLength(2);
  });
});
