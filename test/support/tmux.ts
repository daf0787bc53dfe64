import { execFileSync } from 'node:child_process';
import { waitFor } from './daemon.js';
import { CHAT_BIN } from './procs.js';

/**
 * A tmux server of its own for one test file: sessions run `chat` in a real terminal, send-keys
 * types (a burst with -l is one read), capture-pane reads the screen.
 */
export function tmuxRig(label: string) {
  const tmux = (...args: string[]) => execFileSync('tmux', ['-L', `chat-${label}-${process.pid}`, ...args], { encoding: 'utf8' });
  const screen = (s: string) => tmux('capture-pane', '-p', '-t', s);
  const rows = (s: string) => screen(s).replace(/\n+$/, '').split('\n');
  const sessions = new Set<string>();
  return {
    tmux,
    screen,
    rows,
    type: (s: string, ...keys: string[]) => tmux('send-keys', '-t', s, ...keys),
    burst: (s: string, bytes: string) => tmux('send-keys', '-t', s, '-l', bytes),
    statusBar: (s: string) => rows(s).at(-1) ?? '',
    /** The message pane's rows: right of the sidebar's border. */
    pane: (s: string) => rows(s).map((l) => (l.includes('│') ? l.slice(l.indexOf('│') + 1) : '')),
    /** The sidebar's rows: left of its border. */
    sidebar: (s: string) => rows(s).map((l) => (l.includes('│') ? l.slice(0, l.indexOf('│')) : '')),
    /** Starts `chat` (the TUI) for a config dir; the shell line says how it exited. */
    open(name: string, configDir: string, opts: { env?: string; size?: [number, number] } = {}) {
      const [x, y] = opts.size ?? [100, 30];
      sessions.add(name);
      tmux('new-session', '-d', '-s', name, '-x', String(x), '-y', String(y), `env CI=1 ${opts.env ?? ''} CHAT_CONFIG_DIR=${configDir} TERM=xterm-256color ${process.execPath} ${CHAT_BIN}; echo "EXITED $?"; sleep 60`);
    },
    /** Waits for `f`, printing every session's screen if it never holds. */
    until(f: () => boolean, ms = 10_000) {
      return waitFor(f, ms).catch((e: Error) => {
        for (const s of sessions) { try { console.log(`${s}:\n${screen(s)}`); } catch { /* gone */ } }
        throw e;
      });
    },
    close() { try { tmux('kill-server'); } catch { /* already gone */ } },
  };
}
