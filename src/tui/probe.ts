/**
 * Asking the terminal what it draws, before the TUI takes the screen: XTWINOPS 16 (a character
 * cell's size in pixels, `ESC[6;height;widtht`) and then Primary Device Attributes (`ESC[?…c`,
 * where 4 among the attributes means sixel graphics). Every terminal answers the second, and in
 * order, so its answer ends the wait; a terminal that answers neither costs the timeout.
 */

export interface TerminalFacts {
  /** The terminal draws sixel images. */
  sixel: boolean;
  /** A cell's size in pixels, when the terminal said. */
  cell?: { width: number; height: number };
  /** It answered at all (within the timeout). */
  answered: boolean;
}

export const PROBE = '\x1b[16t\x1b[c';
const CELL_REPLY = /\x1b\[6;(\d{1,4});(\d{1,4})t/;
const DA1_REPLY = /\x1b\[\?([0-9;]*)c/;

/**
 * The facts in what the terminal sent back so far, and what else came in (keys typed meanwhile),
 * which goes back to the input; `done` once the attributes arrived.
 */
export function parseReplies(input: string): { facts: TerminalFacts; rest: string; done: boolean } {
  const da = DA1_REPLY.exec(input);
  const size = CELL_REPLY.exec(input);
  const facts: TerminalFacts = { sixel: false, answered: da !== null };
  if (da) facts.sixel = da[1]!.split(';').includes('4');
  if (size) {
    const height = Number(size[1]);
    const width = Number(size[2]);
    if (width >= 2 && height >= 4) facts.cell = { width, height };
  }
  const rest = input.replace(CELL_REPLY, '').replace(DA1_REPLY, '');
  return { facts, rest, done: da !== null };
}

/**
 * Asks the terminal on `stdin`/`stdout` (TTYs only: nothing is asked of a pipe) and waits at most
 * `timeoutMs` for its answers. Whatever else arrived is put back for the TUI to read.
 */
export function probeTerminal(stdin: NodeJS.ReadStream, stdout: NodeJS.WriteStream, timeoutMs = 500): Promise<TerminalFacts> {
  if (!stdin.isTTY || !stdout.isTTY) return Promise.resolve({ sixel: false, answered: false });
  return new Promise((resolve) => {
    let got = '';
    const wasRaw = stdin.isRaw;
    const finish = () => {
      clearTimeout(timer);
      stdin.off('data', onData);
      stdin.pause();
      stdin.setRawMode(wasRaw);
      const { facts, rest } = parseReplies(got);
      if (rest) stdin.unshift(Buffer.from(rest, 'latin1'));
      resolve(facts);
    };
    const onData = (b: Buffer) => {
      got += b.toString('latin1');
      if (parseReplies(got).done) finish();
    };
    const timer = setTimeout(finish, timeoutMs);
    stdin.setRawMode(true);
    stdin.on('data', onData);
    stdin.resume();
    stdout.write(PROBE);
  });
}
