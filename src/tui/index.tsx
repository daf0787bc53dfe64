import React, { useState } from 'react';
import { render } from 'ink';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AuthResult } from '../protocol/index.js';
import type { Context } from '../cli/context.js';
import { App } from './App.js';
import { ErrorBoundary } from './ErrorBoundary.js';
import { Login } from './Login.js';
import { fileLogger } from './log.js';

const ALT_SCREEN_ON = '\u001b[?1049h';
const ALT_SCREEN_OFF = '\u001b[?1049l\u001b[?25h';

/** Opens the interactive interface; resolves when the user quits, with the terminal restored. */
export async function runTui(ctx: Context): Promise<void> {
  const log = fileLogger(path.join(ctx.dir, 'tui.log'));
  const noColor = 'NO_COLOR' in ctx.io.env && ctx.io.env.NO_COLOR !== '';
  const server = ctx.server;
  let loggedIn = ctx.username !== undefined || ctx.io.env.CHAT_TOKEN !== undefined;
  let me = ctx.username ?? '';
  if (loggedIn && !me) me = (await ctx.api().whoami()).username;

  const restore = () => process.stdout.write(ALT_SCREEN_OFF);
  process.stdout.write(ALT_SCREEN_ON);
  process.once('exit', restore);

  // $EDITOR: give the terminal to the editor, then take it back.
  let instance: ReturnType<typeof render> | undefined;
  const runEditor = (text: string): string | null => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'chat-')), 'message.txt');
    fs.writeFileSync(file, text, { mode: 0o600 });
    const editor = ctx.io.env.VISUAL || ctx.io.env.EDITOR || 'vi';
    process.stdin.setRawMode?.(false);
    const r = spawnSync(editor, [file], { stdio: 'inherit', shell: true });
    process.stdin.setRawMode?.(true);
    instance?.clear();
    const out = r.status === 0 ? fs.readFileSync(file, 'utf8') : null;
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
    return out;
  };

  function Root() {
    const [ready, setReady] = useState(loggedIn);
    if (!ready) {
      return <Login server={server} onDone={(r: AuthResult) => { ctx.saveLogin(server, r); me = r.user.username; loggedIn = true; setReady(true); }} />;
    }
    return <App api={ctx.api()} conn={ctx.connect()} me={me} server={server} noColor={noColor} log={log} runEditor={runEditor} />;
  }

  instance = render(<ErrorBoundary log={log}><Root /></ErrorBoundary>, { exitOnCtrlC: false, patchConsole: true });
  try {
    await instance.waitUntilExit();
  } finally {
    restore();
    process.off('exit', restore);
  }
}
