/**
 * `chat infra up` hands the bundled compose file its secrets: generated once into a 0600 file in a
 * 0700 folder, and passed to `docker compose` in its environment, never in its arguments (which
 * any local user reads in `ps`). No Docker engine runs here, so `docker` is a script that answers
 * the CLI's two probes and writes down the arguments and the secrets' variables it was given.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { INFRA_SECRETS } from '../../src/cli/commands/infra.js';
import { runChat } from '../support/procs.js';
import { tmpDir } from '../support/tmp.js';

describe('chat infra and the compose secrets', () => {
  it('generates them once into a 0600 file and gives them to docker compose by environment, not by argument', async () => {
    const dir = tmpDir();
    const bin = path.join(dir, 'bin');
    const seen = path.join(dir, 'seen');
    fs.mkdirSync(bin);
    const names = [...INFRA_SECRETS, 'GEMINI_API_KEY'];
    fs.writeFileSync(path.join(bin, 'docker'), [
      '#!/bin/sh',
      'case "$1 $2" in "compose version") exit 0;; "info --format") echo 27.0.0; exit 0;; esac',
      `{ echo "ARGS $*"; for v in ${names.join(' ')}; do eval "echo ENV $v=\\$$v"; done; } >> "${seen}"`,
    ].join('\n') + '\n', { mode: 0o755 });
    const config = path.join(dir, 'config');
    const env = { CHAT_CONFIG_DIR: config, PATH: `${bin}:${process.env.PATH}` };
    const up = await runChat(['infra', 'up'], { env });
    expect(up.code, up.stderr).toBe(0);
    expect(up.stderr).toMatch(/generated JWT_ACCESS_SECRET, .* into .*infra\.env/);
    const file = path.join(config, 'infra.env');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.statSync(config).mode & 0o777).toBe(0o700);
    const stored = Object.fromEntries(fs.readFileSync(file, 'utf8').split('\n').filter((l) => /^[A-Z_]+=/.test(l)).map((l) => l.split('=') as [string, string]));
    const first = fs.readFileSync(seen, 'utf8');
    const args = first.split('\n').find((l) => l.startsWith('ARGS '))!;
    expect(args).toMatch(/^ARGS compose -f \S+docker-compose\.yml up -d --wait$/);
    for (const name of INFRA_SECRETS) {
      expect(stored[name], name).toMatch(/^[0-9a-f]{64}$/);
      expect(first).toContain(`ENV ${name}=${stored[name]}`);
      expect(args).not.toContain(stored[name]);
    }
    expect(first).toContain('ENV GEMINI_API_KEY=\n');
    // The next run reuses them (the volumes were made with them) and says nothing about generating.
    const status = await runChat(['infra', 'status'], { env });
    expect(status.code).toBe(0);
    expect(status.stderr).not.toMatch(/generated/);
    const second = fs.readFileSync(seen, 'utf8').slice(first.length);
    expect(second).toMatch(/^ARGS compose -f \S+ ps$/m);
    for (const name of INFRA_SECRETS) expect(second).toContain(`ENV ${name}=${stored[name]}`);
  });
});
