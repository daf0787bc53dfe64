/**
 * Issue 25, item 7: a config or secrets file that another local user can write was read
 * silently, and the start line said "secrets from the environment" when they came from the file.
 * Whoever can write the file can set JWT_ACCESS_SECRET and forge an admin's token.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/daemon/config.js';
import { tmpDir } from '../support/daemon.js';
import { CHATD_BIN, spawnChatd, spawnProc } from '../support/procs.js';

const SECRETS = { jwtAccessSecret: 'A'.repeat(40), jwtRefreshSecret: 'R'.repeat(40) };

function configFile(mode: number, content: unknown = SECRETS): string {
  const file = path.join(tmpDir(), 'config.json');
  fs.writeFileSync(file, JSON.stringify(content));
  fs.chmodSync(file, mode);
  return file;
}

const refusal = (f: () => unknown) => {
  try {
    f();
    return 'read';
  } catch (err) {
    return err instanceof ConfigError ? err.message : `other: ${(err as Error).message}`;
  }
};

describe('25.7 files chatd takes settings and secrets from', () => {
  it('refuses a config file, env file, *_FILE secret or secrets.json that its group or everyone can write', () => {
    const dir = tmpDir();
    const tried: Record<string, string> = {};
    tried['config 0666'] = refusal(() => loadConfig({ env: { CHAT_CONFIG_FILE: configFile(0o666), CHAT_DATA_DIR: dir } }));
    tried['config 0620'] = refusal(() => loadConfig({ env: { CHAT_CONFIG_FILE: configFile(0o620), CHAT_DATA_DIR: dir } }));
    const envFile = path.join(tmpDir(), 'chatd.env');
    fs.writeFileSync(envFile, `JWT_ACCESS_SECRET=${SECRETS.jwtAccessSecret}\n`);
    fs.chmodSync(envFile, 0o646);
    tried['env file 0646'] = refusal(() => loadConfig({ env: { CHAT_DATA_DIR: dir }, envFile }));
    const secretFile = path.join(tmpDir(), 'jwt');
    fs.writeFileSync(secretFile, SECRETS.jwtAccessSecret);
    fs.chmodSync(secretFile, 0o662);
    tried['JWT_ACCESS_SECRET_FILE 0662'] = refusal(() => loadConfig({ env: { CHAT_DATA_DIR: dir, JWT_ACCESS_SECRET_FILE: secretFile } }));
    const dataDir = tmpDir();
    fs.writeFileSync(path.join(dataDir, 'secrets.json'), JSON.stringify(SECRETS));
    fs.chmodSync(path.join(dataDir, 'secrets.json'), 0o666);
    tried['secrets.json 0666'] = refusal(() => loadConfig({ env: { CHAT_DATA_DIR: dataDir } }));
    console.log('files writable by others ->', tried);
    for (const [what, answer] of Object.entries(tried)) {
      expect(answer, what).toMatch(/^invalid configuration: [A-Za-z_-]+: refusing .* writable by (every user|its group) \(mode \d{3}\).*chmod go-w/);
    }
    // The same files, writable only by their owner, are read.
    fs.chmodSync(secretFile, 0o600);
    expect(loadConfig({ env: { CHAT_DATA_DIR: dir, JWT_ACCESS_SECRET_FILE: secretFile } }).config.jwtAccessSecret).toBe(SECRETS.jwtAccessSecret);
    expect(loadConfig({ env: { CHAT_CONFIG_FILE: configFile(0o644), CHAT_DATA_DIR: dir } }).config.jwtAccessSecret).toBe(SECRETS.jwtAccessSecret);
  });

  it('chatd start exits 2 on a world-writable config file, and names where each secret came from when it starts', async () => {
    const bad = configFile(0o666);
    const p = spawnProc(CHATD_BIN, ['start', '--port', '0', '--data-dir', tmpDir()], { CHAT_CONFIG_FILE: bad });
    const code = await p.exited;
    console.log(`chatd start with a 0666 config file: exit ${code}; ${p.lines.filter(Boolean).join(' | ')}`);
    expect(code).toBe(2);
    expect(p.lines.join('\n')).toMatch(/refusing .*config\.json: it is writable by every user/);

    const good = configFile(0o600);
    const dir = tmpDir();
    const secretFile = path.join(tmpDir(), 'refresh');
    fs.writeFileSync(secretFile, `${'S'.repeat(40)}\n`, { mode: 0o600 });
    const chatd = await spawnChatd(dir, { CHAT_CONFIG_FILE: good, JWT_REFRESH_SECRET_FILE: secretFile, GEMINI_API_KEY: 'k' });
    try {
      const line = await chatd.waitLine(/^chatd: listening on/);
      console.log('start line ->', line);
      expect(line).toBe(`chatd: listening on ${chatd.url}; data in ${dir}; secrets: JWT_ACCESS_SECRET from ${good}: jwtAccessSecret, JWT_REFRESH_SECRET from JWT_REFRESH_SECRET_FILE (${secretFile}), GEMINI_API_KEY from the environment (GEMINI_API_KEY)`);
    } finally {
      chatd.child.kill('SIGTERM');
      await chatd.exited;
    }
  });
});
