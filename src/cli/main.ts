import { Command, CommanderError, Option } from 'commander';
import { ChatError } from '../protocol/errors.js';
import { sanitize } from '../client/sanitize.js';
import { quietOnClosedPipe } from '../shared/pipe.js';
import { Context, processIO, type GlobalOptions, type IO } from './context.js';
import { EXIT, UsageError, exitCodeFor } from './errors.js';
import { completionScript } from './completion.js';
import { VERSION } from '../shared/version.js';
import { register as registerAuth } from './commands/auth.js';
import { register as registerFriends } from './commands/friends.js';
import { register as registerGroup } from './commands/group.js';
import { register as registerMessages } from './commands/messages.js';
import { register as registerToken } from './commands/token.js';
import { register as registerSearch } from './commands/search.js';
import { register as registerFiles } from './commands/files.js';
import { register as registerAdmin } from './commands/admin.js';
import { register as registerInfra } from './commands/infra.js';

export function buildProgram(io: IO): Command {
  const program = new Command('chat')
    .description('terminal chat: scriptable commands; exit codes 0 ok, 1 error, 2 usage, 4 authentication')
    .addOption(new Option('--server <url>', 'chatd URL (env CHAT_SERVER; remembered after login)'))
    // Accepted before the command too; listed on each command that prints data (not on those that
    // print none, such as tui), and in this help's own text below.
    .addOption(new Option('--json', 'print data as JSON').hideHelp())
    .addHelpText('after', '\nGlobal options also taken after the command:\n  --json           print data as JSON (every command that prints data)\n  --server <url>   chatd URL\n\nExit codes: 0 ok, 1 error, 2 usage, 4 authentication.')
    .version(VERSION, '-V, --version', 'print the version')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) })
    // Every subcommand's help lists the options it inherits (--server, --json).
    .configureHelp({ showGlobalOptions: true })
    // A typo gets commander's "Did you mean …?" and a pointer, not the whole help.
    .showHelpAfterError('(chat --help lists the commands)');
  let ctx: Context | undefined;
  const context = () => (ctx ??= new Context(program.opts<GlobalOptions>(), io));
  registerAuth(program, context);
  registerFriends(program, context);
  registerGroup(program, context);
  registerMessages(program, context);
  registerSearch(program, context);
  registerFiles(program, context);
  registerToken(program, context);
  registerAdmin(program, context);
  registerInfra(program, context);
  program.command('tui').description('open the terminal interface (also: chat with no arguments on a terminal)')
    .option('--quiet', 'no bell and no desktop notifications (CHAT_NOTIFY=off does the same)')
    .action(async (o: { quiet?: boolean }) => {
    // ink reads CI/CONTINUOUS_INTEGRATION once, at import, and then draws nothing until exit.
    // The TUI is interactive by definition (it needs a terminal), so a CI variable
    // inherited from the environment must not blank it.
    if (process.stdout.isTTY) { delete process.env.CI; delete process.env.CONTINUOUS_INTEGRATION; }
    // Loaded lazily so scripted commands never pay for ink and React.
    const { runTui } = await import('../tui/index.js');
    await runTui(context(), o);
  });
  // --json is accepted after the subcommand too: `chat history bob --json`.
  const addJson = (c: Command) => {
    for (const sub of c.commands) {
      // The TUI, shell completion and infra print no data.
      if (['tui', 'completion', 'infra'].includes(sub.name())) continue;
      if (sub.commands.length > 0) addJson(sub);
      else sub.option('--json', 'print data as JSON').hook('preAction', (_t, action) => {
        if (action.opts().json) program.setOptionValue('json', true);
      });
    }
  };
  addJson(program);
  program.command('completion <shell>').description('print a completion script for bash, zsh or fish (e.g. source <(chat completion bash))')
    .action((shell: string) => {
      if (shell !== 'bash' && shell !== 'zsh' && shell !== 'fish') throw new UsageError(`completion: bash, zsh or fish, not ${JSON.stringify(shell)}`);
      io.out(completionScript(program, shell));
    });
  return program;
}

/** Runs the CLI and returns the exit code; only this function maps errors to codes. */
export async function run(argv: string[], io: IO = processIO()): Promise<number> {
  const program = buildProgram(io);
  if (argv.length <= 2) {
    if (io.stdin.isTTY && process.stdout.isTTY) argv = [...argv, 'tui'];
    else {
      // No terminal for the TUI and no command: a usage error, as a command group without its subcommand is.
      program.outputHelp({ error: true });
      return EXIT.usage;
    }
  }
  try {
    await program.parseAsync(argv);
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0) return EXIT.ok;
      return EXIT.usage;
    }
    const code = exitCodeFor(err);
    if (err instanceof ChatError) {
      // With CHAT_TOKEN, logging in would not help: the token itself was refused.
      const viaToken = Boolean(io.env.CHAT_TOKEN);
      const hint = code !== EXIT.auth || err.code === 'CHAT_ERR_INVALID_CREDENTIALS' || err.code === 'CHAT_ERR_ACCOUNT_DISABLED' || /chat login/.test(err.message) ? ''
        : viaToken ? ' (the API token in CHAT_TOKEN was refused: create another with "chat token create", or unset CHAT_TOKEN)' : ' (run "chat login")';
      const retry = err.retryAfterMs ? ` (retry in ${Math.ceil(err.retryAfterMs / 1000)} s)` : '';
      io.err(`chat: ${err.code}: ${sanitize(err.message)}${retry}${hint}\n`);
    } else if (err instanceof UsageError) {
      io.err(`chat: usage: ${sanitize(err.message)}\n`);
    } else {
      io.err(`chat: ${sanitize((err as Error).message ?? String(err))}\n`);
    }
    return code;
  }
}

export async function main(argv: string[]) {
  quietOnClosedPipe();
  const code = await run(argv);
  process.exitCode = code;
  // Sockets and timers may linger; a CLI command is done once it returns and its output is flushed.
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}
