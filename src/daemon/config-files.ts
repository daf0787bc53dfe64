import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseEnv } from 'node:util';

/** Thrown for invalid configuration; chatd exits 2 with this one line. */
export class ConfigError extends Error {
  constructor(readonly setting: string, readonly reason: string) {
    super(`invalid configuration: ${setting}: ${reason}`);
    this.name = 'ConfigError';
  }
}

/**
 * A file chatd takes settings or secrets from must be writable by nobody but its owner, and owned
 * by chatd's own user or root, as ssh demands of its keys: whoever can write it can set the JWT
 * secret and forge an admin's token. A file that is not there is left to its reader to report.
 */
export function assertNotWritableByOthers(file: string, setting: string) {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    return;
  }
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid && st.uid !== 0) {
    throw new ConfigError(setting, `refusing ${file}: it is owned by another user (uid ${st.uid}), who could change chatd's settings and secrets; chatd reads only files owned by its own user or root`);
  }
  if ((st.mode & 0o022) !== 0) {
    const who = (st.mode & 0o002) !== 0 ? 'every user' : 'its group';
    throw new ConfigError(setting, `refusing ${file}: it is writable by ${who} (mode ${(st.mode & 0o777).toString(8).padStart(3, '0')}), who could change chatd's settings and secrets; run chmod go-w ${file}`);
  }
}

export function readEnvFile(file: string | undefined): Record<string, string> {
  if (file === undefined) return {};
  assertNotWritableByOthers(file, '--env-file');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError('--env-file', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parseEnv(text) as Record<string, string>;
}

/** Where chatd looks for its config file when CHAT_CONFIG_FILE is not set: $XDG_CONFIG_HOME/chatd/config.json. */
export function defaultConfigFile(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME || path.join(env.HOME || os.homedir(), '.config');
  return path.join(base, 'chatd', 'config.json');
}

/**
 * The JSON config file, as an object keyed as in the file: its caller maps the names (a setting's
 * variable name, as `chatd config` prints it, or its key in src/daemon/config.ts) and reports
 * the ones it does not know.
 */
export function readConfigFile(file: string): Record<string, unknown> {
  assertNotWritableByOthers(file, 'CHAT_CONFIG_FILE');
  let raw: string;
  try {
    raw = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError('CHAT_CONFIG_FILE', `cannot read ${file}: ${(err as Error).message}`);
  }
  try {
    const parsed = JSON.parse(raw) as unknown;
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not a JSON object');
    return parsed as Record<string, unknown>;
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError('CHAT_CONFIG_FILE', `${file} is not valid JSON: ${(err as Error).message}`);
  }
}

/**
 * A systemd credential (`LoadCredential=gemini_api_key:/etc/...`): the file named `id` in
 * $CREDENTIALS_DIRECTORY, which systemd fills for this service alone. Undefined when there is no
 * such directory or file, or the file is empty (an empty credential is an unset setting); one
 * trailing newline is dropped.
 */
export function readCredential(dir: string | undefined, id: string): string | undefined {
  if (!dir) return undefined;
  const file = path.join(dir, id);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigError(`credential ${id}`, `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return secretText(text);
}

/** The contents of `X_FILE` (one trailing newline dropped); undefined when it is not set or the file is empty. Giving both X and X_FILE is an error. */
export function readSecretFile(envName: string, file: string | undefined, direct: string | undefined): string | undefined {
  if (file === undefined || file === '') return undefined;
  if (direct !== undefined && direct !== '') throw new ConfigError(`${envName}_FILE`, `give ${envName} or ${envName}_FILE, not both`);
  assertNotWritableByOthers(file, `${envName}_FILE`);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`${envName}_FILE`, `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return secretText(text);
}

/**
 * A secret file's value, one trailing newline dropped. An empty file is an unset setting, as an
 * empty variable is: a Secret's optional key (the Helm chart's gemini-api-key) is mounted as an
 * empty file when it is not given.
 */
function secretText(text: string): string | undefined {
  const value = text.replace(/\r?\n$/, '');
  return value === '' ? undefined : value;
}

export const SECRETS_FILE = 'secrets.json';

/** Reads or creates the generated secrets (mode 0600) in the data dir. */
export function loadSecrets(dataDir: string, persist: boolean): { jwtAccessSecret?: string; jwtRefreshSecret?: string } {
  const file = path.join(dataDir, SECRETS_FILE);
  assertNotWritableByOthers(file, 'CHAT_DATA_DIR');
  try {
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, string>;
    return { jwtAccessSecret: parsed.jwtAccessSecret, jwtRefreshSecret: parsed.jwtRefreshSecret };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new ConfigError('CHAT_DATA_DIR', `cannot read ${file}: ${(err as Error).message}`);
  }
  if (!persist) return {};
  const secrets = { jwtAccessSecret: crypto.randomBytes(48).toString('base64url'), jwtRefreshSecret: crypto.randomBytes(48).toString('base64url') };
  try {
    fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    fs.writeFileSync(file, JSON.stringify(secrets, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return loadSecrets(dataDir, false);
    throw new ConfigError('CHAT_DATA_DIR', `cannot write ${file}: ${(err as Error).message}`);
  }
  return secrets;
}
