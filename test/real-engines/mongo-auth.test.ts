/**
 * chatd on a MongoDB that asks for a user and password, given as MONGODB_USERNAME and
 * MONGODB_PASSWORD_FILE (the password out of the URI, from a secret file): the services' second
 * FerretDB passes the client's user and password to PostgreSQL, which checks them (scram-sha-256).
 * With them, a message is stored and read back; with a wrong password or none, `chatd check` fails
 * and says why.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendAndReadBack, startDaemon, tmpDir, type TestDaemon } from '../support/daemon.js';
import { CHATD_BIN, spawnProc } from '../support/procs.js';
import { isolation } from '../support/services.js';
import { services } from './env.js';

const env = services('MONGODB_AUTH_URI', 'MONGODB_AUTH_TEST_USER', 'MONGODB_AUTH_TEST_PASSWORD', 'REDIS_URL', 'KAFKA_BROKERS');

if (env) {
  describe('MongoDB with a user and password', () => {
    const shared = isolation('mauth').env({ MONGODB_URI: env.MONGODB_AUTH_URI, REDIS_URL: env.REDIS_URL, KAFKA_BROKERS: env.KAFKA_BROKERS });
    const dir = tmpDir();
    const passwordFile = path.join(dir, 'mongodb-password');
    fs.writeFileSync(passwordFile, `${env.MONGODB_AUTH_TEST_PASSWORD}\n`, { mode: 0o600 });
    let d: TestDaemon;
    beforeAll(async () => {
      d = await startDaemon({ ...shared, MONGODB_USERNAME: env.MONGODB_AUTH_TEST_USER, MONGODB_PASSWORD_FILE: passwordFile });
    });
    afterAll(async () => { await d?.close(); });

    it('stores and reads back with the credentials', async () => {
      expect(await sendAndReadBack(d.url, 'with a MongoDB password')).toEqual({ seq: 1, texts: ['with a MongoDB password'] });
    });

    it('chatd check fails with a wrong password, and without credentials, and says why', async () => {
      const check = async (extra: Record<string, string>) => {
        const p = spawnProc(CHATD_BIN, ['check', '--data-dir', tmpDir()], { ...shared, ...extra });
        return { code: await p.exited, text: p.lines.join('\n') };
      };
      const ok = await check({ MONGODB_USERNAME: env.MONGODB_AUTH_TEST_USER, MONGODB_PASSWORD_FILE: passwordFile });
      const wrong = await check({ MONGODB_USERNAME: env.MONGODB_AUTH_TEST_USER, MONGODB_PASSWORD: 'not-the-password' });
      const none = await check({});
      const fail = (t: string) => t.split('\n').find((l) => /^FAIL store/.test(l));
      console.log(`chatd check on a password-checked MongoDB: right password exit ${ok.code}; wrong password exit ${wrong.code}: ${fail(wrong.text)}; none exit ${none.code}: ${fail(none.text)}`);
      expect(ok.code, ok.text).toBe(0);
      expect(wrong.code).toBe(1);
      // MongoDB says "Authentication failed."; FerretDB, that PostgreSQL refused it the connection.
      expect(fail(wrong.text)).toMatch(/[Aa]uthentication failed|failed to connect to `user=/);
      expect(none.code).toBe(1);
      expect(fail(none.text)).toMatch(/Username required|[Aa]uthentication|requires authentication/);
    }, 90_000);
  });
}
