import type { Command } from 'commander';
import { spawn, spawnSync } from 'node:child_process';
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

export async function runInfra(ctx: Context, action: string) {
  const file = composeFile();
  if (!fs.existsSync(file)) throw new ChatError('CHAT_ERR_NOT_FOUND', `bundled compose file missing: ${file}`);
  const problem = dockerProblem();
  if (problem) {
    throw new ChatError('CHAT_ERR_UNAVAILABLE', `Docker is not available: ${problem}. Install Docker Engine with the compose plugin, or run the engines natively (npm run services:up in a checkout) and set MONGODB_URI, REDIS_URL and KAFKA_BROKERS.`);
  }
  const code = await new Promise<number>((resolve) => {
    const child = spawn('docker', ['compose', '-f', file, ...ARGS[action]!], { stdio: ['ignore', 'inherit', 'inherit'] });
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
