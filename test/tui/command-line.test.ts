import { describe, expect, it } from 'vitest';
import { splitCommandLine } from '../../src/tui/command-line.js';

describe('$EDITOR as a command line, split without a shell', () => {
  it('splits words, keeps quoted spaces, and takes escapes', () => {
    expect(splitCommandLine('vi')).toEqual(['vi']);
    expect(splitCommandLine('  code   --wait ')).toEqual(['code', '--wait']);
    expect(splitCommandLine('"/opt/My Editor/edit" -n')).toEqual(['/opt/My Editor/edit', '-n']);
    expect(splitCommandLine("emacs -nw --eval '(setq x \"y\")'")).toEqual(['emacs', '-nw', '--eval', '(setq x "y")']);
    expect(splitCommandLine('a\\ b "c\\"d" e\'\'f')).toEqual(['a b', 'c"d', 'ef']);
    expect(splitCommandLine('""')).toEqual(['']);
  });
  it('never treats shell syntax as anything but text', () => {
    expect(splitCommandLine('vi; rm -rf ~')).toEqual(['vi;', 'rm', '-rf', '~']);
    expect(splitCommandLine('$(touch x) `id`')).toEqual(['$(touch', 'x)', '`id`']);
  });
  it('refuses an unclosed quote', () => {
    expect(() => splitCommandLine('"vi')).toThrow(/unclosed "/);
    expect(() => splitCommandLine("'vi")).toThrow(/unclosed '/);
  });
});
