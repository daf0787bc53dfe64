import type Conf from 'conf';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ChatError } from '../protocol/errors.js';
import type { AuthResult } from '../protocol/types.js';
import { ApiClient, NOT_LOGGED_IN, staticCredentials, type Credentials } from './api.js';
import type { ConnectOptions, Connection } from './socket.js';
import lockfile from 'proper-lockfile';

interface Stored {
  server?: string;
  username?: string;
  accessToken?: string;
  /** Epoch ms. */
  accessExpiresAt?: number;
  refreshToken?: string;
}

/** `$CHAT_CONFIG_DIR`, or `$XDG_CONFIG_HOME/chat` (`~/.config/chat`). */
export function configDir(env: NodeJS.ProcessEnv): string {
  if (env.CHAT_CONFIG_DIR) return path.resolve(env.CHAT_CONFIG_DIR);
  return path.join(env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config'), 'chat');
}

/**
 * Where the TUI's log goes: `$CHAT_STATE_DIR`; else the config dir when `$CHAT_CONFIG_DIR` names
 * one (one identity, one folder); else `$XDG_STATE_HOME/chat` (`~/.local/state/chat`).
 */
export function stateDir(env: NodeJS.ProcessEnv): string {
  if (env.CHAT_STATE_DIR) return path.resolve(env.CHAT_STATE_DIR);
  if (env.CHAT_CONFIG_DIR) return configDir(env);
  return path.join(env.XDG_STATE_HOME || path.join(os.homedir(), '.local', 'state'), 'chat');
}

/**
 * The refresh lock of a config dir: in `$XDG_RUNTIME_DIR/chat` (memory, per login, cleared at
 * logout) when there is one, else beside the credentials. Named by the config dir, so every chat
 * process of that identity takes the same lock.
 */
export function refreshLockPath(env: NodeJS.ProcessEnv, dir: string): string {
  const runtime = env.XDG_RUNTIME_DIR;
  if (!runtime) return path.join(dir, 'refresh.lock');
  const id = createHash('sha256').update(dir).digest('hex').slice(0, 16);
  return path.join(runtime, 'chat', `refresh-${id}.lock`);
}

/**
 * A logged-in client as the CLI and the TUI use it: where its files live, the server, who is
 * logged in, and clients that refresh the session as needed.
 */
export interface ClientSession {
  readonly dir: string;
  readonly server: string;
  readonly username: string | undefined;
  readonly env: NodeJS.ProcessEnv;
  api(): ApiClient;
  connect(opts?: ConnectOptions): Promise<Connection>;
  saveLogin(server: string, r: AuthResult): Promise<void>;
}

/**
 * The credential file in the config dir (0600 in a 0700 dir), shared by every chat process of the
 * user: read from disk each time (another process may have refreshed it), written through conf
 * (atomic), and refreshed under a lock file.
 */
export class CredentialStore {
  readonly file: string;
  private conf?: Promise<Conf<Stored>>;

  readonly lock: string;

  constructor(readonly dir: string, env: NodeJS.ProcessEnv = process.env) {
    this.lock = refreshLockPath(env, dir);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.chmodSync(dir, 0o700);
    this.file = path.join(dir, 'credentials.json');
  }

  get stored(): Stored {
    try {
      return JSON.parse(fs.readFileSync(this.file, 'utf8')) as Stored;
    } catch {
      return {};
    }
  }

  /**
   * Writes go through conf (atomic, mode 0600). It and its schema validator load only when a
   * command writes (login, logout, a token refresh): reading is a JSON file, so `chat whoami`
   * and `chat send` start without them.
   */
  private writer(): Promise<Conf<Stored>> {
    return (this.conf ??= import('conf').then(({ default: ConfClass }) => new ConfClass<Stored>({ cwd: this.dir, configName: 'credentials', configFileMode: 0o600, projectName: 'chat' })));
  }

  async save(server: string, r: AuthResult) {
    (await this.writer()).set({ server, username: r.user.username, accessToken: r.accessToken, accessExpiresAt: Date.now() + r.expiresIn * 1000, refreshToken: r.refreshToken });
  }

  /** Forgets the login; the server is remembered. */
  async clear() {
    const conf = await this.writer();
    const server = conf.get('server');
    conf.clear();
    if (server) conf.set('server', server);
  }

  /** An API token (CHAT_TOKEN) as is; otherwise the stored session, refreshed when it nears expiry. */
  credentials(apiToken: string | undefined, server: () => string): Credentials {
    if (apiToken) return staticCredentials(apiToken);
    return {
      token: async () => {
        const s = this.stored;
        if (!s.accessToken) return undefined;
        if ((s.accessExpiresAt ?? 0) - Date.now() > 30_000) return s.accessToken;
        return this.refreshLocked(s.accessToken, server);
      },
      refresh: async () => this.refreshLocked(this.stored.accessToken, server),
    };
  }

  /**
   * Refresh tokens rotate and a reused one revokes the session, so concurrent chat processes
   * sharing this config must not refresh twice: take a lock file, re-read, and refresh only if
   * nobody else already did.
   */
  private async refreshLocked(staleAccess: string | undefined, serverOf: () => string): Promise<string> {
    // proper-lockfile: an atomic mkdir, its mtime kept fresh while held, taken over once stale
    // (a process killed while holding it), and released on exit.
    fs.mkdirSync(path.dirname(this.lock), { recursive: true, mode: 0o700 });
    let release: () => Promise<void>;
    try {
      release = await lockfile.lock(this.dir, { lockfilePath: this.lock, realpath: false, stale: 20_000, retries: { retries: 150, minTimeout: 25, maxTimeout: 100, factor: 1.2 } });
    } catch (err) {
      throw new ChatError('CHAT_ERR_UNAUTHENTICATED', `Could not lock ${this.lock} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); remove it if no other chat process is running`);
    }
    try {
      const s = this.stored;
      if (s.accessToken && s.accessToken !== staleAccess && (s.accessExpiresAt ?? 0) - Date.now() > 30_000) return s.accessToken;
      if (!s.refreshToken) throw new ChatError('CHAT_ERR_UNAUTHENTICATED', NOT_LOGGED_IN);
      const server = s.server ?? serverOf();
      let r: AuthResult;
      try {
        r = await new ApiClient(server).refresh(s.refreshToken);
      } catch (err) {
        if (err instanceof ChatError && err.code === 'CHAT_ERR_UNAVAILABLE') throw err;
        throw new ChatError('CHAT_ERR_UNAUTHENTICATED', `Session expired (${err instanceof ChatError ? err.code : 'refresh failed'}): run "chat login"`);
      }
      await this.save(server, r);
      return r.accessToken;
    } finally {
      await release().catch(() => {});
    }
  }
}
