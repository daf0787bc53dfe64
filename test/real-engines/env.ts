import { describe, it } from 'vitest';

export type ServiceVar = 'REDIS_URL' | 'KAFKA_BROKERS' | 'MONGODB_URI' | 'OPENSEARCH_URL' | 'COMPOSECHECK' | 'HELM' | 'KUBERNETES_VALIDATE' | 'SYSTEMD_ANALYZE' | 'PROMTOOL' | 'HAPROXY' | 'CHAT_PYTHON' | 'OPENAPI_PYTHON_CLIENT' | 'KAFKA_SASL_BROKERS' | 'KAFKA_SASL_TEST_USER' | 'KAFKA_SASL_TEST_PASSWORD' | 'MONGODB_AUTH_URI' | 'MONGODB_AUTH_TEST_USER' | 'MONGODB_AUTH_TEST_PASSWORD';

/**
 * Reads engine URLs from the environment, so the same suites run against the engines
 * `npm run services:up` starts, docker compose, or real MongoDB. Without them the suite
 * is skipped, unless CHAT_REQUIRE_SERVICES=1 (CI), where a missing engine is a failure.
 */
export function services<K extends ServiceVar>(...names: K[]): Record<K, string> | undefined {
  const missing = names.filter((n) => !process.env[n]);
  if (missing.length > 0) {
    if (process.env.CHAT_REQUIRE_SERVICES === '1') {
      describe('required services', () => {
        it(`has ${missing.join(', ')} set (CHAT_REQUIRE_SERVICES=1)`, () => {
          throw new Error(`${missing.join(', ')} not set: run "npm run services:up" and "source .services/env" (engines), or "bash scripts/deploy/tools.sh" and "source .ci/deploy-tools/env" (deployment tools)`);
        });
      });
    } else {
      describe.skip(`needs ${missing.join(', ')}`, () => { it('skipped', () => {}); });
    }
    return undefined;
  }
  return Object.fromEntries(names.map((n) => [n, process.env[n]!])) as Record<K, string>;
}
