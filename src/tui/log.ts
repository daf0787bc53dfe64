import fs from 'node:fs';

/** The TUI never writes logs to the screen; they go to this file. */
export function fileLogger(file: string) {
  return (msg: string, extra?: unknown) => {
    try {
      fs.appendFileSync(file, `${new Date().toISOString()} ${msg}${extra === undefined ? '' : ` ${JSON.stringify(extra, (_k, v) => (v instanceof Error ? v.message : v))}`}\n`, { mode: 0o600 });
    } catch {
      // Logging must never break the interface.
    }
  };
}
