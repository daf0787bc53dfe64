import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readPassword } from '../../src/cli/input.js';
import type { IO } from '../../src/cli/context.js';

/** A fake terminal: records when echo goes off and on, and what is shown, in one timeline; types `answers` as each prompt shows. */
function terminal(answers: string[]) {
  const events: string[] = [];
  const stdin = Object.assign(new PassThrough(), {
    isTTY: true,
    isRaw: false,
    setRawMode(mode: boolean) {
      events.push(mode ? 'echo off' : 'echo on');
      this.isRaw = mode;
      return this;
    },
  });
  const io: IO = {
    out: () => {},
    err: (s) => {
      events.push(`shown ${JSON.stringify(s)}`);
      // Typed the instant the prompt appears (a real terminal delivers it asynchronously; a
      // PassThrough would deliver it synchronously, inside this call).
      if (s.endsWith(': ')) {
        const typed = answers.shift();
        if (typed !== undefined) queueMicrotask(() => stdin.write(typed));
      }
    },
    stdin: stdin as unknown as NodeJS.ReadStream,
    env: {},
  };
  return { io, events };
}

describe('hidden password prompts', () => {
  it('stop the echo before the first prompt shows and restore it only after the last answer', async () => {
    const { io, events } = terminal(['s3cret-pw\r', 's3cret-pw\r']);
    expect(await readPassword(io, false, 'Choose a password: ', true)).toBe('s3cret-pw');
    expect(events).toEqual(['echo off', 'shown "Choose a password: "', 'shown "\\n"', 'shown "Repeat: "', 'shown "\\n"', 'echo on']);
  });

  it('refuse a repeat that differs, and still restore the echo', async () => {
    const { io, events } = terminal(['one-password\r', 'another-password\r']);
    await expect(readPassword(io, false, 'Choose a password: ', true)).rejects.toThrow(/passwords do not match/);
    expect(events.at(-1)).toBe('echo on');
    expect(events.filter((e) => e.startsWith('echo'))).toEqual(['echo off', 'echo on']);
  });

  it('ask once without confirmation', async () => {
    const { io, events } = terminal(['pw-123456\r']);
    expect(await readPassword(io, false)).toBe('pw-123456');
    expect(events).toEqual(['echo off', 'shown "Password: "', 'shown "\\n"', 'echo on']);
  });
});
