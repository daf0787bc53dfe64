import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const src = path.resolve(import.meta.dirname, '../../src');

function files(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return files(p);
    return /\.(ts|tsx)$/.test(e.name) ? [p] : [];
  });
}

function imports(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => (m[1] ?? m[2])!);
}

describe('module layering', () => {
  it('src/protocol is a leaf: it imports only zod and itself', () => {
    for (const f of files(path.join(src, 'protocol'))) {
      for (const i of imports(f)) expect(i === 'zod' || i.startsWith('./'), `${path.relative(src, f)} imports ${i}`).toBe(true);
    }
  });

  it('cli, tui and client never import the daemon', () => {
    for (const dir of ['cli', 'tui', 'client']) {
      if (!fs.existsSync(path.join(src, dir))) continue;
      for (const f of files(path.join(src, dir))) {
        for (const i of imports(f)) {
          const resolved = i.startsWith('.') ? path.resolve(path.dirname(f), i) : i;
          expect(resolved.startsWith(path.join(src, 'daemon')), `${path.relative(src, f)} imports ${i}`).toBe(false);
        }
      }
    }
  });
});
