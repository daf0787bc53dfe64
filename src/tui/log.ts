import fs from 'node:fs';
import pino from 'pino';
import { RollingFile } from './rolling-file.js';

export type TuiLog = (msg: string, extra?: unknown) => void;

/** Size of one TUI log file, and how many rolled files are kept beside the current one. */
export const TUI_LOG_SIZE = 1024 * 1024;
export const TUI_LOG_KEEP = 3;

/**
 * The TUI never writes logs to the screen: they go, as pino's JSON lines, to `tui.N.log` in the
 * state dir, rolled at 1 MB with 3 old files kept; `current.log` links to the file in use.
 * Files are 0600 in a 0700 dir. Writes are synchronous (the TUI logs rarely, and a crash must
 * not lose its last line).
 */
export async function tuiLogger(dir: string): Promise<TuiLog> {
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const logger = pino({ base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, new RollingFile(dir, 'tui', TUI_LOG_SIZE, TUI_LOG_KEEP));
    return (msg, extra) => {
      try {
        if (extra === undefined) logger.info(msg);
        else if (extra instanceof Error) logger.warn({ err: extra }, msg);
        else if (typeof extra === 'object' && extra !== null) logger.info(extra as object, msg);
        else logger.info({ value: extra }, msg);
      } catch {
        // Logging must never break the interface.
      }
    };
  } catch {
    return () => {};
  }
}
