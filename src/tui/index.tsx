import React, { useState } from 'react';
import { render } from 'ink';
import { spawnSync } from 'node:child_process';
import { splitCommandLine } from './command-line.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AuthResult, Message } from '../protocol/index.js';
import { sanitizeLine } from '../client/sanitize.js';
import { configDir, stateDir, type ClientSession } from '../client/session.js';
import type { Connection } from '../client/socket.js';
import { asksTerminal, detectImageProtocol, imageMode, imagesSettingProblem, KittyPictures } from './image.js';
import { CellPictures, DEFAULT_CELL } from './cell-pictures.js';
import { probeTerminal } from './probe.js';
import { App } from './App.js';
import { ErrorBoundary } from './ErrorBoundary.js';
import { Login } from './Login.js';
import { tuiLogger } from './log.js';
import { rememberNames } from '../client/names-cache.js';
import { hyperlinks } from './links.js';
import { loadSettings } from './settings.js';

/** The alternate screen, with bracketed paste (a paste arrives marked, as one draft). */
const ALT_SCREEN_ON = '\u001b[?1049h\u001b[?2004h\u001b[?1004h';
const ALT_SCREEN_OFF = '\u001b[?1004l\u001b[?2004l\u001b[?1049l\u001b[?25h';
/** Mouse reports (button events, SGR encoding), when the settings turn the mouse on. */
const MOUSE_ON = '\u001b[?1000h\u001b[?1006h';
const MOUSE_OFF = '\u001b[?1006l\u001b[?1000l';
/** Erase Saved Lines: clears the terminal's scrollback, which is the user's, never ours to clear. */
const CLEAR_SCROLLBACK = '\u001b[3J';

/** ink's eraseLines(n) before a frame: ESC[2K (ESC[1A ESC[2K)* ESC[G. */
const ERASE_PREFIX = /^(?:\u001b\[2K(?:\u001b\[1A)?)*(?:\u001b\[G)?/;
/** Synchronised-output brackets some terminals get around a frame. */
const SYNC = /\u001b\[\?2026[hl]/g;
const CONTROL_ONLY = /^(?:\u001b\[[0-9;?]*[A-Za-z])+$/;

/**
 * stdout as ink sees it. Ink rewrites the whole frame on every render (and clears the terminal,
 * scrollback included, with ESC[3J when a frame fills it). On the alternate screen the frame
 * always starts at the top-left, so this writes only the rows that changed, each addressed
 * directly, and never clears the scrollback. `repaint()` draws the next frame whole (after
 * $EDITOR had the screen). With `cells` (sixel or iTerm2 pictures), picture cells are written as
 * blanks and the pictures drawn over them (cell-pictures.ts).
 */
export function framedStdout(out: NodeJS.WriteStream, cells?: CellPictures): { stream: NodeJS.WriteStream; repaint(): void } {
  let prev: string[] | null = null;
  const frame = (text: string) => {
    const lines = (text.endsWith('\n') ? text.slice(0, -1) : text).split('\n');
    let buf = '';
    const written = new Set<number>();
    for (let i = 0; i < lines.length; i++) {
      if (prev?.[i] === lines[i]) continue;
      buf += `\u001b[${i + 1};1H${cells ? cells.blank(lines[i]!) : lines[i]}\u001b[K`;
      written.add(i);
    }
    for (let i = lines.length; i < (prev?.length ?? 0); i++) buf += `\u001b[${i + 1};1H\u001b[K`;
    // Sixel and iTerm2 pictures over their (blank) cells, where this frame wrote over them.
    if (cells) buf += cells.draw(lines, written, out.rows);
    prev = lines;
    // Where ink believes the cursor is: below its frame.
    return buf + `\u001b[${lines.length + 1};1H`;
  };
  const rewrite = (chunk: string): string => {
    chunk = chunk.replaceAll(CLEAR_SCROLLBACK, '').replace(SYNC, '');
    if (chunk === '' || CONTROL_ONLY.test(chunk)) return chunk;
    const clear = chunk.indexOf('\u001b[2J');
    if (clear >= 0) {
      // Ink's clear-and-redraw (a frame as tall as the terminal, after a shrink): keep it whole.
      prev = null;
      return chunk.slice(0, clear) + '\u001b[2J\u001b[H' + frame(chunk.slice(clear).replace(/^\u001b\[2J(?:\u001b\[H)?/, ''));
    }
    return frame(chunk.replace(ERASE_PREFIX, ''));
  };
  const stream = new Proxy(out, {
    get(target, prop) {
      if (prop === 'write') {
        return (chunk: unknown, ...rest: unknown[]) => (target.write as (...a: unknown[]) => boolean)(typeof chunk === 'string' ? rewrite(chunk) : chunk, ...rest);
      }
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { stream, repaint: () => { prev = null; } };
}

/** Opens the interactive interface; resolves when the user quits, with the terminal restored. */
export async function runTui(ctx: ClientSession, opts: { quiet?: boolean } = {}): Promise<void> {
  const log = await tuiLogger(stateDir(ctx.env));
  log('tui started', { server: ctx.server, pid: process.pid });
  const noColor = 'NO_COLOR' in ctx.env && ctx.env.NO_COLOR !== '';
  const { settings, problems, file: settingsFile } = loadSettings(configDir(ctx.env), ctx.env);
  log('settings', { file: settingsFile, settings, problems });
  // Images as pictures where the terminal draws them (kitty's protocol, iTerm2's, or sixel when
  // the terminal says so when asked), half blocks elsewhere where colours are on (CHAT_IMAGES
  // forces one or turns them off); the mode and what was detected go to the log.
  const colours = !(noColor || settings.theme === 'none');
  const imagesProblem = imagesSettingProblem(ctx.env);
  if (imagesProblem) problems.push(imagesProblem);
  const facts = asksTerminal(ctx.env, !colours) ? await probeTerminal(process.stdin, process.stdout) : undefined;
  const imagesAs = imageMode(ctx.env, !colours, facts?.sixel);
  const images = imagesAs !== 'off';
  // kitty's pictures go to the terminal itself, never into a frame, and are deleted when the TUI
  // quits; sixel and iTerm2 pictures are drawn by the frame writer over their cells.
  const cells = imagesAs === 'sixel' || imagesAs === 'iterm2' ? new CellPictures(imagesAs, facts?.cell ?? DEFAULT_CELL) : undefined;
  const pictures = imagesAs === 'kitty' ? new KittyPictures((s) => process.stdout.write(s)) : cells;
  log('images', { mode: imagesAs, terminalProtocol: detectImageProtocol(ctx.env), asked: facts });
  const server = ctx.server;
  const loggedIn = ctx.username !== undefined || ctx.env.CHAT_TOKEN !== undefined;
  let me = ctx.username ?? '';
  if (loggedIn && !me) me = (await ctx.api().whoami()).username;

  // The mouse: the settings file's "mouse": true, or CHAT_MOUSE=on|off.
  const mouse = ctx.env.CHAT_MOUSE === 'on' || (ctx.env.CHAT_MOUSE !== 'off' && settings.mouse);
  const screenOn = ALT_SCREEN_ON + (mouse ? MOUSE_ON : '');
  const screenOff = (mouse ? MOUSE_OFF : '') + ALT_SCREEN_OFF;
  const restore = () => process.stdout.write((pictures?.clear() ?? '') + screenOff);
  process.stdout.write(screenOn);
  process.once('exit', restore);

  const screen = framedStdout(process.stdout, cells);
  let instance: ReturnType<typeof render> | undefined;
  // $EDITOR: give the terminal to the editor, then take it back. Returns the text (null when the
  // editor is unset); throws, saying what failed, when the editor cannot run or exits with an error.
  const runEditor = (text: string): string | null => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'chat-')), 'message.txt');
    fs.writeFileSync(file, text, { mode: 0o600 });
    // A command line, split as a shell would but run without one (see splitCommandLine).
    let argv: string[];
    try {
      argv = splitCommandLine(ctx.env.VISUAL || ctx.env.EDITOR || 'vi');
    } catch {
      argv = [];
    }
    if (argv.length === 0) {
      fs.rmSync(path.dirname(file), { recursive: true, force: true });
      throw new Error('VISUAL or EDITOR is not a command line');
    }
    // The editor gets the normal screen (it may switch to its own alternate screen and back);
    // then ours is entered again, cleared, and ink draws the whole frame anew.
    process.stdout.write(screenOff);
    process.stdin.setRawMode?.(false);
    const r = spawnSync(argv[0]!, [...argv.slice(1), file], { stdio: 'inherit' });
    process.stdin.setRawMode?.(true);
    process.stdout.write(`${screenOn}\u001b[2J`);
    // The next frame is drawn whole even if it is the same as the last one (ink skips a frame it
    // has drawn, and the editor's screen or a blank one is what the terminal shows now).
    screen.repaint();
    instance?.clear();
    try {
      const name = sanitizeLine(argv[0]!);
      const e = r.error as NodeJS.ErrnoException | undefined;
      if (e) throw new Error(e.code === 'ENOENT' ? `editor "${name}" not installed (set VISUAL or EDITOR)` : `editor "${name}" could not run: ${e.code ?? e.message}`);
      if (r.status !== 0) throw new Error(r.signal ? `editor "${name}" killed (${r.signal})` : `editor "${name}" exited with status ${r.status}`);
      return fs.readFileSync(file, 'utf8');
    } finally {
      fs.rmSync(path.dirname(file), { recursive: true, force: true });
    }
  };

  // Notifications: the bell, plus a desktop notification where the terminal takes OSC 9 / OSC 777
  // (CHAT_NOTIFY=bell|desktop|off; --quiet turns them off). Only a name and the kind go out,
  // never the message text, and nothing untrusted reaches the escape sequence raw.
  const mode = opts.quiet ? 'off' : (ctx.env.CHAT_NOTIFY ?? 'desktop');
  const notify = mode === 'off' ? undefined : (m: Message) => {
    const who = sanitizeLine(m.kind === 'ai' ? 'AI' : m.from).replace(/[^\x20-\x7e]/g, '?').replace(/;/g, ',');
    const desktop = mode === 'desktop' ? `\u001b]9;chat: message from ${who}\u0007\u001b]777;notify;chat;message from ${who}\u0007` : '';
    process.stdout.write(`\u0007${desktop}`);
  };

  // The socket client loads before the first frame when logged in, or right after the login form.
  let conn: Connection | null = loggedIn ? await ctx.connect() : null;
  function Root() {
    const [ready, setReady] = useState(conn !== null);
    if (!ready) {
      const onDone = (r: AuthResult) => {
        me = r.user.username;
        ctx.saveLogin(server, r).then(() => ctx.connect()).then((c) => { conn = c; setReady(true); }, (err: Error) => log('could not save the login', err));
      };
      return <Login server={server} onDone={onDone} />;
    }
    return <App api={ctx.api()} conn={conn!} me={me} server={server} noColor={noColor} log={log} runEditor={runEditor} notify={notify} images={images} pictures={pictures} links={hyperlinks(ctx.env)} settings={settings} settingsProblems={problems} env={ctx.env} remember={(n) => rememberNames(ctx.env, n)} />;
  }

  // Anything a library prints goes to the log file: a line on the screen would push the frame
  // up and leave the incremental renderer drawing over the wrong rows.
  const consoleWas = { ...console };
  for (const level of ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const) console[level] = (...args: unknown[]) => log(`console.${level}`, args.map(String).join(' '));
  instance = render(<ErrorBoundary log={log}><Root /></ErrorBoundary>, { exitOnCtrlC: false, patchConsole: false, stdout: screen.stream });
  try {
    await instance.waitUntilExit();
  } finally {
    Object.assign(console, consoleWas);
    restore();
    process.off('exit', restore);
  }
}
