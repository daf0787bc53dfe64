import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { ConfigError, FIELDS, describeConfig, loadConfig, type Config } from '../../src/daemon/config.js';
import { tmpDir } from '../support/daemon.js';

describe('config', () => {
  it('derives its type from the settings table (checked by tsc in pretest)', () => {
    expectTypeOf<Config['deployment']>().toEqualTypeOf<'embedded' | 'scaleout'>();
    expectTypeOf<Config['port']>().toEqualTypeOf<number>();
    expectTypeOf<Config['allowedOrigins']>().toEqualTypeOf<string[]>();
    expectTypeOf<Config['mongodbUri']>().toEqualTypeOf<string | undefined>();
    expectTypeOf<Config['jwtAccessSecret']>().toEqualTypeOf<string>();
    expectTypeOf<Config['trustProxy']>().toEqualTypeOf<boolean>();
    const { config } = loadConfig({ env: {}, persistSecrets: false, flags: { dataDir: tmpDir() } });
    expect(Object.keys(FIELDS).filter((k) => !(k in config) && FIELDS[k as keyof typeof FIELDS].default !== undefined)).toEqual([]);
  });

  it('applies defaults < file < env file < env < flags and says where each value came from', () => {
    const dir = tmpDir();
    const file = path.join(dir, 'chatd.json');
    fs.writeFileSync(file, JSON.stringify({ port: 1111, host: '127.0.0.2', maxMessageLength: 100, logLevel: 'warn' }));
    fs.writeFileSync(path.join(dir, 'chatd.env'), 'PORT=2222\nHOST=127.0.0.3\nCHAT_MAX_MESSAGE_LENGTH=200\n');
    const { config, sources } = loadConfig({ env: { CHAT_CONFIG_FILE: file, CHAT_DATA_DIR: dir, PORT: '3333', HOST: '127.0.0.4' }, flags: { port: '4444' }, envFile: path.join(dir, 'chatd.env') });
    expect(config.port).toBe(4444);
    expect(sources.port).toBe('flag');
    expect(config.host).toBe('127.0.0.4');
    expect(sources.host).toBe('env');
    expect(config.maxMessageLength).toBe(200);
    expect(sources.maxMessageLength).toBe('env file');
    expect(config.logLevel).toBe('warn');
    expect(sources.logLevel).toBe('file');
    expect(config.accessTokenTtlSec).toBe(900);
    expect(sources.accessTokenTtlSec).toBe('default');
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('names the setting in one line when a value is invalid', () => {
    const dir = tmpDir();
    const bad = (env: Record<string, string>) => {
      try {
        loadConfig({ env: { CHAT_DATA_DIR: dir, ...env } });
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as Error).message;
      }
      throw new Error('expected a ConfigError');
    };
    expect(bad({ PORT: 'eighty' })).toMatch(/^invalid configuration: PORT: /);
    expect(bad({ PORT: '70000' })).toMatch(/PORT/);
    expect(bad({ CHAT_ACCESS_TOKEN_TTL: '3600' })).toMatch(/CHAT_ACCESS_TOKEN_TTL/);
    expect(bad({ JWT_ACCESS_SECRET: 'short' })).toMatch(/JWT_ACCESS_SECRET: must be at least 32/);
    expect(bad({ GEMINI_BASE_URL: 'not a url' })).toMatch(/GEMINI_BASE_URL/);
    expect(bad({ CHAT_STORE: 'oracle' })).toMatch(/CHAT_STORE/);
    expect(bad({ LOG_LEVEL: 'loud' })).toMatch(/LOG_LEVEL/);
    expect(bad({ JWT_ACCESS_SECRET: 'x'.repeat(40), JWT_REFRESH_SECRET: 'x'.repeat(40) })).toMatch(/JWT_REFRESH_SECRET: must differ/);
    const file = path.join(dir, 'c.json');
    fs.writeFileSync(file, '{"nope": 1}');
    expect(bad({ CHAT_CONFIG_FILE: file })).toMatch(/nope: unknown setting; the file's keys are the variable names/);
    fs.writeFileSync(file, '{broken');
    expect(bad({ CHAT_CONFIG_FILE: file })).toMatch(/CHAT_CONFIG_FILE: .* is not valid JSON/);
  });

  it('masks secrets when describing the configuration', () => {
    const dir = tmpDir();
    const loaded = loadConfig({ env: { CHAT_DATA_DIR: dir, GEMINI_API_KEY: 'very-secret-key', JWT_ACCESS_SECRET: 'a'.repeat(40), JWT_REFRESH_SECRET: 'b'.repeat(40) } });
    const rows = describeConfig(loaded);
    const text = JSON.stringify(rows);
    expect(text).not.toContain('very-secret-key');
    expect(text).not.toContain('a'.repeat(40));
    expect(rows.find((r) => r.env === 'GEMINI_API_KEY')).toMatchObject({ value: '********', source: 'env' });
    expect(rows).toHaveLength(Object.keys(FIELDS).length);
  });

  it('does not write secrets unless asked (chatd config is read-only)', () => {
    const dir = tmpDir();
    const { config } = loadConfig({ env: { CHAT_DATA_DIR: dir } });
    expect(config.jwtAccessSecret).toBeUndefined();
    expect(fs.existsSync(path.join(dir, 'secrets.json'))).toBe(false);
    const started = loadConfig({ env: { CHAT_DATA_DIR: dir }, persistSecrets: true });
    expect(started.config.jwtAccessSecret?.length).toBeGreaterThanOrEqual(32);
    expect(started.sources.jwtAccessSecret).toBe('generated');
  });
  it('reads secrets and credential URLs from *_FILE variants, refuses both forms at once, and names an unreadable file', () => {
    const dir = tmpDir();
    const secret = (name: string, text: string) => { const f = path.join(dir, name); fs.writeFileSync(f, text, { mode: 0o600 }); return f; };
    const access = 'a'.repeat(40);
    const { config, sources } = loadConfig({
      env: { CHAT_DATA_DIR: dir, JWT_ACCESS_SECRET_FILE: secret('access', `${access}\n`), JWT_REFRESH_SECRET_FILE: secret('refresh', 'r'.repeat(40)), GEMINI_API_KEY_FILE: secret('gemini', 'gem-key\n'), REDIS_URL_FILE: secret('redis', 'redis://:pw@127.0.0.1:6379\n'), MONGODB_URI_FILE: secret('mongo', 'mongodb://u:p@127.0.0.1/x\n'), KAFKA_BROKERS: '127.0.0.1:9092' },
    });
    expect([config.jwtAccessSecret, config.jwtRefreshSecret, config.geminiApiKey, config.redisUrl, config.mongodbUri]).toEqual([access, 'r'.repeat(40), 'gem-key', 'redis://:pw@127.0.0.1:6379', 'mongodb://u:p@127.0.0.1/x']);
    expect(sources.jwtAccessSecret).toBe('env');
    const err = (env: Record<string, string>) => { try { loadConfig({ env: { CHAT_DATA_DIR: dir, ...env } }); return 'ok'; } catch (e) { return (e as Error).message; } };
    expect(err({ GEMINI_API_KEY: 'k', GEMINI_API_KEY_FILE: secret('g2', 'k2') })).toBe('invalid configuration: GEMINI_API_KEY_FILE: give GEMINI_API_KEY or GEMINI_API_KEY_FILE, not both');
    expect(err({ GEMINI_API_KEY_FILE: path.join(dir, 'missing') })).toMatch(/^invalid configuration: GEMINI_API_KEY_FILE: cannot read .*missing: ENOENT$/);
    // A value from a file is checked like any other, and the error names the file variable, not the secret.
    expect(err({ JWT_ACCESS_SECRET_FILE: secret('short', 'too-short') })).toMatch(/^invalid configuration: JWT_ACCESS_SECRET_FILE: must be at least 32 characters$/);
    // An empty file is an unset setting (a Secret's optional key, mounted empty): no /ai, and chatd starts.
    fs.writeFileSync(path.join(dir, 'empty'), '', { mode: 0o600 });
    expect(loadConfig({ env: { CHAT_DATA_DIR: dir, GEMINI_API_KEY_FILE: path.join(dir, 'empty') } }).config.geminiApiKey).toBeUndefined();
    // Settings that are not secrets have no file variant.
    expect(err({ PORT_FILE: secret('port', '1234') })).toBe('ok');
  });

  it('a config file is keyed by the names chatd config prints (the older keys still read), and an unknown key gets a "did you mean"', () => {
    const dir = tmpDir();
    const file = path.join(dir, 'c.json');
    fs.writeFileSync(file, JSON.stringify({ PORT: 4555, CHAT_MAX_SESSIONS: 7, logLevel: 'warn' }));
    const { config, sources } = loadConfig({ env: { CHAT_CONFIG_FILE: file, CHAT_DATA_DIR: dir } });
    expect([config.port, config.maxSessions, config.logLevel, sources.port]).toEqual([4555, 7, 'warn', 'file']);
    fs.writeFileSync(file, JSON.stringify({ CHAT_MAX_SESSOINS: 7 }));
    expect(() => loadConfig({ env: { CHAT_CONFIG_FILE: file, CHAT_DATA_DIR: dir } })).toThrow(/c\.json: CHAT_MAX_SESSOINS: unknown setting \(did you mean CHAT_MAX_SESSIONS\?\)/);
  });

  it('warns of a misspelt setting in the environment or the env file, and of nothing else', () => {
    const dir = tmpDir();
    const envFile = path.join(dir, 'chatd.env');
    fs.writeFileSync(envFile, 'CHAT_MESSAGE_RATE_LIMT=5\nFOO=1\n');
    const { warnings, config } = loadConfig({ env: { CHAT_DATA_DIR: dir, CHAT_MAX_SESSOINS: '3', REDIS_URI: 'redis://x', HOME: '/root', CHAT_SERVER: 'http://x', CHAT_TOKEN: 't', PATH: '/bin', XDG_CONFIG_HOME: dir, CHAT_REDIS_PORT: '6390' }, envFile });
    expect(config.maxSessions).toBe(50);
    expect(warnings).toEqual([
      'CHAT_MAX_SESSOINS is not a setting and is ignored (did you mean CHAT_MAX_SESSIONS?)',
      'REDIS_URI is not a setting and is ignored (did you mean REDIS_URL?)',
      `${envFile}: CHAT_MESSAGE_RATE_LIMT is not a setting and is ignored (did you mean CHAT_MESSAGE_RATE_LIMIT?)`,
      `${envFile}: FOO is not a setting and is ignored`,
    ]);
  });

  it('with collect, loads what is valid and names every problem beside its setting (chatd config prints it all)', () => {
    const dir = tmpDir();
    const loaded = loadConfig({ env: { CHAT_DATA_DIR: dir, PORT: 'eighty', LOG_LEVEL: 'loud', CHAT_MAX_SESSIONS: '9', REDIS_URL: 'redis://127.0.0.1:1' }, collect: true });
    expect(loaded.config.maxSessions).toBe(9);
    expect(loaded.errors.map((e) => e.setting)).toEqual(['PORT', 'LOG_LEVEL', 'REDIS_URL', 'JWT_ACCESS_SECRET', 'JWT_REFRESH_SECRET']);
    const rows = describeConfig(loaded);
    expect(rows.find((r) => r.env === 'PORT')).toMatchObject({ value: '(unset)', source: 'env', error: expect.stringMatching(/number/) });
    expect(rows.find((r) => r.env === 'CHAT_MAX_SESSIONS')).toMatchObject({ value: '9', source: 'env' });
    expect(rows.find((r) => r.env === 'CHAT_MAX_SESSIONS')!.error).toBeUndefined();
    expect(rows.find((r) => r.env === 'REDIS_URL')!.error).toMatch(/needs MONGODB_URI and KAFKA_BROKERS too/);
    // Without collect the first problem is thrown, as chatd start needs.
    expect(() => loadConfig({ env: { CHAT_DATA_DIR: dir, PORT: 'eighty', LOG_LEVEL: 'loud' } })).toThrow(/^invalid configuration: PORT: /);
  });

  it('reads secrets from systemd credentials ($CREDENTIALS_DIRECTORY, named like the setting in lower case), below X_FILE and X', () => {
    const dir = tmpDir();
    const creds = tmpDir();
    fs.writeFileSync(path.join(creds, 'gemini_api_key'), 'key-from-a-credential\n', { mode: 0o600 });
    fs.writeFileSync(path.join(creds, 'jwt_access_secret'), `${'C'.repeat(40)}\n`, { mode: 0o600 });
    fs.writeFileSync(path.join(creds, 'jwt_refresh_secret'), '', { mode: 0o600 });
    const loaded = loadConfig({ env: { CHAT_DATA_DIR: dir, CREDENTIALS_DIRECTORY: creds }, persistSecrets: true });
    expect([loaded.config.geminiApiKey, loaded.sources.geminiApiKey]).toEqual(['key-from-a-credential', 'credential']);
    expect(loaded.config.jwtAccessSecret).toBe('C'.repeat(40));
    expect(loaded.origins.geminiApiKey).toBe(`the systemd credential gemini_api_key (${creds})`);
    // An empty credential is unset: that secret is generated into the data dir as without it.
    expect(loaded.sources.jwtRefreshSecret).toBe('generated');
    expect(describeConfig(loaded).find((r) => r.env === 'GEMINI_API_KEY')).toMatchObject({ value: '********', source: 'credential' });
    // The environment still wins; without the directory nothing is read from it.
    expect(loadConfig({ env: { CHAT_DATA_DIR: dir, CREDENTIALS_DIRECTORY: creds, GEMINI_API_KEY: 'from-env' } }).config.geminiApiKey).toBe('from-env');
    expect(loadConfig({ env: { CHAT_DATA_DIR: dir } }).config.geminiApiKey).toBeUndefined();
  });

  it('Kafka SASL takes a mechanism, a user and a password together (the password from a file too)', () => {
    const dir = tmpDir();
    const base = { CHAT_DATA_DIR: dir, MONGODB_URI: 'mongodb://m/chat', REDIS_URL: 'redis://r', KAFKA_BROKERS: 'k:9092', JWT_ACCESS_SECRET: 'a'.repeat(40), JWT_REFRESH_SECRET: 'b'.repeat(40) };
    fs.writeFileSync(path.join(dir, 'kpw'), 'pw\n', { mode: 0o600 });
    const { config } = loadConfig({ env: { ...base, KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'chat', KAFKA_SASL_PASSWORD_FILE: path.join(dir, 'kpw'), KAFKA_TLS: 'true' } });
    expect([config.kafkaSaslMechanism, config.kafkaSaslUsername, config.kafkaSaslPassword, config.kafkaTls]).toEqual(['scram-sha-512', 'chat', 'pw', true]);
    expect(() => loadConfig({ env: { ...base, KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'chat' } })).toThrow(/KAFKA_SASL_PASSWORD: must be set with KAFKA_SASL_MECHANISM=plain/);
    expect(() => loadConfig({ env: { ...base, KAFKA_SASL_USERNAME: 'chat' } })).toThrow(/KAFKA_SASL_USERNAME: is used only with KAFKA_SASL_MECHANISM/);
    expect(() => loadConfig({ env: { ...base, KAFKA_SASL_MECHANISM: 'gssapi' } })).toThrow(/KAFKA_SASL_MECHANISM/);
  });

  it('MongoDB and Redis credentials can stay out of the URLs: a user and a password together, in one place, on scale-out only', () => {
    const dir = tmpDir();
    const base = { CHAT_DATA_DIR: dir, MONGODB_URI: 'mongodb://m/chat?authSource=chat', REDIS_URL: 'redis://r', KAFKA_BROKERS: 'k:9092', JWT_ACCESS_SECRET: 'a'.repeat(40), JWT_REFRESH_SECRET: 'b'.repeat(40) };
    fs.writeFileSync(path.join(dir, 'mpw'), 'mongo-pw\n', { mode: 0o600 });
    fs.writeFileSync(path.join(dir, 'rpw'), 'redis-pw', { mode: 0o600 });
    const loaded = loadConfig({ env: { ...base, MONGODB_USERNAME: 'chatd', MONGODB_PASSWORD_FILE: path.join(dir, 'mpw'), REDIS_PASSWORD_FILE: path.join(dir, 'rpw') } });
    expect([loaded.config.mongodbUsername, loaded.config.mongodbPassword, loaded.config.redisPassword]).toEqual(['chatd', 'mongo-pw', 'redis-pw']);
    // Secrets: masked by chatd config.
    const rows = describeConfig(loaded);
    expect(rows.find((r) => r.env === 'MONGODB_PASSWORD')?.value).toBe('********');
    expect(rows.find((r) => r.env === 'REDIS_PASSWORD')?.value).toBe('********');
    expect(() => loadConfig({ env: { ...base, MONGODB_USERNAME: 'chatd' } })).toThrow(/MONGODB_PASSWORD: must be set with MONGODB_USERNAME/);
    expect(() => loadConfig({ env: { ...base, MONGODB_PASSWORD: 'pw' } })).toThrow(/MONGODB_USERNAME: must be set with MONGODB_PASSWORD/);
    expect(() => loadConfig({ env: { ...base, MONGODB_URI: 'mongodb://u:p@m1:27017,m2:27017/chat?replicaSet=rs0', MONGODB_USERNAME: 'chatd', MONGODB_PASSWORD: 'pw' } })).toThrow(/MONGODB_USERNAME: cannot be used with credentials in MONGODB_URI/);
    expect(() => loadConfig({ env: { ...base, REDIS_URL: 'redis://:secret@r:6379', REDIS_PASSWORD: 'pw' } })).toThrow(/REDIS_PASSWORD: cannot be used with a password in REDIS_URL/);
    // An ACL user in the URL and its password as a setting is the intended combination.
    expect(loadConfig({ env: { ...base, REDIS_URL: 'redis://chatd@r:6379', REDIS_PASSWORD: 'pw' } }).config.redisPassword).toBe('pw');
    // The embedded deployment has no engine to give them to.
    for (const name of ['MONGODB_PASSWORD', 'REDIS_PASSWORD', 'KAFKA_SASL_USERNAME']) {
      expect(() => loadConfig({ env: { CHAT_DATA_DIR: dir, [name]: 'x' } }), name).toThrow(new RegExp(`${name}: is used only by the scale-out deployment`));
    }
  });

  it('CHAT_SQLITE_DRIVER is a setting like the others: from the env file too, shown by chatd config, checked', () => {
    const dir = tmpDir();
    const envFile = path.join(dir, 'chatd.env');
    fs.writeFileSync(envFile, 'CHAT_SQLITE_DRIVER=better-sqlite3\n');
    const loaded = loadConfig({ env: { CHAT_DATA_DIR: dir }, envFile });
    expect([loaded.config.sqliteDriver, loaded.sources.sqliteDriver]).toEqual(['better-sqlite3', 'env file']);
    expect(describeConfig(loaded).find((r) => r.env === 'CHAT_SQLITE_DRIVER')).toMatchObject({ value: 'better-sqlite3', source: 'env file' });
    expect(() => loadConfig({ env: { CHAT_DATA_DIR: dir, CHAT_SQLITE_DRIVER: 'mysql' } })).toThrow(/CHAT_SQLITE_DRIVER: /);
  });

  it('the README\'s configuration table lists every setting, and no setting that does not exist', () => {
    const readme = fs.readFileSync(path.resolve(import.meta.dirname, '../../README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('### Configuration'));
    const table = section.slice(section.indexOf('| variable |'), section.indexOf('\n\n', section.indexOf('| variable |')));
    const rows = [...table.matchAll(/^\| `([A-Z0-9_]+)` \|/gm)].map((m) => m[1]!);
    const settings: string[] = Object.values(FIELDS).map((f) => f.env);
    expect(settings.filter((e) => !rows.includes(e))).toEqual([]);
    // One row is read outside the settings table: the config file's own name.
    expect(rows.filter((e) => !settings.includes(e) && e !== 'CHAT_CONFIG_FILE')).toEqual([]);
  });
});
