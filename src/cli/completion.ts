import type { Command } from 'commander';

interface Node { path: string[]; subcommands: string[]; options: string[] }

/** Every command of the tree with its subcommands and long options, generated from commander. */
function walk(c: Command, path: string[] = [], inherited: string[] = []): Node[] {
  const own = c.options.map((o) => o.long).filter((l): l is string => Boolean(l));
  const options = [...new Set([...inherited, ...own, '--help'])];
  const subs = c.commands.filter((s) => s.name() !== 'help');
  return [{ path, subcommands: subs.map((s) => s.name()), options }, ...subs.flatMap((s) => walk(s, [...path, s.name()], path.length === 0 ? own : inherited))];
}

/** A completion script for bash, zsh (through bashcompinit) or fish. */
export function completionScript(program: Command, shell: 'bash' | 'zsh' | 'fish'): string {
  const nodes = walk(program);
  if (shell === 'fish') {
    const lines = ['# chat completion for fish: chat completion fish > ~/.config/fish/completions/chat.fish', 'complete -c chat -f'];
    for (const n of nodes) {
      const cond = n.path.length === 0 ? '__fish_use_subcommand' : `__fish_seen_subcommand_from ${n.path.at(-1)}`;
      for (const s of n.subcommands) lines.push(`complete -c chat -n '${cond}' -a '${s}'`);
      for (const o of n.options) lines.push(`complete -c chat -n '${n.path.length === 0 ? 'true' : cond}' -l '${o.slice(2)}'`);
    }
    return lines.join('\n') + '\n';
  }
  const cases = nodes.map((n) => `    '${n.path.join(' ')}') words='${[...n.subcommands, ...n.options].join(' ')}' ;;`).join('\n');
  const bash = `_chat() {
  local cur=\${COMP_WORDS[COMP_CWORD]} path='' w
  for w in "\${COMP_WORDS[@]:1:COMP_CWORD-1}"; do
    case "$w" in -*) ;; *) path="\${path:+$path }$w" ;; esac
  done
  local words=''
  case "$path" in
${cases}
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -F _chat chat
`;
  if (shell === 'zsh') return `# chat completion for zsh: source <(chat completion zsh)\nautoload -U +X bashcompinit && bashcompinit\n${bash}`;
  return `# chat completion for bash: source <(chat completion bash)\n${bash}`;
}
