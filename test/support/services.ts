import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { tmpDir } from './daemon.js';

/** kill -9, resolving once the process is gone (at once if it already is). */
export async function killProcess(proc: ChildProcess | undefined): Promise<void> {
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
  const gone = new Promise((r) => proc.on('exit', r));
  proc.kill('SIGKILL');
  await gone;
}

/** A free TCP port on loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

export async function waitPort(port: number, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((r) => {
      const c = net.connect(port, '127.0.0.1', () => { c.destroy(); r(true); });
      c.on('error', () => r(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${what} did not open port ${port} in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Unique names so suites sharing the engines never see each other's data. */
export function isolation(tag: string) {
  const id = `${tag}_${process.pid}_${Date.now().toString(36)}`;
  return {
    id,
    env(base: { MONGODB_URI: string; REDIS_URL?: string; KAFKA_BROKERS?: string }): Record<string, string> {
      const u = new URL(base.MONGODB_URI);
      u.pathname = `/${id}`;
      const env: Record<string, string> = { MONGODB_URI: u.toString(), CHAT_REDIS_PREFIX: `${id}:`, JWT_ACCESS_SECRET: `access-${id}-0123456789abcdef0123456789`, JWT_REFRESH_SECRET: `refresh-${id}-0123456789abcdef0123456789` };
      if (base.REDIS_URL) env.REDIS_URL = base.REDIS_URL;
      if (base.KAFKA_BROKERS) {
        Object.assign(env, { KAFKA_BROKERS: base.KAFKA_BROKERS, KAFKA_TOPIC: `${id}.messages`, KAFKA_DLQ_TOPIC: `${id}.dlq`, KAFKA_GROUP_ID: `${id}-persister`, KAFKA_CLIENT_ID: id });
      }
      return env;
    },
  };
}

export interface KafkaNode {
  id: number;
  port: number;
  controllerPort: number;
  dir: string;
  log4j: string;
  proc?: ChildProcess;
  log: string[];
}

/**
 * A Kafka (KRaft) cluster of its own on loopback, from the jars `npm run services:up`
 * resolved (CHAT_KAFKA_LIBS): one combined broker+controller per node.
 */
export class KafkaCluster {
  readonly nodes: KafkaNode[] = [];
  private clusterId = '';

  constructor(private readonly libs: string, private readonly size: number) {}

  get brokers(): string {
    return this.nodes.map((n) => `127.0.0.1:${n.port}`).join(',');
  }

  private java(args: string[], extra: string[] = []): ChildProcess {
    return spawn('java', [...extra, '-cp', `${this.libs}/*`, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  }

  private async run(args: string[], extra: string[] = []): Promise<string> {
    const p = this.java(args, extra);
    let out = '';
    p.stdout!.on('data', (c: Buffer) => { out += c.toString(); });
    p.stderr!.on('data', (c: Buffer) => { out += c.toString(); });
    const code = await new Promise<number | null>((r) => p.on('close', r));
    if (code !== 0) throw new Error(`kafka ${args.join(' ')} exited ${code}: ${out}`);
    return out;
  }

  async start(): Promise<void> {
    const root = tmpDir('kafka-cluster-');
    for (let i = 1; i <= this.size; i++) {
      this.nodes.push({ id: i, port: await freePort(), controllerPort: await freePort(), dir: path.join(root, `node${i}`), log4j: '', log: [] });
    }
    const voters = this.nodes.map((n) => `${n.id}@127.0.0.1:${n.controllerPort}`).join(',');
    const rf = Math.min(3, this.size);
    const isr = rf >= 3 ? 2 : 1;
    this.clusterId = (await this.run(['kafka.tools.StorageTool', 'random-uuid'])).trim().split('\n').pop()!;
    const log4j = path.join(root, 'log4j2.yaml');
    fs.writeFileSync(log4j, 'Configuration:\n  Appenders:\n    Console: { name: STDOUT, PatternLayout: { Pattern: "[%d] %p %m (%c)%n" } }\n  Loggers:\n    Root: { level: WARN, AppenderRef: [{ ref: STDOUT }] }\n');
    for (const n of this.nodes) {
      fs.mkdirSync(n.dir, { recursive: true });
      fs.writeFileSync(path.join(n.dir, 'node.properties'), [
        'process.roles=broker,controller', `node.id=${n.id}`,
        `listeners=PLAINTEXT://127.0.0.1:${n.port},CONTROLLER://127.0.0.1:${n.controllerPort}`,
        `advertised.listeners=PLAINTEXT://127.0.0.1:${n.port}`,
        `controller.quorum.voters=${voters}`, 'controller.listener.names=CONTROLLER', 'inter.broker.listener.name=PLAINTEXT',
        'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT', `log.dirs=${path.join(n.dir, 'data')}`,
        `default.replication.factor=${rf}`, `min.insync.replicas=${isr}`, `offsets.topic.replication.factor=${rf}`, 'offsets.topic.num.partitions=3',
        `transaction.state.log.replication.factor=${rf}`, `transaction.state.log.min.isr=${isr}`,
        `share.coordinator.state.topic.replication.factor=${rf}`, `share.coordinator.state.topic.min.isr=${isr}`,
        'group.initial.rebalance.delay.ms=0', 'auto.create.topics.enable=false', 'unclean.leader.election.enable=false',
      ].join('\n') + '\n');
      await this.run(['kafka.tools.StorageTool', 'format', '-t', this.clusterId, '-c', path.join(n.dir, 'node.properties')], [`-Dlog4j2.configurationFile=${log4j}`]);
      n.log4j = log4j;
    }
    await Promise.all(this.nodes.map((n) => this.startNode(n)));
  }

  async startNode(n: KafkaNode): Promise<void> {
    n.proc = this.java(['kafka.Kafka', path.join(n.dir, 'node.properties')], ['-Xms384m', '-Xmx384m', '-XX:+UseSerialGC', `-Dlog4j2.configurationFile=${n.log4j}`]);
    const keep = (c: Buffer) => { n.log.push(c.toString()); if (n.log.length > 200) n.log.shift(); };
    n.proc.stdout!.on('data', keep);
    n.proc.stderr!.on('data', keep);
    await waitPort(n.port, 120_000, `kafka node ${n.id}`);
  }

  /** kill -9 */
  kill(n: KafkaNode): Promise<void> {
    return killProcess(n.proc);
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => this.kill(n)));
  }
}

/** A FerretDB of its own (CHAT_FERRETDB_BIN from `npm run services:up`), to stop and restart mid-test. */
export class FerretDb {
  port = 0;
  proc?: ChildProcess;
  private readonly dir = tmpDir('ferretdb-');

  constructor(private readonly bin: string) {}

  get uri() {
    return `mongodb://127.0.0.1:${this.port}/chat?directConnection=true`;
  }

  async start(): Promise<void> {
    if (!this.port) this.port = await freePort();
    this.proc = spawn(this.bin, ['-listen', `127.0.0.1:${this.port}`, '-dir', this.dir], { stdio: 'ignore' });
    await waitPort(this.port, 30_000, 'ferretdb');
  }

  kill(): Promise<void> {
    return killProcess(this.proc);
  }
}

/** A redis-server of its own on a free port (from Debian's package), to kill mid-test. */
export class RedisServer {
  port = 0;
  proc?: ChildProcess;

  get url() {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    if (!this.port) this.port = await freePort();
    this.proc = spawn('redis-server', ['--bind', '127.0.0.1', '--port', String(this.port), '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction'], { stdio: 'ignore' });
    await waitPort(this.port, 20_000, 'redis');
  }

  kill(): Promise<void> {
    return killProcess(this.proc);
  }
}
