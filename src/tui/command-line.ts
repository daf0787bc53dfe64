/**
 * Splits $EDITOR / $VISUAL the way a POSIX shell splits words, without running a shell: spaces
 * separate words; '…' keeps everything literally; "…" keeps spaces and takes \" \\ \$ \` as
 * escapes; a backslash outside quotes escapes the next character. So `code --wait` and
 * `"/opt/My Editor/bin/edit" -n` work, and nothing in the variable is ever run as shell code
 * (Node 24 deprecates passing arguments with `shell: true`, DEP0190). Throws on an unclosed quote.
 */
export function splitCommandLine(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new Error(`unclosed ' in ${JSON.stringify(line)}`);
      word += line.slice(i + 1, end);
      inWord = true;
      i = end;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < line.length && line[j] !== '"'; j++) {
        if (line[j] === '\\' && j + 1 < line.length && '"\\$`'.includes(line[j + 1]!)) j++;
        word += line[j];
      }
      if (j >= line.length) throw new Error(`unclosed " in ${JSON.stringify(line)}`);
      inWord = true;
      i = j;
    } else if (c === '\\' && i + 1 < line.length) {
      word += line[++i];
      inWord = true;
    } else if (c === ' ' || c === '\t' || c === '\n') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}
