import type { AuthResult } from '../protocol/types.js';
import { ApiClient } from '../client/api.js';
import { UsageError } from './errors.js';
import type { ConnectOptions, Connection } from '../client/socket.js';
import { safeJson, sanitize } from '../client/sanitize.js';
import { CredentialStore, configDir, type ClientSession } from '../client/session.js';

export const DEFAULT_SERVER = 'http://127.0.0.1:3000';

export interface GlobalOptions {
  server?: string;
  json?: boolean;
}

/** Where output goes; tests pass their own. */
export interface IO {
  out: (s: string) => void;
  err: (s: string) => void;
  /** stderr is a terminal: progress bars go there (never into pipes or logs). */
  errTTY?: boolean;
  stdin: NodeJS.ReadStream;
  env: NodeJS.ProcessEnv;
}

export const processIO = (): IO => ({
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
  errTTY: process.stderr.isTTY === true,
  stdin: process.stdin,
  env: process.env,
});

/** Everything a command needs: output, the credential store and clients. */
export class Context implements ClientSession {
  readonly dir: string;
  private readonly creds: CredentialStore;

  constructor(readonly opts: GlobalOptions, readonly io: IO) {
    this.dir = configDir(io.env);
    this.creds = new CredentialStore(this.dir, io.env);
  }

  private get stored() {
    return this.creds.stored;
  }

  private get file() {
    return this.creds.file;
  }

  get env() {
    return this.io.env;
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

  saveLogin(server: string, r: AuthResult) {
    return this.creds.save(server, r);
  }

  storedRefreshToken() {
    return this.stored.refreshToken;
  }

  clearLogin() {
    return this.creds.clear();
  }

  credentials() {
    return this.creds.credentials(this.io.env.CHAT_TOKEN, () => this.server);
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
