import type Conf from 'conf';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ChatError } from '../protocol/errors.js';
import type { AuthResult } from '../protocol/types.js';
import { ApiClient, NOT_LOGGED_IN, staticCredentials, type Credentials } from '../client/api.js';
import { UsageError } from './errors.js';
import type { ConnectOptions, Connection } from '../client/socket.js';
import { safeJson, sanitize } from '../client/sanitize.js';

export const DEFAULT_SERVER = 'http://127.0.0.1:3000';

interface Stored {
  server?: string;
  username?: string;
  accessToken?: string;
  /** Epoch ms. */
  accessExpiresAt?: number;
  refreshToken?: string;
}

export interface GlobalOptions {
  server?: string;
  json?: boolean;
}

/** Where output goes; tests pass their own. */
export interface IO {
  out: (s: string) => void;
  err: (s: string) => void;
  stdin: NodeJS.ReadStream;
  env: NodeJS.ProcessEnv;
}

export const processIO = (): IO => ({
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
  stdin: process.stdin,
  env: process.env,
});

function configDir(env: NodeJS.ProcessEnv): string {
  if (env.CHAT_CONFIG_DIR) return path.resolve(env.CHAT_CONFIG_DIR);
  return path.join(env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config'), 'chat');
}

function sleep(ms: number) {
  return new Promise((r) => setTimeout(r, ms));
}

/** Everything a command needs: output, the credential store and clients. */
export class Context {
  readonly dir: string;
  private readonly file: string;
  private conf?: Promise<Conf<Stored>>;

  constructor(readonly opts: GlobalOptions, readonly io: IO) {
    this.dir = configDir(io.env);
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    fs.chmodSync(this.dir, 0o700);
    this.file = path.join(this.dir, 'credentials.json');
  }

  /** The stored credentials, read from disk each time (another chat process may have refreshed them). */
  private get stored(): Stored {
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

  get json() {
    return this.opts.json === true;
  }

  get server(): string {
    // Blame the setting the value came from.
    const [s, from] = this.opts.server !== undefined ? [this.opts.server, '--server']
      : this.io.env.CHAT_SERVER !== undefined ? [this.io.env.CHAT_SERVER, 'CHAT_SERVER']
        : [this.stored.server ?? DEFAULT_SERVER, `the server remembered in ${this.file}`];
    if (s === '') throw new UsageError(`${from} is empty: set it to chatd's URL (e.g. ${DEFAULT_SERVER}) or unset it`);
    try {
      const u = new URL(s);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http(s)');
      return u.origin;
    } catch {
      throw new UsageError(`${from} must be an http(s) URL, got ${JSON.stringify(s)}`);
    }
  }

  get username(): string | undefined {
    return this.stored.username;
  }

  /** Prints data: JSON when --json, else the human form. */
  print(data: unknown, human?: () => string) {
    if (this.json || !human) this.io.out(safeJson(data) + '\n');
    else {
      const text = human();
      if (text) this.io.out(sanitize(text) + (text.endsWith('\n') ? '' : '\n'));
    }
  }

  /**
   * The outcome of an action (sent, logged in, removed…): JSON on stdout with --json; otherwise a
   * sentence for people, on stderr, so stdout carries data only.
   */
  done(data: unknown, human: () => string) {
    if (this.json) this.io.out(safeJson(data) + '\n');
    else this.note(human());
  }

  /** A message for people, on stderr. */
  note(s: string) {
    this.io.err(sanitize(s) + '\n');
  }

  async saveLogin(server: string, r: AuthResult) {
    (await this.writer()).set({ server, username: r.user.username, accessToken: r.accessToken, accessExpiresAt: Date.now() + r.expiresIn * 1000, refreshToken: r.refreshToken });
  }

  storedRefreshToken() {
    return this.stored.refreshToken;
  }

  async clearLogin() {
    const conf = await this.writer();
    const server = conf.get('server');
    conf.clear();
    if (server) conf.set('server', server);
  }

  credentials(): Credentials {
    const apiToken = this.io.env.CHAT_TOKEN;
    if (apiToken) return staticCredentials(apiToken);
    const read = () => this.stored;
    return {
      token: async () => {
        const s = read();
        if (!s.accessToken) return undefined;
        if ((s.accessExpiresAt ?? 0) - Date.now() > 30_000) return s.accessToken;
        return this.refreshLocked(s.accessToken);
      },
      refresh: async () => this.refreshLocked(read().accessToken),
    };
  }

  /**
   * Refresh tokens rotate and a reused one revokes the session, so concurrent
   * chat processes sharing this config must not refresh twice: take a lock file,
   * re-read, and refresh only if nobody else already did.
   */
  private async refreshLocked(staleAccess: string | undefined): Promise<string> {
    const lock = path.join(this.dir, 'refresh.lock');
    const deadline = Date.now() + 15_000;
    for (;;) {
      try {
        fs.closeSync(fs.openSync(lock, 'wx', 0o600));
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        try {
          if (Date.now() - fs.statSync(lock).mtimeMs > 20_000) fs.rmSync(lock, { force: true });
        } catch { /* gone already */ }
        if (Date.now() > deadline) throw new ChatError('CHAT_ERR_UNAUTHENTICATED', `Could not lock ${lock}; remove it if no other chat process is running`);
        await sleep(50);
      }
    }
    try {
      const s = this.stored;
      if (s.accessToken && s.accessToken !== staleAccess && (s.accessExpiresAt ?? 0) - Date.now() > 30_000) return s.accessToken;
      if (!s.refreshToken) throw new ChatError('CHAT_ERR_UNAUTHENTICATED', NOT_LOGGED_IN);
      const server = s.server ?? this.server;
      let r: AuthResult;
      try {
        r = await new ApiClient(server).refresh(s.refreshToken);
      } catch (err) {
        if (err instanceof ChatError && err.code === 'CHAT_ERR_UNAVAILABLE') throw err;
        throw new ChatError('CHAT_ERR_UNAUTHENTICATED', `Session expired (${err instanceof ChatError ? err.code : 'refresh failed'}): run "chat login"`);
      }
      await this.saveLogin(server, r);
      return r.accessToken;
    } finally {
      fs.rmSync(lock, { force: true });
    }
  }

  api(): ApiClient {
    return new ApiClient(this.server, this.credentials());
  }

  /** A live socket (listen, the TUI); socket.io-client loads only for the commands that need one. */
  async connect(opts: ConnectOptions = {}): Promise<Connection> {
    const { connect } = await import('../client/socket.js');
    return connect(this.server, this.credentials(), opts);
  }
}
