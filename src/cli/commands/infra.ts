import type { Command } from 'commander';
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ChatError } from '../../protocol/errors.js';
import type { Context } from '../context.js';

/** The docker-compose.yml shipped at the package root. */
export function composeFile(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../docker-compose.yml');
}

function dockerProblem(): string | null {
  const v = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8' });
  if (v.error) return 'the docker command is not installed';
  if (v.status !== 0) return 'the docker compose plugin is not installed';
  const info = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], { encoding: 'utf8' });
  if (info.status !== 0) return 'no Docker engine is running (docker info failed)';
  return null;
}

const ARGS: Record<string, string[]> = {
  up: ['up', '-d', '--wait'],
  down: ['down'],
  status: ['ps'],
  logs: ['logs', '--tail', '200'],
};

/** The compose file's secrets, each from the variable of the same name (GEMINI_API_KEY aside: the user's key, or none). */
export const INFRA_SECRETS = ['JWT_ACCESS_SECRET', 'JWT_REFRESH_SECRET', 'MONGO_ROOT_PASSWORD', 'MONGODB_PASSWORD', 'REDIS_PASSWORD', 'KAFKA_BROKER_PASSWORD', 'KAFKA_SASL_PASSWORD'] as const;

/**
 * The variables `docker compose` needs for the bundled file: each secret from the environment when
 * set there, else from `infra.env` in the config dir, else generated now (32 random bytes, hex: the
 * characters every engine's configuration takes) and kept there, 0600 in a 0700 folder, so the
 * engines' volumes keep matching passwords from one `chat infra up` to the next.
 */
export function infraSecrets(dir: string, env: NodeJS.ProcessEnv): { vars: Record<string, string>; generated: string[]; file: string } {
  const file = path.join(dir, 'infra.env');
  const kept: Record<string, string> = {};
  if (fs.existsSync(file)) {
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
      const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
      if (m) kept[m[1]!] = m[2]!;
    }
  }
  const generated: string[] = [];
  for (const name of INFRA_SECRETS) {
    if (kept[name]) continue;
    kept[name] = crypto.randomBytes(32).toString('hex');
    generated.push(name);
  }
  if (generated.length > 0) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, `# chat infra: the bundled docker-compose.yml's secrets (generated; keep them with the volumes)\n${Object.entries(kept).map(([k, v]) => `${k}=${v}`).join('\n')}\n`, { mode: 0o600 });
    fs.renameSync(tmp, file);
  }
  const vars: Record<string, string> = {};
  for (const name of INFRA_SECRETS) vars[name] = env[name] || kept[name]!;
  vars.GEMINI_API_KEY = env.GEMINI_API_KEY ?? '';
  return { vars, generated, file };
}

export async function runInfra(ctx: Context, action: string) {
  const file = composeFile();
  if (!fs.existsSync(file)) throw new ChatError('CHAT_ERR_NOT_FOUND', `bundled compose file missing: ${file}`);
  const problem = dockerProblem();
  if (problem) {
    throw new ChatError('CHAT_ERR_UNAVAILABLE', `Docker is not available: ${problem}. Install Docker Engine with the compose plugin, or run the engines natively (npm run services:up in a checkout) and set MONGODB_URI, REDIS_URL and KAFKA_BROKERS.`);
  }
  // Through the environment of docker compose, never its arguments.
  const secrets = infraSecrets(ctx.dir, ctx.env);
  if (secrets.generated.length > 0) ctx.note(`generated ${secrets.generated.join(', ')} into ${secrets.file}`);
  const code = await new Promise<number>((resolve) => {
    const child = spawn('docker', ['compose', '-f', file, ...ARGS[action]!], { stdio: ['ignore', 'inherit', 'inherit'], env: { ...ctx.env, ...secrets.vars } });
    child.on('close', (c) => resolve(c ?? 1));
  });
  if (code !== 0) throw new ChatError('CHAT_ERR_UNAVAILABLE', `docker compose ${action} exited ${code}`);
  ctx.note(`docker compose ${action}: done`);
}

export function register(program: Command, ctx: () => Context) {
  const infra = program.command('infra').description('run the bundled docker-compose.yml (MongoDB, Redis, 3 Kafka brokers, Kafka UI, 2 chatd)');
  for (const action of Object.keys(ARGS)) {
    infra.command(action).description(`docker compose ${ARGS[action]!.join(' ')}`).action(() => runInfra(ctx(), action));
  }
}
