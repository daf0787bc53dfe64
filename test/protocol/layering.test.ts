import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const src = path.resolve(import.meta.dirname, '../../src');
const bench = path.resolve(src, '../bench');

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
 * (`./x.js` is `./x.ts` or `./x.tsx`), packages stay as named. Paths are relative to src
 * (the bench's start with `../bench/`).
 */
function imports(file: string): string[] {
  const info = ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true);
  return info.importedFiles.map(({ fileName: spec }) => {
    if (!spec.startsWith('.')) return spec;
    const base = path.resolve(path.dirname(file), spec).replace(/\.js$/, '');
    const found = ['.ts', '.tsx', '/index.ts'].map((ext) => base + ext).find((p) => fs.existsSync(p));
    if (!found) throw new Error(`${path.relative(src, file)}: cannot resolve ${spec}`);
    return path.relative(src, found);
  });
}

interface Edge { from: string; to: string }
type Graph = Edge[];

const realGraph: Graph = [...files(src), ...files(bench)].flatMap((f) => imports(f).map((to) => ({ from: path.relative(src, f), to })));

const under = (p: string, dir: string) => p === dir || p.startsWith(`${dir}/`) || p === `${dir}.ts`;
const isPackage = (p: string) => !p.includes('/') || !/\.tsx?$/.test(p);
const pkg = (p: string) => (p.startsWith('@') ? p.split('/').slice(0, 2).join('/') : p.split('/')[0]!);

/** The daemon's shared helpers: neither a front door, a service, a port nor a deployment. */
const HELPERS = ['daemon/config.ts', 'daemon/config-files.ts', 'daemon/errors.ts', 'daemon/files.ts', 'daemon/iso-time.ts', 'daemon/logger.ts', 'daemon/native.ts', 'daemon/request-id.ts', 'daemon/validation.ts', 'daemon/ws-engine.ts'];
const FRONT_DOORS = ['daemon/http', 'daemon/gateway'];
const ROOTS = ['daemon/daemon.ts', 'daemon/main.ts'];
/** Engine drivers, each allowed in one deployment only. */
const DRIVERS: Record<string, string> = {
  'better-sqlite3': 'daemon/deployments/embedded', 'node:sqlite': 'daemon/deployments/embedded',
  mongoose: 'daemon/deployments/scaleout', mongodb: 'daemon/deployments/scaleout', ioredis: 'daemon/deployments/scaleout', kafkajs: 'daemon/deployments/scaleout', '@socket.io/redis-adapter': 'daemon/deployments/scaleout',
};

/** Each rule: the edges of a graph that break it (none on the real graph). */
const RULES: Record<string, (g: Graph) => Edge[]> = {
  'protocol is a leaf: it imports only zod and itself': (g) => g.filter((e) => under(e.from, 'protocol') && !(e.to === 'zod' || under(e.to, 'protocol'))),
  'shared is a leaf: node built-ins only': (g) => g.filter((e) => under(e.from, 'shared') && !e.to.startsWith('node:')),
  'cli, tui and client never import the daemon; client imports neither cli nor tui; tui never imports cli': (g) => g.filter((e) =>
    ((under(e.from, 'cli') || under(e.from, 'tui') || under(e.from, 'client')) && under(e.to, 'daemon'))
    || (under(e.from, 'client') && (under(e.to, 'cli') || under(e.to, 'tui')))
    || (under(e.from, 'tui') && under(e.to, 'cli'))),
  'the daemon never imports client, cli or tui (what both need lives in shared)': (g) => g.filter((e) => under(e.from, 'daemon') && (under(e.to, 'client') || under(e.to, 'cli') || under(e.to, 'tui'))),
  'front doors call services: never a port, a deployment, the roots or the other front door': (g) => g.filter((e) => {
    const door = FRONT_DOORS.find((d) => under(e.from, d));
    if (!door || isPackage(e.to)) return false;
    return !(under(e.to, 'protocol') || under(e.to, 'shared') || under(e.to, door) || under(e.to, 'daemon/services') || HELPERS.includes(e.to));
  }),
  'services see ports, the protocol, shared, helpers and each other: never a deployment, a front door or the roots': (g) => g.filter((e) =>
    under(e.from, 'daemon/services') && !isPackage(e.to)
    && !(under(e.to, 'protocol') || under(e.to, 'shared') || under(e.to, 'daemon/services') || under(e.to, 'daemon/ports') || HELPERS.includes(e.to))),
  'ports import only the protocol and each other (and types of packages)': (g) => g.filter((e) =>
    under(e.from, 'daemon/ports') && !isPackage(e.to) && !(under(e.to, 'protocol') || under(e.to, 'daemon/ports'))),
  'deployments fill ports: never a service, a front door or the roots; embedded and scale-out never import each other': (g) => g.filter((e) => {
    if (!under(e.from, 'daemon/deployments') || isPackage(e.to)) return false;
    if (under(e.from, 'daemon/deployments/embedded') && under(e.to, 'daemon/deployments/scaleout')) return true;
    if (under(e.from, 'daemon/deployments/scaleout') && under(e.to, 'daemon/deployments/embedded')) return true;
    return !(under(e.to, 'protocol') || under(e.to, 'daemon/ports') || under(e.to, 'daemon/deployments') || HELPERS.includes(e.to));
  }),
  // (The bench may use drivers itself, to count rows and drop what it made.)
  'each engine driver is used in its deployment only (all SQLite code embedded; all MongoDB, Redis and Kafka code scale-out)': (g) => g.filter((e) => {
    const home = DRIVERS[pkg(e.to)];
    return home !== undefined && !e.from.startsWith('../bench/') && !under(e.from, home);
  }),
  'helpers are below everything: they import the protocol, shared, ports and each other only': (g) => g.filter((e) =>
    HELPERS.includes(e.from) && !isPackage(e.to) && !(under(e.to, 'protocol') || under(e.to, 'shared') || under(e.to, 'daemon/ports') || HELPERS.includes(e.to))),
  'the bench reaches chatd through the deployment factory, the config loader and the protocol only': (g) => g.filter((e) =>
    e.from.startsWith('../bench/') && !isPackage(e.to) && !e.to.startsWith('../bench/')
    && !(under(e.to, 'protocol') || e.to === 'daemon/config.ts' || e.to === 'daemon/deployments/index.ts')),
};

/** One edge per rule that it must refuse: each rule is shown to fail on a graph that breaks it. */
const VIOLATIONS: Record<string, Edge> = {
  'protocol is a leaf: it imports only zod and itself': { from: 'protocol/schemas.ts', to: 'daemon/config.ts' },
  'shared is a leaf: node built-ins only': { from: 'shared/version.ts', to: 'protocol/index.ts' },
  'cli, tui and client never import the daemon; client imports neither cli nor tui; tui never imports cli': { from: 'client/api.ts', to: 'daemon/config.ts' },
  'the daemon never imports client, cli or tui (what both need lives in shared)': { from: 'daemon/main.ts', to: 'client/api.ts' },
  'front doors call services: never a port, a deployment, the roots or the other front door': { from: 'daemon/http/index.ts', to: 'daemon/deployments/scaleout/redis-cache.ts' },
  'services see ports, the protocol, shared, helpers and each other: never a deployment, a front door or the roots': { from: 'daemon/services/messages.ts', to: 'daemon/deployments/embedded/sqlite-store.ts' },
  'ports import only the protocol and each other (and types of packages)': { from: 'daemon/ports/log.ts', to: 'daemon/services/messages.ts' },
  'deployments fill ports: never a service, a front door or the roots; embedded and scale-out never import each other': { from: 'daemon/deployments/embedded/embedded-log.ts', to: 'daemon/deployments/scaleout/backoff.ts' },
  'each engine driver is used in its deployment only (all SQLite code embedded; all MongoDB, Redis and Kafka code scale-out)': { from: 'daemon/services/presence.ts', to: 'ioredis' },
  'helpers are below everything: they import the protocol, shared, ports and each other only': { from: 'daemon/errors.ts', to: 'daemon/deployments/embedded/sqlite-driver.ts' },
  'the bench reaches chatd through the deployment factory, the config loader and the protocol only': { from: '../bench/scenarios/persist-pipeline.ts', to: 'daemon/deployments/scaleout/mongo-store.ts' },
};

describe('module layering (the real import graph): front doors -> services -> ports <- deployments', () => {
  it('sees the imports a regex would miss: side-effect, type-only and dynamic ones, and the bench', () => {
    const targets = realGraph.map((e) => e.to);
    expect(targets).toContain('client/socket.ts'); // imported only dynamically by the CLI and as a type elsewhere
    expect(realGraph.some((e) => e.from.startsWith('../bench/') && e.to === 'daemon/deployments/index.ts')).toBe(true);
    expect(new Set(realGraph.map((e) => e.from)).size).toBeGreaterThan(100);
  });

  for (const [rule, check] of Object.entries(RULES)) {
    it(rule, () => {
      expect(check(realGraph).map((e) => `${e.from} imports ${e.to}`)).toEqual([]);
      // The same rule on the real graph with one offending edge added: it must catch it.
      const bad = VIOLATIONS[rule]!;
      expect(check([...realGraph, bad]), `the rule misses ${bad.from} -> ${bad.to}`).toContainEqual(bad);
    });
  }

  it('has a violation on record for every rule', () => {
    expect(Object.keys(VIOLATIONS).sort()).toEqual(Object.keys(RULES).sort());
  });
});
