import fs from 'node:fs';
import path from 'node:path';

/**
 * Makes the data dir private: the directory 0700 and every file in it 0600 (the database, its
 * WAL and SHM, secrets, backups, the files folder and everything in it), on every start, whatever an earlier version, a restore or an
 * admin left. Each one that was looser is reported to `warn`, since someone may have read it.
 */
export function securePrivateDir(dir: string, warn: (msg: string, detail: Record<string, unknown>) => void) {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  tighten(dir, 0o700, warn);
  tightenTree(dir, warn);
}

/** Every file below `dir` 0600 and every folder 0700 (the files folder holds one file per content). */
function tightenTree(dir: string, warn: (msg: string, detail: Record<string, unknown>) => void) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isFile()) tighten(p, 0o600, warn);
    else if (e.isDirectory()) {
      tighten(p, 0o700, warn);
      tightenTree(p, warn);
    }
  }
}

function tighten(file: string, mode: number, warn: (msg: string, detail: Record<string, unknown>) => void) {
  const was = fs.statSync(file).mode & 0o777;
  if ((was & ~mode) === 0) return;
  fs.chmodSync(file, mode);
  warn(`permissions of ${file} were ${was.toString(8)}, now ${mode.toString(8)}: other local users may have read it`, { file, was: was.toString(8), now: mode.toString(8) });
}
