import { Command, CommanderError } from 'commander';
import { ConfigError, FIELDS, defaultConfigFile, describeConfig, describeSecretOrigins, errorConcerns, loadConfig, type ConfigKey } from './config.js';
import { createDaemon } from './daemon.js';
import { createLogger } from './logger.js';
import { createDeployment } from './deployments/index.js';
import { quietOnClosedPipe } from '../shared/pipe.js';
import { VERSION } from '../shared/version.js';

interface StartFlags { host?: string; port?: string; dataDir?: string; envFile?: string }

function flagsOf(o: StartFlags): Partial<Record<ConfigKey, unknown>> {
  return { host: o.host, port: o.port, dataDir: o.dataDir };
}

async function start(o: StartFlags) {
  // Everything chatd creates (database, WAL, secrets, backups) is for its own user only.
  process.umask(0o077);
  const loaded = loadConfig({ flags: flagsOf(o), envFile: o.envFile, persistSecrets: true });
  const { config } = loaded;
  const log = createLogger(config.logLevel);
  for (const w of loaded.warnings) log.warn(w);
  const daemon = createDaemon(config, { log });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    daemon.close().then(() => process.exit(0), (err) => {
      log.error({ err }, 'shutdown failed');
      process.exit(1);
    });
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  try {
    const { url } = await daemon.start();
    // For the person who started it (the JSON log on stdout is for machines).
    const secrets = describeSecretOrigins(loaded);
    const data = config.deployment === 'embedded' ? `data in ${config.dataDir}` : 'data in mongodb';
    process.stderr.write(`chatd: listening on ${url}; ${data}; ${secrets}\n`);
  } catch (err) {
    await daemon.close().catch(() => {});
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE') process.stderr.write(`chatd: port ${config.port} on ${config.host} is in use; choose another with --port (or PORT)\n`);
    else if (e.code === 'EACCES') process.stderr.write(`chatd: not allowed to listen on ${config.host}:${config.port}; choose a port above 1023 with --port\n`);
    else {
      log.error({ err }, 'chatd failed to start');
      process.stderr.write(`chatd: cannot start: ${e.message}\n`);
    }
    process.exit(1);
  }
}

/**
 * Prints every setting, its value and where it came from; when the configuration is invalid it
 * still prints what it can, each problem beside its setting (and the others after), and exits 2.
 */
function printConfig(o: StartFlags & { json?: boolean }) {
  const loaded = loadConfig({ flags: flagsOf(o), envFile: o.envFile, persistSecrets: false, collect: true });
  const rows = describeConfig(loaded);
  const configFile = loaded.configFile ?? null;
  const specs = Object.entries(FIELDS) as [string, { env: string; flag?: string }][];
  const unplaced = loaded.errors.filter((e) => !specs.some(([key, spec]) => errorConcerns(e, key, spec)));
  if (o.json) {
    process.stdout.write(JSON.stringify({ configFile, defaultConfigFile: defaultConfigFile(), envFile: loaded.envFile ?? null, valid: loaded.errors.length === 0, settings: rows, errors: unplaced.map((e) => ({ setting: e.setting, error: e.reason })), warnings: loaded.warnings }, null, 2) + '\n');
  } else {
    process.stdout.write(`# config file: ${configFile ?? `none (${defaultConfigFile()} does not exist; CHAT_CONFIG_FILE names another)`}\n`);
    process.stdout.write(`# env file: ${loaded.envFile ?? 'none (only with --env-file)'}\n`);
    const w = Math.max(...rows.map((r) => r.env.length));
    for (const r of rows) process.stdout.write(`${r.env.padEnd(w)}  ${r.value}  (${r.source})${r.error ? `  ✗ ${r.error}` : ''}\n`);
    for (const e of unplaced) process.stdout.write(`✗ ${e.setting}: ${e.reason}\n`);
    for (const warning of loaded.warnings) process.stdout.write(`! ${warning}\n`);
  }
  if (loaded.errors.length > 0) {
    for (const e of loaded.errors) process.stderr.write(`chatd: ${e.message}\n`);
    process.exitCode = 2;
  }
}

/** Verifies the configuration and connectivity to every configured engine, then exits (0 all ok, 1 otherwise). */
async function check(o: StartFlags) {
  const loaded = loadConfig({ flags: flagsOf(o), envFile: o.envFile, persistSecrets: false });
  const { config } = loaded;
  for (const w of loaded.warnings) process.stdout.write(`warn ${w}\n`);
  const log = createLogger('silent');
  const deployment = createDeployment(config, log);
  const kinds: Record<string, string> = deployment.engines;
  let ok = true;
  const started = [];
  for (const [role, part] of deployment.parts()) {
    const kind = kinds[role] ?? role;
    const t0 = Date.now();
    try {
      started.push(part);
      await withTimeout(part.start(), 20_000, `${kind} did not answer in 20 s`);
      const h = await part.health();
      ok &&= h.ok;
      process.stdout.write(`${h.ok ? 'ok  ' : 'FAIL'} ${role}: ${h.kind}${h.detail ? ` (${h.detail})` : ''} ${Date.now() - t0} ms\n`);
    } catch (err) {
      ok = false;
      process.stdout.write(`FAIL ${role}: ${kind}: ${(err as Error).message}\n`);
    }
  }
  for (const part of started.reverse()) await withTimeout(part.close(), 5000, 'close').catch(() => {});
  process.exit(ok ? 0 : 1);
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([p, new Promise<T>((_, reject) => { t = setTimeout(() => reject(new Error(what)), ms); })]).finally(() => clearTimeout(t));
}

export async function main(argv: string[]) {
  quietOnClosedPipe();
  const program = new Command('chatd').description('chat server daemon').version(VERSION, '-V, --version', 'print the version').exitOverride();
  const common = (c: Command) => c
    .option('--host <host>', 'address to listen on (HOST)')
    .option('--port <port>', 'TCP port, 0 for any (PORT)')
    .option('--data-dir <dir>', 'data directory (CHAT_DATA_DIR)')
    .option('--env-file <file>', 'read settings from this env file (KEY=value lines; the environment overrides it); none is read otherwise');
  common(program.command('start').description('run the server')).action(start);
  common(program.command('config').description('print the effective configuration and where each value came from'))
    .option('--json', 'print JSON')
    .action(printConfig);
  common(program.command('check').description('verify the configuration and connectivity to every configured engine, then exit')).action(check);
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`chatd: ${err.message}\n`);
      process.exit(2);
    }
    if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
    process.stderr.write(`chatd: ${(err as Error).message}\n`);
    process.exit(1);
  }
}
