/**
 * chatd on a Kafka that asks for authentication (SASL/PLAIN, as hosted Kafka services and most
 * production clusters do): the services' broker has a second listener that requires it. With the
 * credentials, a message goes through Kafka into MongoDB; with a wrong password or none, `chatd
 * check` fails and says why.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendAndReadBack, startDaemon, tmpDir, type TestDaemon } from '../support/daemon.js';
import { CHATD_BIN, spawnProc } from '../support/procs.js';
import { isolation } from '../support/services.js';
import { services } from './env.js';

const env = services('MONGODB_URI', 'REDIS_URL', 'KAFKA_SASL_BROKERS', 'KAFKA_SASL_TEST_USER', 'KAFKA_SASL_TEST_PASSWORD');

if (env) {
  describe('Kafka with SASL authentication', () => {
    const shared = isolation('sasl').env({ MONGODB_URI: env.MONGODB_URI, REDIS_URL: env.REDIS_URL, KAFKA_BROKERS: env.KAFKA_SASL_BROKERS });
    let d: TestDaemon;
    let passwordFile: string;
    beforeAll(async () => {
      // The password as a file (KAFKA_SASL_PASSWORD_FILE), as a Secret or a credential would give it.
      passwordFile = path.join(tmpDir(), 'kafka-password');
      fs.writeFileSync(passwordFile, `${env.KAFKA_SASL_TEST_PASSWORD}\n`, { mode: 0o600 });
      d = await startDaemon({ ...shared, KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: env.KAFKA_SASL_TEST_USER, KAFKA_SASL_PASSWORD_FILE: passwordFile });
    });
    afterAll(async () => { await d?.close(); });

    it('sends and stores through the authenticated listener', async () => {
      expect(await sendAndReadBack(d.url, 'through SASL')).toEqual({ seq: 1, texts: ['through SASL'] });
      const ready = await (await fetch(new URL('/readyz', d.url))).json() as { status: string };
      expect(ready.status).toBe('ok');
    });

    it('chatd check fails with a wrong password, and without credentials, and says why', async () => {
      const check = async (extra: Record<string, string>) => {
        const p = spawnProc(CHATD_BIN, ['check', '--data-dir', tmpDir()], { ...shared, ...extra });
        const code = await p.exited;
        return { code, text: p.lines.join('\n') };
      };
      const ok = await check({ KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: env.KAFKA_SASL_TEST_USER, KAFKA_SASL_PASSWORD: env.KAFKA_SASL_TEST_PASSWORD });
      const wrong = await check({ KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: env.KAFKA_SASL_TEST_USER, KAFKA_SASL_PASSWORD: 'not-the-password' });
      const none = await check({});
      console.log(`chatd check through the SASL listener: right password exit ${ok.code}; wrong password exit ${wrong.code}: ${wrong.text.split('\n').find((l) => /FAIL/.test(l))}; none exit ${none.code}: ${none.text.split('\n').find((l) => /FAIL/.test(l))}`);
      expect(ok.code).toBe(0);
      expect(wrong.code).toBe(1);
      expect(wrong.text).toMatch(/FAIL .*SASL|FAIL .*[Aa]uthentication/);
      expect(none.code).toBe(1);
      expect(none.text).toMatch(/FAIL/);
      // A mechanism without its user and password is a configuration error before anything connects.
      const half = await check({ KAFKA_SASL_MECHANISM: 'plain' });
      expect(half.code).toBe(2);
      expect(half.text).toMatch(/KAFKA_SASL_USERNAME: must be set with KAFKA_SASL_MECHANISM=plain/);
    }, 90_000);
  });
}
