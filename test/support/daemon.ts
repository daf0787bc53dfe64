import fs from 'node:fs';
import path from 'node:path';
import { io as ioc, type Socket } from 'socket.io-client';
import { loadConfig } from '../../src/daemon/config.js';
import { createDaemon, type Daemon } from '../../src/daemon/daemon.js';
import { createLogger } from '../../src/daemon/logger.js';
import { ApiClient, staticCredentials } from '../../src/client/api.js';
import type { Ack, AuthResult, ClientToServerEvents, Message, ServerToClientEvents } from '../../src/protocol/index.js';
import type { Database, MessageArchive } from '../../src/daemon/deployments/archive.js';

export type TestSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

import { tmpDir } from './tmp.js';

export { tmpDir };

export interface TestDaemon {
  daemon: Daemon;
  url: string;
  dir: string;
  close(): Promise<void>;
}

/**
 * A real chatd on port 0 with a temp data dir. `env` overrides configuration like the environment
 * would; `logTo` receives its log lines (JSON, at LOG_LEVEL) instead of stdout.
 */
export async function startDaemon(env: Record<string, string> = {}, dir = tmpDir(), logTo?: { write(line: string): void }): Promise<TestDaemon> {
  const { config } = loadConfig({ env: { CHAT_DATA_DIR: dir, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', CHAT_AUTH_RATE_LIMIT: '1000', CHAT_REQUEST_RATE_LIMIT: '100000', XDG_CONFIG_HOME: dir, ...env }, persistSecrets: true });
  const daemon = createDaemon(config, { log: createLogger(config.logLevel, logTo) });
  const { url } = await daemon.start();
  return { daemon, url, dir, close: () => daemon.close() };
}

export interface TestUser {
  name: string;
  auth: AuthResult;
  api: ApiClient;
}

let counter = 0;
/** A fresh unique username (3–32 of [a-z0-9_.-]). */
export function uniqueName(base = 'u'): string {
  counter += 1;
  return `${base}${process.pid % 10000}x${counter}`.slice(0, 32);
}

export async function registerUser(url: string, name = uniqueName(), password = 'correct horse battery'): Promise<TestUser> {
  const auth = await new ApiClient(url).register(name, password);
  return { name, auth, api: new ApiClient(url, staticCredentials(auth.accessToken)) };
}

export async function befriend(a: TestUser, b: TestUser) {
  await a.api.addFriend(b.name);
  await b.api.addFriend(a.name);
}

/** A connected socket.io-client, authenticated by auth.token. */
export function openSocket(url: string, token: string, opts: Record<string, unknown> = {}): Promise<TestSocket> {
  const s: TestSocket = ioc(url, { transports: ['websocket'], auth: { token }, reconnection: false, forceNew: true, ...opts });
  return new Promise((resolve, reject) => {
    s.once('connect', () => resolve(s));
    s.once('connect_error', (err) => { s.close(); reject(err); });
  });
}

/** Emits any event (well-formed or not) and resolves with its ack. */
export const emit = <T>(s: TestSocket, event: string, payload: unknown) =>
  new Promise<Ack<T>>((r) => (s.emit as (e: string, p: unknown, cb: (a: Ack<T>) => void) => void)(event, payload, r));

/** Resolves with the next `n` payloads of an event. */
export function nextEvents<T>(s: TestSocket, event: keyof ServerToClientEvents, n = 1, timeoutMs = 10_000): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const got: T[] = [];
    const t = setTimeout(() => { s.off(event, on as never); reject(new Error(`timed out waiting for ${n} ${event}, got ${got.length}`)); }, timeoutMs);
    const on = (p: T) => {
      got.push(p);
      if (got.length >= n) {
        clearTimeout(t);
        s.off(event, on as never);
        resolve(got);
      }
    };
    s.on(event, on as never);
  });
}

export function sleep(ms: number) {
  return new Promise((r) => setTimeout(r, ms));
}

export async function waitFor<T>(fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 10_000, stepMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error('waitFor timed out');
    await sleep(stepMs);
  }
}

/**
 * Two new friends on `url`; the first sends `text` over REST (seq 1) and the second reads its
 * history until it is there (on scale-out, once the persister has stored it): the texts it read.
 */
export async function sendAndReadBack(url: string, text: string): Promise<{ seq: number; texts: string[] }> {
  const a = await registerUser(url);
  const b = await registerUser(url);
  await befriend(a, b);
  const { seq } = await a.api.sendRest({ to: b.name, text });
  const texts = await waitFor(async () => {
    const read = (await b.api.history(a.name)).map((m) => m.text);
    return read.length > 0 ? read : undefined;
  }, 10_000, 100);
  return { seq, texts };
}

/**
 * The database behind a daemon's deployment (SQLite or MongoDB), with its message archive: to seed
 * and count rows without going through chatd (each deployment's factory hands it out for tests).
 */
export function databaseOf(daemon: Daemon): Database {
  const { database } = daemon.deployment as Daemon['deployment'] & { database?: Database };
  if (!database) throw new Error('this deployment exposes no database');
  return database;
}

/** Every stored message of a conversation, oldest first, through the store itself. */
export async function storedAll(store: Pick<MessageArchive, 'history'>, conversationId: string): Promise<Message[]> {
  const out: Message[] = [];
  for (let after = 0; ;) {
    const page = await store.history(conversationId, { limit: 500, afterSeq: after });
    out.push(...page);
    if (page.length < 500) return out;
    after = page[page.length - 1]!.seq;
  }
}

/** A loopback port with nothing listening on it (a chatd that is down). */
export async function closedPort(): Promise<number> {
  const net = await import('node:net');
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** The coded error a call fails with, or 'ok' when it does not fail. */
export async function errorCode(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
}
