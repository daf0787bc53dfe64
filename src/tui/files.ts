import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sanitizeFileName } from '../protocol/uploads.js';

/** `~` and `~/…` as the home folder. */
export function expandHome(p: string, home = os.homedir()): string {
  return p === '~' ? home : p.startsWith('~/') ? path.join(home, p.slice(2)) : p;
}

/**
 * Tab on a path being typed: the entries of its folder that start with what follows the last
 * `/`. One match completes (a folder with its `/`); several complete their common start and are
 * listed. Hidden entries only when a `.` was typed. Nothing is completed on an unreadable folder.
 */
export function completePath(value: string, home = os.homedir()): { value: string; candidates: string[] } {
  const slash = value.lastIndexOf('/');
  const dirPart = slash >= 0 ? value.slice(0, slash + 1) : '';
  const prefix = value.slice(slash + 1);
  const dir = expandHome(dirPart || '.', home);
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return { value, candidates: [] };
  }
  const names = entries
    .filter((e) => e.name.startsWith(prefix) && (prefix.startsWith('.') || !e.name.startsWith('.')))
    .map((e) => (e.isDirectory() ? `${e.name}/` : e.name))
    .sort();
  if (names.length === 0) return { value, candidates: [] };
  if (names.length === 1) return { value: dirPart + names[0], candidates: [] };
  let common = names[0]!;
  for (const n of names) while (!n.startsWith(common)) common = common.slice(0, -1);
  return { value: dirPart + common, candidates: names };
}

/** Where saved files go: CHAT_DOWNLOAD_DIR, XDG_DOWNLOAD_DIR, or ~/Downloads. */
export function downloadsDir(env: NodeJS.ProcessEnv, home = os.homedir()): string {
  return env.CHAT_DOWNLOAD_DIR || env.XDG_DOWNLOAD_DIR || path.join(home, 'Downloads');
}

/** Where opened files are kept: the cache folder, by file id (private: 0700). */
export function openCacheDir(env: NodeJS.ProcessEnv, home = os.homedir()): string {
  return path.join(env.XDG_CACHE_HOME || path.join(home, '.cache'), 'chat', 'files');
}

/** A path in `dir` for `name` (cleaned again: the server's name is not trusted) that does not exist yet: name, name (1).ext, … */
export function freePath(dir: string, name: string): string {
  const clean = sanitizeFileName(name);
  const ext = path.extname(clean);
  const base = clean.slice(0, clean.length - ext.length);
  for (let i = 0; ; i++) {
    const p = path.join(dir, i === 0 ? clean : `${base} (${i})${ext}`);
    if (!fs.existsSync(p) && !fs.existsSync(`${p}.part`)) return p;
  }
}

/** Opens a file with the desktop's opener (CHAT_OPENER, else open on macOS, xdg-open elsewhere), detached. */
export function openWith(file: string, env: NodeJS.ProcessEnv): Promise<void> {
  const opener = env.CHAT_OPENER || (process.platform === 'darwin' ? 'open' : 'xdg-open');
  return new Promise((resolve, reject) => {
    const child = spawn(opener, [file], { detached: true, stdio: 'ignore' });
    child.once('error', reject);
    child.once('spawn', () => { child.unref(); resolve(); });
  });
}
