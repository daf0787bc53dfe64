import type { Command } from 'commander';

import { NAMES_FILE } from '../client/names-cache.js';

/**
 * A command: its subcommands, long options, the options that take a value (long and short), and
 * what each positional argument is (the last one repeats when it is variadic).
 */
interface Node { path: string[]; subcommands: string[]; options: string[]; valueOptions: string[]; args: string[] }

/** What completes an argument, by its name: a friend or #group, a friend, a group handle, a role, a shell, a file, or nothing ('-'). */
function argKind(path: string[], name: string): string {
  if (name === 'to' || name === 'with') return 'target';
  // Group members are friends; `friends remove` takes one; elsewhere (add, accept, login, admin) a user may be anyone.
  if (name === 'user' || name === 'users') return path[0] === 'group' || (path[0] === 'friends' && path[1] === 'remove') ? 'friend' : '-';
  if (name === 'name' && path[0] === 'group' && path[1] !== 'create') return 'group';
  if (name === 'role' || name === 'shell') return name;
  return '-';
}

/** Every command of the tree, generated from commander. */
function walk(c: Command, path: string[] = [], inherited: Command['options'] = []): Node[] {
  const opts = [...inherited, ...c.options];
  const options = [...new Set([...opts.map((o) => o.long).filter((l): l is string => Boolean(l)), '--help'])];
  const valueOptions = [...new Set(opts.filter((o) => o.required || o.optional).flatMap((o) => [o.long, o.short]).filter((f): f is string => Boolean(f)))];
  const args = c.registeredArguments.map((a) => argKind(path, a.name()));
  const subs = c.commands.filter((s) => s.name() !== 'help');
  return [{ path, subcommands: subs.map((s) => s.name()), options, valueOptions, args }, ...subs.flatMap((s) => walk(s, [...path, s.name()], path.length === 0 ? c.options : inherited))];
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
  const q = (xs: string[]) => xs.join(' ');
  const cases = nodes.map((n) => `    '${n.path.join(' ')}') subs='${q(n.subcommands)}' opts='${q(n.options)}' vals='${q(n.valueOptions)}' args='${q(n.args)}' ;;`).join('\n');
  // Words are read from COMP_LINE (split at spaces only), so a URL's ':' does not cut a word in
  // two; an option that takes a value skips that value; a word that is no subcommand is an
  // argument, counted. Names come from the cache the CLI keeps (names-cache.ts), never the server.
  const bash = `_chat_node() {
  subs='' opts='' vals='' args=''
  case "$1" in
${cases}
  esac
}
_chat_names() {
  local f="\${CHAT_CONFIG_DIR:-\${XDG_CONFIG_HOME:-$HOME/.config}/chat}/${NAMES_FILE}" k n
  [ -r "$f" ] || return 0
  while read -r k n; do
    case "$1:$k" in
      friend:friend|target:friend) printf '%s\\n' "$n" ;;
      group:group) printf '%s\\n' "$n" ;;
      target:group) printf '%s\\n' "\\\\#$n" ;;
    esac
  done < "$f"
}
_chat() {
  # zsh (through bashcompinit): split words and index arrays as bash does.
  [ -n "\${ZSH_VERSION:-}" ] && emulate -L ksh
  local line="\${COMP_LINE:0:\$COMP_POINT}" cur='' pre cmdpath='' pos=0 skip=0 first=1 w subs opts vals args kind c prev='' cands
  case "$line" in *' ') pre="$line" ;; *) cur="\${line##* }"; pre="\${line%"$cur"}" ;; esac
  _chat_node ''
  for w in $pre; do
    if [ "$first" = 1 ]; then first=0
    elif [ "$skip" = 1 ]; then skip=0
    else
      case "$w" in
        -*) case "$w" in *=*) ;; *) case " $vals " in *" $w "*) skip=1 ;; esac ;; esac ;;
        *) case " $subs " in
             *" $w "*) cmdpath="\${cmdpath:+$cmdpath }$w"; pos=0; _chat_node "$cmdpath" ;;
             *) pos=$((pos+1)) ;;
           esac ;;
      esac
    fi
    prev="$w"
  done
  COMPREPLY=()
  if [ "$skip" = 1 ]; then
    # Paths by glob (zsh's compgen -f ignores the prefix).
    case "$prev" in --file|--output|-o|--env-file|--data-dir) for c in "$cur"*; do [ -e "$c" ] && COMPREPLY+=("$c"); done ;; esac
    return 0
  fi
  case "$cur" in
    -*) cands="$opts" ;;
    *)
      cands="$subs"
      kind=''
      set -- $args
      if [ $# -gt 0 ]; then
        for kind in "$@"; do :; done
        if [ "$pos" -lt $# ]; then shift "$pos"; kind="$1"; fi
      fi
      case "$kind" in
        target|friend|group) cands="$cands $(_chat_names "$kind")" ;;
        role) cands="$cands owner admin member" ;;
        shell) cands="$cands bash zsh fish" ;;
      esac ;;
  esac
  for c in $cands; do
    case "$c" in "$cur"*) COMPREPLY+=("$c") ;; esac
  done
  return 0
}
complete -F _chat chat
`;
  if (shell === 'zsh') return `# chat completion for zsh: source <(chat completion zsh)\nautoload -U +X bashcompinit && bashcompinit\n${bash}`;
  return `# chat completion for bash: source <(chat completion bash)\n${bash}`;
}
