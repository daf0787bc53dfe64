/**
 * The compose file's engines ask for passwords, and chatd gives them: run here without Docker,
 * from the project compose-go resolves (so `$$` escapes and interpolation are Docker's own).
 *  - Kafka: the kafka-1 service's environment goes through KafkaDockerWrapper, the class in the
 *    Kafka 4.1.1 jars that the apache/kafka:4.1.1 image runs to turn KAFKA_* variables into
 *    server.properties, and a broker starts on the result. Only what one node on loopback needs
 *    changes (addresses, one voter, replication 1, paths); every SASL and config-provider setting is
 *    the file's. The healthcheck's client settings (the kafka_client config) authenticate the
 *    image's own tool; chatd authenticates as chatd with the password from its secret file.
 *  - Redis: the redis service's entrypoint script runs under sh, with the image's entrypoint (which
 *    only drops to the redis user) replaced by exec; its healthcheck runs too.
 *  - MongoDB: no mongod here (FerretDB stands in for it and has no users), so the key-file script
 *    of its entrypoint runs, and the rest is checked as text.
 * Then chatd on that Kafka and that Redis sends a message into MongoDB.
 */
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendAndReadBack, startDaemon, tmpDir, type TestDaemon } from '../support/daemon.js';
import { CHATD_BIN, spawnProc } from '../support/procs.js';
import { freePort, isolation, killProcess, waitPort } from '../support/services.js';
import { services } from './env.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const env = services('COMPOSECHECK', 'MONGODB_URI', 'REDIS_URL');
const libs = process.env.CHAT_KAFKA_LIBS;

interface Service { entrypoint?: string[]; command?: string[]; environment?: Record<string, string>; healthcheck?: { test: string[] }; secrets?: { source: string }[]; configs?: { source: string; target: string }[] }
interface Project { services: Record<string, Service>; configs: Record<string, { content: string }>; secrets: Record<string, { environment: string }> }

const hex = () => crypto.randomBytes(16).toString('hex');

if (env) {
  describe('the compose file\'s engines with authentication, run natively', () => {
    const passwords: Record<string, string> = { MONGO_ROOT_PASSWORD: hex(), MONGODB_PASSWORD: hex(), REDIS_PASSWORD: hex(), KAFKA_BROKER_PASSWORD: hex(), KAFKA_SASL_PASSWORD: hex() };
    const dir = tmpDir('compose-auth-');
    /** Stands for /run/secrets: each compose secret as a file named like it, its variable's value. */
    const secrets = path.join(dir, 'secrets');
    const procs: ReturnType<typeof spawn>[] = [];
    let project: Project;
    let kafkaPort = 0;
    let redisPort = 0;
    const bin = path.join(dir, 'bin');

    beforeAll(() => {
      const r = spawnSync(env.COMPOSECHECK, [path.join(ROOT, 'docker-compose.yml'), 'JWT_ACCESS_SECRET=a', 'JWT_REFRESH_SECRET=b', 'GEMINI_API_KEY=', ...Object.entries(passwords).map(([k, v]) => `${k}=${v}`)], { encoding: 'utf8' });
      expect(r.stderr).toBe('');
      project = JSON.parse(r.stdout) as Project;
      fs.mkdirSync(secrets, { recursive: true });
      for (const [name, s] of Object.entries(project.secrets)) fs.writeFileSync(path.join(secrets, name), passwords[s.environment] ?? 'x', { mode: 0o600 });
      // The images' entrypoints (docker-entrypoint.sh) only drop to the engine's user, then exec.
      fs.mkdirSync(bin);
      fs.writeFileSync(path.join(bin, 'docker-entrypoint.sh'), '#!/bin/sh\nexec "$@"\n', { mode: 0o755 });
    });
    afterAll(async () => { for (const p of procs) await killProcess(p); });

    const here = (s: string, extra: Record<string, string> = {}) => {
      let out = s.replaceAll('/run/secrets', secrets);
      for (const [from, to] of Object.entries(extra)) out = out.replaceAll(from, to);
      return out;
    };

    it('Kafka: the image\'s own configuration code turns the service\'s variables into a broker that asks every client for SASL/PLAIN', async () => {
      if (!libs) throw new Error('CHAT_KAFKA_LIBS not set: run npm run services:up and source .services/env');
      const svc = project.services['kafka-1']!;
      expect(svc.secrets!.map((s) => s.source)).toEqual(['kafka_broker_password', 'kafka_sasl_password']);
      kafkaPort = await freePort();
      const controller = await freePort();
      const kdir = path.join(dir, 'kafka');
      for (const d of ['defaults', 'mounted', 'final', 'data']) fs.mkdirSync(path.join(kdir, d), { recursive: true });
      const vars: Record<string, string> = Object.fromEntries(Object.entries(svc.environment!).map(([k, v]) => [k, here(v)]));
      // One node on loopback: addresses, the voter, replication and the data path. KAFKA_HEAP_OPTS is the launcher's.
      Object.assign(vars, {
        KAFKA_LISTENERS: vars.KAFKA_LISTENERS!.replace('BROKER://:9092', `BROKER://127.0.0.1:${kafkaPort}`).replace('CONTROLLER://:9093', `CONTROLLER://127.0.0.1:${controller}`),
        KAFKA_ADVERTISED_LISTENERS: `BROKER://127.0.0.1:${kafkaPort}`,
        KAFKA_CONTROLLER_QUORUM_VOTERS: `1@127.0.0.1:${controller}`,
        KAFKA_LOG_DIRS: path.join(kdir, 'data'),
      });
      for (const k of Object.keys(vars)) {
        if (/REPLICATION_FACTOR$/.test(k)) vars[k] = '1';
        if (/(MIN_ISR|MIN_INSYNC_REPLICAS)$/.test(k)) vars[k] = '1';
      }
      delete vars.KAFKA_HEAP_OPTS;
      const jvmEnv = { PATH: process.env.PATH!, HOME: process.env.HOME ?? dir, ...vars };
      const setup = spawnSync('java', ['-cp', `${libs}/*`, 'kafka.docker.KafkaDockerWrapper', 'setup', '--default-configs-dir', path.join(kdir, 'defaults'), '--mounted-configs-dir', path.join(kdir, 'mounted'), '--final-configs-dir', path.join(kdir, 'final')], { env: jvmEnv, encoding: 'utf8' });
      expect(setup.status, setup.stderr + setup.stdout).toBe(0);
      const props = fs.readFileSync(path.join(kdir, 'final/server.properties'), 'utf8');
      expect(props).toContain('listener.security.protocol.map=CONTROLLER:SASL_PLAINTEXT,BROKER:SASL_PLAINTEXT');
      // No password in the generated file: a reference to the secret file, resolved by the broker.
      for (const pw of Object.values(passwords)) expect(props).not.toContain(pw);
      expect(props).toContain(`password="\${dir:${secrets}:kafka_broker_password}"`);
      const broker = spawn('java', ['-Xms256m', '-Xmx384m', '-XX:+UseSerialGC', '-cp', `${libs}/*`, 'kafka.Kafka', path.join(kdir, 'final/server.properties')], { env: jvmEnv, stdio: ['ignore', 'pipe', 'pipe'] });
      procs.push(broker);
      const log: string[] = [];
      broker.stdout!.on('data', (c: Buffer) => log.push(c.toString()));
      broker.stderr!.on('data', (c: Buffer) => log.push(c.toString()));
      await waitPort(kafkaPort, 120_000, 'the compose-configured Kafka').catch((err: Error) => { throw new Error(`${err.message}\n${log.join('').slice(-3000)}`); });
      // The healthcheck: the image's kafka-broker-api-versions.sh with the kafka_client config.
      const client = project.services['kafka-1']!.configs!.find((c) => c.target === '/etc/kafka/client.properties')!;
      const clientFile = path.join(kdir, 'client.properties');
      fs.writeFileSync(clientFile, here(project.configs[client.source]!.content));
      const check = (config: string) => spawnSync('java', ['-cp', `${libs}/*`, 'org.apache.kafka.tools.BrokerApiVersionsCommand', '--bootstrap-server', `127.0.0.1:${kafkaPort}`, '--command-config', config], { encoding: 'utf8', timeout: 60_000 });
      let health = check(clientFile);
      for (let i = 0; i < 30 && health.status !== 0; i++) { await new Promise((r) => setTimeout(r, 1000)); health = check(clientFile); }
      expect(health.status, health.stderr).toBe(0);
      expect(health.stdout).toMatch(/Produce\(0\)/);
      console.log(`compose Kafka: server.properties from KafkaDockerWrapper (${props.trim().split('\n').length} settings), broker up, healthcheck exit ${health.status}`);
    }, 180_000);

    it('Redis: the entrypoint writes the password into a 0600 config file, the server asks for it, the healthcheck gives it', async () => {
      const svc = project.services.redis!;
      const run = path.join(dir, 'redis-run');
      fs.mkdirSync(run);
      redisPort = await freePort();
      const [sh, flag, script, name] = svc.entrypoint!;
      expect([sh, flag, name]).toEqual(['sh', '-c', 'redis-auth']);
      // No redis user to give the file to here: the test's own user owns it.
      const local = here(script!, { '/run/redis': run, 'chown redis ': `chown ${process.getuid!()} ` });
      const args = [...svc.command!.map((a) => here(a, { '/run/redis': run })), '--port', String(redisPort), '--bind', '127.0.0.1', '--dir', run, '--save', ''];
      const server = spawn('sh', ['-c', local, name!, ...args], { env: { PATH: `${bin}:${process.env.PATH}` }, stdio: 'ignore' });
      procs.push(server);
      await waitPort(redisPort, 20_000, 'the compose-configured Redis');
      const conf = path.join(run, 'auth.conf');
      expect(fs.statSync(conf).mode & 0o777).toBe(0o600);
      expect(fs.readFileSync(conf, 'utf8')).toBe(`requirepass ${passwords.REDIS_PASSWORD}\n`);
      // The password is in no argument of the server.
      expect(fs.readFileSync(`/proc/${server.pid}/cmdline`, 'utf8')).not.toContain(passwords.REDIS_PASSWORD);
      const [, hcScript] = svc.healthcheck!.test;
      const hc = spawnSync('sh', ['-c', here(hcScript!).replace('redis-cli', `redis-cli -p ${redisPort}`)], { encoding: 'utf8' });
      expect(hc.status, hc.stderr).toBe(0);
      // Without the password: the raw protocol's answer to PING.
      const refused = await new Promise<string>((resolve, reject) => {
        const c = net.connect(redisPort, '127.0.0.1', () => c.write('PING\r\n'));
        c.once('data', (b) => { resolve(b.toString().trim()); c.destroy(); });
        c.on('error', reject);
      });
      expect(refused).toMatch(/NOAUTH/);
      console.log(`compose Redis: healthcheck exit ${hc.status}; without the password: ${refused}`);
      // A password that would break out of the config line is refused before the server starts.
      const bad = path.join(dir, 'bad-secrets');
      fs.mkdirSync(bad);
      fs.writeFileSync(path.join(bad, 'redis_password'), 'x\nrename-command CONFIG ""');
      const refusedStart = spawnSync('sh', ['-c', local.replaceAll(secrets, bad), name!, 'true'], { env: { PATH: `${bin}:${process.env.PATH}` }, encoding: 'utf8' });
      expect(refusedStart.status).toBe(1);
      expect(refusedStart.stderr).toMatch(/REDIS_PASSWORD: use letters, digits, - and _ only/);
    }, 60_000);

    it('MongoDB: the entrypoint makes the replica set\'s key file once, 0400; root and chatd\'s user read their passwords from the secret files', () => {
      const svc = project.services.mongo!;
      const configdb = path.join(dir, 'configdb');
      fs.mkdirSync(configdb);
      const [shell, flag, script, name] = svc.entrypoint!;
      expect([shell, flag, name]).toEqual(['bash', '-c', 'mongo-keyfile']);
      const local = script!.replaceAll('/data/configdb', configdb).replace('chown mongodb:mongodb ', `chown ${process.getuid!()}:${process.getgid!()} `);
      const start = () => spawnSync('bash', ['-c', local, name!, ...svc.command!.map((a) => a.replaceAll('/data/configdb', configdb))], { env: { PATH: `${bin}:${process.env.PATH}` }, encoding: 'utf8' });
      // The stand-in entrypoint execs its arguments: mongod is not here, so `echo` shows them.
      fs.writeFileSync(path.join(bin, 'mongod'), '#!/bin/sh\necho "mongod $*"\n', { mode: 0o755 });
      const first = start();
      expect(first.status, first.stderr).toBe(0);
      const keyfile = path.join(configdb, 'keyfile');
      expect(first.stdout.trim()).toBe(`mongod --replSet rs0 --bind_ip_all --keyFile ${keyfile}`);
      const key = fs.readFileSync(keyfile, 'utf8');
      // mongod's rules: 6 to 1024 base64 characters, no group or other access.
      expect(key).toMatch(/^[A-Za-z0-9+/=]{1008}$/);
      expect(fs.statSync(keyfile).mode & 0o777).toBe(0o400);
      expect(start().status).toBe(0);
      expect(fs.readFileSync(keyfile, 'utf8')).toBe(key);
      expect(svc.environment).toEqual({ MONGO_INITDB_ROOT_USERNAME: 'root', MONGO_INITDB_ROOT_PASSWORD_FILE: '/run/secrets/mongo_root_password' });
      const init = svc.configs!.find((c) => c.target.startsWith('/docker-entrypoint-initdb.d/'))!;
      expect(project.configs[init.source]!.content).toContain(`readFileSync('/run/secrets/mongodb_password'`);
      expect(project.configs[init.source]!.content).toMatch(/createUser\(\{ user: 'chatd', pwd, roles: \[\{ role: 'readWrite', db: 'chat' \}\] \}\)/);
      expect(svc.healthcheck!.test.join(' ')).toContain(`auth('root', require('fs').readFileSync('/run/secrets/mongo_root_password'`);
      // No password in any service or config of the resolved project (the secrets hold them).
      const text = JSON.stringify({ services: project.services, configs: project.configs });
      for (const [k, pw] of Object.entries(passwords)) expect(text.includes(pw), k).toBe(false);
    });

    describe('chatd with the compose file\'s settings', () => {
      let d: TestDaemon;
      const chatdEnv = () => {
        const e = project.services['chatd-1']!.environment!;
        const shared = isolation('compose').env({ MONGODB_URI: env.MONGODB_URI, KAFKA_BROKERS: `127.0.0.1:${kafkaPort}` });
        return {
          ...shared,
          REDIS_URL: `redis://127.0.0.1:${redisPort}`,
          // chatd's own credentials, as the file gives them: user names, and passwords from the secret files.
          KAFKA_SASL_MECHANISM: e.KAFKA_SASL_MECHANISM!, KAFKA_SASL_USERNAME: e.KAFKA_SASL_USERNAME!, KAFKA_SASL_PASSWORD_FILE: here(e.KAFKA_SASL_PASSWORD_FILE!),
          REDIS_PASSWORD_FILE: here(e.REDIS_PASSWORD_FILE!),
        };
      };
      beforeAll(async () => {
        expect(kafkaPort * redisPort).toBeGreaterThan(0);
        d = await startDaemon(chatdEnv());
      }, 60_000);
      afterAll(async () => { await d?.close(); });

      it('sends through the authenticated Kafka into MongoDB, with the authenticated Redis', async () => {
        expect(await sendAndReadBack(d.url, 'compose, with passwords')).toEqual({ seq: 1, texts: ['compose, with passwords'] });
      });

      it('chatd check fails with a wrong Redis password and with none, and says which engine', async () => {
        const wrong = path.join(dir, 'wrong-redis-password');
        fs.writeFileSync(wrong, 'not-the-password', { mode: 0o600 });
        const check = async (extra: Record<string, string | undefined>) => {
          const e = { ...chatdEnv(), ...extra };
          for (const k of Object.keys(e)) if (e[k as keyof typeof e] === undefined) delete e[k as keyof typeof e];
          const p = spawnProc(CHATD_BIN, ['check', '--data-dir', tmpDir()], e as Record<string, string>);
          return { code: await p.exited, text: p.lines.join('\n') };
        };
        const ok = await check({});
        const wrongPw = await check({ REDIS_PASSWORD_FILE: wrong });
        const none = await check({ REDIS_PASSWORD_FILE: undefined });
        console.log(`chatd check on the compose engines: ok exit ${ok.code}; wrong Redis password exit ${wrongPw.code}: ${wrongPw.text.split('\n').find((l) => /FAIL/.test(l))}; none exit ${none.code}: ${none.text.split('\n').find((l) => /FAIL/.test(l))}`);
        expect(ok.code, ok.text).toBe(0);
        expect(wrongPw.code).toBe(1);
        expect(wrongPw.text).toMatch(/FAIL cache: redis: WRONGPASS/);
        expect(none.code).toBe(1);
        expect(none.text).toMatch(/FAIL cache: redis: NOAUTH/);
      }, 120_000);
    });
  });
}
