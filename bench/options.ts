/** The bench's command line, parsed once; every scenario reads its options from here. */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const args = process.argv.slice(2);
export const quick = args.includes('--quick');
export const scenario = args.find((a) => !a.startsWith('--')) ?? 'all';
export const hasTaskset = !process.env.CHAT_BENCH_NO_PIN && spawnSync('taskset', ['-c', '0', 'true']).status === 0 && os.cpus().length > 1;
export const tsx = path.join(root, 'node_modules/.bin/tsx');
export const profile = args.includes('--profile');
export const profileDir = path.join(root, 'bench/results/profiles');

export type Target = 'chatd' | 'chatd-scaleout' | 'socketio' | 'ws';

export const scaleout = !!(process.env.MONGODB_URI && process.env.REDIS_URL && process.env.KAFKA_BROKERS);
export const only = args.find((a) => a.startsWith('--targets='))?.slice('--targets='.length).split(',') as Target[] | undefined;
export const targets: Target[] = only ?? ['socketio', 'ws', 'chatd', ...(scaleout ? ['chatd-scaleout' as const] : [])];
export const nodes = Number(args.find((a) => a.startsWith('--nodes='))?.slice('--nodes='.length) ?? 1);
export const onlyRates = args.find((a) => a.startsWith('--rates='))?.slice('--rates='.length).split(',').map(Number);
/** --client=socket.io-client: the load generator drives Socket.IO targets with the client library instead of its wire-level client (for comparison). */
export const client = (args.find((a) => a.startsWith('--client='))?.slice('--client='.length) ?? 'wire') as 'wire' | 'socket.io-client';
