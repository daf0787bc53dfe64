import readline from 'node:readline';
import { Writable } from 'node:stream';
import { LIMITS } from '../protocol/limits.js';
import { NEW_HANDLE, NEW_USERNAME, USERNAME, normalizeHandle } from '../protocol/names.js';
import type { IO } from './context.js';
import { UsageError } from './errors.js';

export async function readAll(stdin: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Asks each prompt in turn on the terminal, without echo. The terminal stops echoing before the
 * first prompt shows and starts again only after the last answer: keys typed the moment a prompt
 * appears, or between two prompts, are never echoed. (The first version printed each prompt and
 * then muted the terminal, with echo back on between the two: a race a fast typist, or a loaded
 * machine, could lose.)
 */
function promptHidden(io: IO, prompts: string[]): Promise<string[]> {
  const muted = new Writable({ write: (_c, _e, cb) => cb() });
  // With terminal: true, readline puts the TTY in raw mode (no echo) here, synchronously.
  const rl = readline.createInterface({ input: io.stdin, output: muted, terminal: true });
  const answers: string[] = [];
  return new Promise((resolve) => {
    const ask = () => {
      io.err(prompts[answers.length]!);
      rl.question('', (answer) => {
        io.err('\n');
        answers.push(answer);
        if (answers.length < prompts.length) return ask();
        rl.close();
        resolve(answers);
      });
    };
    ask();
  });
}

/** A password from stdin (--password-stdin) or a hidden prompt on a TTY. */
/** A new password must pass the server's rules: checked here, so a short one is a usage error (exit 2). */
export function checkNewPassword(pw: string): string {
  if (pw.length < LIMITS.minPasswordLength) throw new UsageError(`password must be at least ${LIMITS.minPasswordLength} characters`);
  if (pw.length > LIMITS.maxPasswordLength) throw new UsageError(`password must be at most ${LIMITS.maxPasswordLength} characters`);
  return pw;
}

/** `confirm`: a new password (asked twice on a terminal, and checked against the rules). */
export async function readPassword(io: IO, fromStdin: boolean | undefined, prompt = 'Password: ', confirm = false): Promise<string> {
  if (fromStdin) {
    const text = (await readAll(io.stdin)).replace(/\r?\n$/, '');
    if (!text) throw new UsageError('no password on stdin');
    return confirm ? checkNewPassword(text) : text;
  }
  if (!io.stdin.isTTY) throw new UsageError('stdin is not a terminal: pass --password-stdin and pipe the password');
  const [pw, again] = await promptHidden(io, confirm ? [prompt, 'Repeat: '] : [prompt]);
  if (confirm && again !== pw) throw new UsageError('passwords do not match');
  return confirm ? checkNewPassword(pw!) : pw!;
}

/** A name to register: the username rules, and no leading - or . (it would read as an option). */
export function parseNewUsername(value: string): string {
  if (!NEW_USERNAME.test(value)) throw new UsageError(`invalid username ${JSON.stringify(value)}: 3-32 characters of a-z, 0-9, _ . - starting with a letter, a digit or _`);
  return value;
}

export function parseUsername(value: string): string {
  if (!USERNAME.test(value)) throw new UsageError(`invalid username ${JSON.stringify(value)}: 3-32 characters of a-z, 0-9, _ . -`);
  return value;
}

/** A group as people type it, `#ops` or `ops` (any case): returned as `#ops`. */
export function parseGroup(value: string): string {
  const h = normalizeHandle(value);
  if (!h) throw new UsageError(`invalid group ${JSON.stringify(value)}: # and 3-32 characters of a-z, 0-9, _ . -`);
  return `#${h}`;
}

/** A new group's handle: the new-username rules (no leading - or .), any case, with or without `#`. */
export function parseNewGroup(value: string): string {
  if (!NEW_HANDLE.test(value)) throw new UsageError(`invalid group name ${JSON.stringify(value)}: 3-32 characters of a-z, 0-9, _ . - starting with a letter, a digit or _`);
  return `#${normalizeHandle(value)}`;
}

/** Where a message goes or whose history: a username, or a group as `#name`. */
export function parseTarget(value: string): string {
  return value.startsWith('#') ? parseGroup(value) : parseUsername(value);
}

export function parseIntArg(name: string, min: number, max: number) {
  return (value: string): number => {
    if (!/^\d+$/.test(value)) throw new UsageError(`${name} must be a whole number, got ${JSON.stringify(value)}`);
    const n = Number(value);
    if (n < min || n > max) throw new UsageError(`${name} must be between ${min} and ${max}`);
    return n;
  };
}
