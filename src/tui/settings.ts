import fs from 'node:fs';
import path from 'node:path';
import type { KeyEvent, KeyName } from './key-decoder.js';
import { BINDINGS, type Binding, type BindingId } from './keys.js';
import { closest } from '../protocol/suggest.js';

/**
 * The TUI's own settings, in one file: `tui.json` in the config dir (`$CHAT_CONFIG_DIR`, or
 * `$XDG_CONFIG_HOME/chat`, `~/.config/chat`). Every setting is optional; a wrong one is reported
 * (a notice at start, and the log) and its default used, so a typo never keeps the TUI from opening.
 *
 *   { "timestamps": "HH:MM" | "HH:MM:SS" | "relative",
 *     "theme": "dark" | "light" | "none",
 *     "mouse": false,
 *     "keys": { "jump": "Alt+J", "search": "Ctrl+F" } }
 */
export const SETTINGS_FILE = 'tui.json';

export type Timestamps = 'HH:MM' | 'HH:MM:SS' | 'relative';
export type ThemeName = 'dark' | 'light' | 'none';

export interface TuiSettings {
  timestamps: Timestamps;
  theme: ThemeName;
  mouse: boolean;
  /** Bindings given other keys, by binding id (keys.ts). */
  keys: Partial<Record<BindingId, string>>;
}

export const DEFAULT_SETTINGS: TuiSettings = { timestamps: 'HH:MM', theme: 'dark', mouse: false, keys: {} };

const TIMESTAMPS: Timestamps[] = ['HH:MM', 'HH:MM:SS', 'relative'];
const THEMES: ThemeName[] = ['dark', 'light', 'none'];
const NAMED: Record<string, KeyName> = {
  up: 'up', down: 'down', left: 'left', right: 'right', home: 'home', end: 'end', pgup: 'pageUp', pgdn: 'pageDown',
  tab: 'tab', enter: 'return', esc: 'escape', f1: 'f1', delete: 'delete', backspace: 'backspace',
};

/** A key as people write it (`Ctrl+F`, `Alt+J`, `Alt+Up`, `F1`): what it matches, or null when it is not one. */
export function parseKeySpec(spec: string): { event: KeyEvent; match(k: KeyEvent): boolean } | null {
  const parts = spec.split('+');
  const base = parts.pop();
  if (!base) return null;
  const mods = { ctrl: false, meta: false, shift: false };
  for (const p of parts) {
    const m = p.toLowerCase();
    if (m === 'ctrl') mods.ctrl = true;
    else if (m === 'alt' || m === 'meta') mods.meta = true;
    else if (m === 'shift') mods.shift = true;
    else return null;
  }
  const name = NAMED[base.toLowerCase()];
  let event: KeyEvent;
  if (name) event = { name, ch: '', ...mods };
  else if ([...base].length === 1 && /^[\x21-\x7e]$/.test(base)) {
    // Ctrl+letter arrives as the letter; a plain printable key would type, so it needs Ctrl or Alt.
    if (!mods.ctrl && !mods.meta) return null;
    if (mods.ctrl && !/^[a-z]$/i.test(base)) return null;
    // Alt+J is Alt and j (as people write it); Alt+Shift+J is Alt and J, which is how terminals send it.
    const ch = /^[a-z]$/i.test(base) ? (mods.shift && !mods.ctrl ? base.toUpperCase() : base.toLowerCase()) : base;
    event = { ch, ...mods, shift: false };
  } else return null;
  return {
    event,
    match: (k) => k.name === event.name && (event.name !== undefined || k.ch === event.ch) && k.ctrl === event.ctrl && k.meta === event.meta && (event.name === undefined || k.shift === event.shift),
  };
}

/** The bindings with the keys the settings give them (their help labels too). */
export function withKeys(keys: TuiSettings['keys']): Binding[] {
  return BINDINGS.map((b) => {
    const spec = keys[b.id];
    const parsed = spec ? parseKeySpec(spec) : null;
    return parsed ? { ...b, keys: spec!, match: parsed.match, rebound: true } : b;
  });
}

const suggest = (word: string, options: readonly string[]) => {
  const best = closest(word, options);
  return best ? ` (did you mean "${best}"?)` : '';
};

/** Reads the settings file; `problems` says what was wrong in it (each such setting keeps its default). */
export function loadSettings(dir: string, env: NodeJS.ProcessEnv): { settings: TuiSettings; problems: string[]; file: string } {
  const file = path.join(dir, SETTINGS_FILE);
  const settings: TuiSettings = { ...DEFAULT_SETTINGS, keys: {} };
  const problems: string[] = [];
  let raw: unknown = {};
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') problems.push(`${SETTINGS_FILE} is not valid JSON: ${(err as Error).message.slice(0, 80)}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    problems.push(`${SETTINGS_FILE} must hold an object`);
    raw = {};
  }
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!(k in DEFAULT_SETTINGS)) problems.push(`${SETTINGS_FILE}: unknown setting "${k}"${suggest(k, Object.keys(DEFAULT_SETTINGS))}`);
  if ('timestamps' in o) {
    if (TIMESTAMPS.includes(o.timestamps as Timestamps)) settings.timestamps = o.timestamps as Timestamps;
    else problems.push(`${SETTINGS_FILE}: timestamps must be ${TIMESTAMPS.map((x) => `"${x}"`).join(', ')}`);
  }
  if ('theme' in o) {
    if (THEMES.includes(o.theme as ThemeName)) settings.theme = o.theme as ThemeName;
    else problems.push(`${SETTINGS_FILE}: theme must be "dark", "light" or "none"${suggest(String(o.theme), THEMES)}`);
  }
  if ('mouse' in o) {
    if (typeof o.mouse === 'boolean') settings.mouse = o.mouse;
    else problems.push(`${SETTINGS_FILE}: mouse must be true or false`);
  }
  if ('keys' in o) {
    const keys = o.keys;
    if (typeof keys !== 'object' || keys === null || Array.isArray(keys)) problems.push(`${SETTINGS_FILE}: keys must be an object of binding: key`);
    else {
      const ids: BindingId[] = BINDINGS.map((b) => b.id).filter((id) => id !== 'edit');
      for (const [id, spec] of Object.entries(keys as Record<string, unknown>)) {
        if (!ids.includes(id as BindingId)) problems.push(`${SETTINGS_FILE}: keys: no binding "${id}"${suggest(id, ids)}`);
        else if (typeof spec !== 'string' || !parseKeySpec(spec)) problems.push(`${SETTINGS_FILE}: keys: ${id}: ${JSON.stringify(spec)} is not a key (Ctrl+F, Alt+J, Alt+Up, F1…)`);
        else settings.keys[id as BindingId] = spec;
      }
      // A key given to one binding that another already answers: the first in the registry would win.
      const bound = withKeys(settings.keys);
      for (const [id, spec] of Object.entries(settings.keys)) {
        const ev = parseKeySpec(spec!)!.event;
        const other = bound.find((b) => b.id !== id && b.match(ev));
        if (other) {
          problems.push(`${SETTINGS_FILE}: keys: ${spec} is already ${other.id}'s key; ${id} keeps its own`);
          delete settings.keys[id as BindingId];
        }
      }
    }
  }
  // NO_COLOR wins over any theme.
  if ('NO_COLOR' in env && env.NO_COLOR !== '') settings.theme = 'none';
  return { settings, problems, file };
}
