import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const src = path.resolve(import.meta.dirname, '../../src');

function files(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return files(p);
    return /\.(ts|tsx)$/.test(e.name) ? [p] : [];
  });
}

/**
 * The real import graph: TypeScript's own pre-parser lists every import and export-from, type-only,
 * side-effect and dynamic `import()` alike; relative specifiers resolve to the source file
 * (`./x.js` is `./x.ts` or `./x.tsx`), packages stay as named.
 */
function imports(file: string): string[] {
  const info = ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true);
  return info.importedFiles.map(({ fileName: spec }) => {
    if (!spec.startsWith('.')) return spec;
    const base = path.resolve(path.dirname(file), spec).replace(/\.js$/, '');
    const found = ['.ts', '.tsx', '/index.ts'].map((ext) => base + ext).find((p) => fs.existsSync(p));
    if (!found) throw new Error(`${path.relative(src, file)}: cannot resolve ${spec}`);
    return found;
  });
}

const graph = new Map(files(src).map((f) => [f, imports(f)]));
const rel = (p: string) => (path.isAbsolute(p) ? path.relative(src, p) : p);
/** Every edge from a file under `from` (a folder or a file, relative to src). */
const edges = (from: string) => [...graph].filter(([f]) => rel(f) === from || rel(f).startsWith(`${from}/`)).flatMap(([f, to]) => to.map((t) => ({ from: rel(f), to: rel(t) })));
const under = (p: string, dir: string) => p === dir || p.startsWith(`${dir}/`) || p.startsWith(`${dir}.`);

describe('module layering (the real import graph)', () => {
  it('sees the imports the old regex missed: side-effect, type-only and dynamic ones', () => {
    const all = [...graph.values()].flat().map(rel);
    expect(all).toContain('client/socket.ts'); // imported only dynamically by the CLI and as a type elsewhere
    expect(graph.size).toBeGreaterThan(50);
  });

  it('src/protocol is a leaf: it imports only zod and itself', () => {
    for (const e of edges('protocol')) expect(e.to === 'zod' || under(e.to, 'protocol'), `${e.from} imports ${e.to}`).toBe(true);
  });

  it('cli, tui and client never import the daemon; client imports neither cli nor tui; tui never imports cli', () => {
    for (const e of [...edges('cli'), ...edges('tui'), ...edges('client')]) expect(under(e.to, 'daemon'), `${e.from} imports ${e.to}`).toBe(false);
    for (const e of edges('client')) expect(under(e.to, 'cli') || under(e.to, 'tui'), `${e.from} imports ${e.to}`).toBe(false);
    for (const e of edges('tui')) expect(under(e.to, 'cli'), `${e.from} imports ${e.to}`).toBe(false);
  });

  it('the two front doors share validation, not each other: gateway and http never import one another', () => {
    for (const e of edges('daemon/gateway.ts')) expect(e.to, e.from).not.toBe('daemon/http.ts');
    for (const e of edges('daemon/http.ts')) expect(e.to, e.from).not.toBe('daemon/gateway.ts');
  });

  it('engines know nothing above them; the log knows engines but no service or front door; services see engines and the log only through their interfaces', () => {
    const above = ['daemon/services', 'daemon/gateway', 'daemon/http', 'daemon/daemon', 'daemon/main'];
    for (const e of edges('daemon/engines')) {
      const ok = !above.some((d) => under(e.to, d)) && (!under(e.to, 'daemon/log') || e.from === 'daemon/engines/index.ts');
      expect(ok, `${e.from} imports ${e.to}`).toBe(true);
    }
    for (const e of edges('daemon/log')) expect(above.some((d) => under(e.to, d)), `${e.from} imports ${e.to}`).toBe(false);
    for (const e of edges('daemon/services')) {
      const ok = !under(e.to, 'daemon/gateway') && !under(e.to, 'daemon/http') && (!under(e.to, 'daemon/engines') || e.to === 'daemon/engines/types.ts') && (!under(e.to, 'daemon/log') || e.to === 'daemon/log/types.ts');
      expect(ok, `${e.from} imports ${e.to}`).toBe(true);
    }
  });
});

describe('the bench reaches the daemon only through its public entry points', () => {
  const bench = path.resolve(src, '../bench');
  const allowed = ['daemon/engines/index.ts', 'daemon/config.ts'];
  const benchEdges = files(bench).flatMap((f) => imports(f).filter((t) => path.isAbsolute(t) && t.startsWith(`${src}/`)).map((t) => ({ from: path.relative(bench, f), to: rel(t) })));

  it('sees the bench files that use the engines', () => {
    expect(benchEdges.map((e) => e.to)).toContain('daemon/engines/index.ts');
  });

  it('imports from src only the protocol, the config loader and the engines entry point (no engine internals)', () => {
    for (const e of benchEdges) expect(under(e.to, 'protocol') || allowed.includes(e.to), `bench/${e.from} imports src/${e.to}`).toBe(true);
  });
});
