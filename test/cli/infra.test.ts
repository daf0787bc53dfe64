import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { INFRA_SECRETS, infraSecrets } from '../../src/cli/commands/infra.js';
import { tmpDir } from '../support/tmp.js';

describe('chat infra\'s secrets for the bundled compose file', () => {
  it('generates each missing one once, 0600 in a 0700 folder, and keeps it for the next run', () => {
    const dir = path.join(tmpDir(), 'chat');
    const first = infraSecrets(dir, {});
    expect(first.generated).toEqual([...INFRA_SECRETS]);
    expect(fs.statSync(first.file).mode & 0o777).toBe(0o600);
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    for (const name of INFRA_SECRETS) expect(first.vars[name], name).toMatch(/^[0-9a-f]{64}$/);
    expect(new Set(INFRA_SECRETS.map((n) => first.vars[n])).size).toBe(INFRA_SECRETS.length);
    // No Gemini key unless the user has one: empty is "no /ai", as the compose file asks.
    expect(first.vars.GEMINI_API_KEY).toBe('');
    const again = infraSecrets(dir, { GEMINI_API_KEY: 'k' });
    expect(again.generated).toEqual([]);
    expect(again.vars).toEqual({ ...first.vars, GEMINI_API_KEY: 'k' });
    // The environment wins, and is not written down.
    const mine = infraSecrets(dir, { REDIS_PASSWORD: 'mine' });
    expect(mine.vars.REDIS_PASSWORD).toBe('mine');
    expect(fs.readFileSync(first.file, 'utf8')).not.toContain('mine');
    // A file that lost a line gets only that one back.
    fs.writeFileSync(first.file, fs.readFileSync(first.file, 'utf8').replace(/^KAFKA_SASL_PASSWORD=.*\n/m, ''));
    const repaired = infraSecrets(dir, {});
    expect(repaired.generated).toEqual(['KAFKA_SASL_PASSWORD']);
    expect(repaired.vars.REDIS_PASSWORD).toBe(first.vars.REDIS_PASSWORD);
  });

  it('names every secret the compose file takes from the environment', () => {
    const compose = parse(fs.readFileSync(new URL('../../docker-compose.yml', import.meta.url), 'utf8'), { merge: true }) as { secrets: Record<string, { environment: string }> };
    const fromEnv = Object.values(compose.secrets).map((s) => s.environment).filter((n) => n !== 'GEMINI_API_KEY').sort();
    expect(fromEnv).toEqual([...INFRA_SECRETS].sort());
  });
});
