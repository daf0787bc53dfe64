import fs from 'node:fs';
import path from 'node:path';
import { configDir } from './session.js';

/**
 * The names shell completion offers (friends, and groups by handle), kept in the config dir by
 * whatever last listed them: `chat friends list`, `chat group list`, `chat login` and the TUI.
 * Completion reads this file; it never asks the server on a TAB. One name per line, `friend NAME`
 * or `group HANDLE`, 0600; usernames and handles are [a-z0-9_.-], so a line is never more.
 */
export const NAMES_FILE = 'completion-names';

const NAME = /^[a-z0-9_.-]{1,64}$/;

export interface KnownNames { friends?: string[]; groups?: string[] }

/** Replaces the cached friends and/or groups (the kind not given is kept). Never throws. */
export function rememberNames(env: NodeJS.ProcessEnv, names: KnownNames): void {
  try {
    const dir = configDir(env);
    const file = path.join(dir, NAMES_FILE);
    const kept = { friends: [] as string[], groups: [] as string[] };
    for (const line of (fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '').split('\n')) {
      const [kind, name] = line.split(' ');
      if (name && NAME.test(name) && (kind === 'friend' || kind === 'group')) kept[kind === 'friend' ? 'friends' : 'groups'].push(name);
    }
    const friends = (names.friends ?? kept.friends).filter((n) => NAME.test(n));
    const groups = (names.groups ?? kept.groups).map((g) => g.replace(/^#/, '').toLowerCase()).filter((n) => NAME.test(n));
    const text = [...friends.map((f) => `friend ${f}`), ...groups.map((g) => `group ${g}`)].join('\n') + '\n';
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, text, { mode: 0o600 });
    fs.renameSync(tmp, file);
  } catch {
    // A cache: completion without it offers commands and options only.
  }
}
