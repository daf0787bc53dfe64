/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`): where the CPU time went, by
 * package or source file and by function, self time and inclusive time.
 *
 *   tsx bench/profile.ts <file.cpuprofile> [--top=25]
 *
 * `npm run bench -- dm --profile` writes the profiles and prints this summary itself.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame { functionName: string; url: string; lineNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame; children?: number[] }
interface CpuProfile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }

export interface ProfileSummary {
  totalMs: number;
  idleMs: number;
  /** Self time by where the code lives: an npm package, a file of ours, node internals, GC. */
  byArea: { area: string; selfMs: number; pct: number }[];
  /** Hottest functions by self time. */
  bySelf: { fn: string; area: string; selfMs: number; pct: number }[];
  /** Our own functions by inclusive time (what each one costs with everything it calls). */
  oursInclusive: { fn: string; totalMs: number; pct: number }[];
}

function area(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (url.startsWith('node:')) return 'node internals';
  const m = /\/(dist|src|bench)\/(.*)$/.exec(url);
  return m ? `ours: ${m[2]!.replace(/\.js$/, '.ts')}` : path.basename(url);
}

export function summarise(profile: CpuProfile, top = 25): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));

  let total = 0;
  let idle = 0;
  const areas = new Map<string, number>();
  const fns = new Map<string, { area: string; us: number }>();
  const inclusive = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const n = byId.get(id)!;
    const { functionName, url, lineNumber } = n.callFrame;
    total += us;
    if (functionName === '(idle)') { idle += us; continue; }
    const a = area(url, functionName);
    areas.set(a, (areas.get(a) ?? 0) + us);
    const key = `${functionName || '(anonymous)'} ${url ? `${path.basename(url)}:${lineNumber + 1}` : ''}`.trim();
    const f = fns.get(key) ?? { area: a, us: 0 };
    f.us += us;
    fns.set(key, f);
    // Inclusive time of our functions: walk up the stack once per distinct frame.
    const seen = new Set<string>();
    for (let p: number | undefined = id; p !== undefined; p = parent.get(p)) {
      const cf = byId.get(p)!.callFrame;
      if (!/\/(dist|src)\//.test(cf.url) || cf.url.includes('node_modules')) continue;
      const k = `${cf.functionName || '(anonymous)'} ${area(cf.url, '').slice(6)}:${cf.lineNumber + 1}`;
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + us);
    }
  }
  const busy = total - idle;
  const ms = (us: number) => Math.round(us / 100) / 10;
  const pct = (us: number) => Math.round((us / busy) * 1000) / 10;
  return {
    totalMs: ms(total),
    idleMs: ms(idle),
    byArea: [...areas].sort((a, b) => b[1] - a[1]).slice(0, top).map(([a, us]) => ({ area: a, selfMs: ms(us), pct: pct(us) })),
    bySelf: [...fns].sort((a, b) => b[1].us - a[1].us).slice(0, top).map(([fn, f]) => ({ fn, area: f.area, selfMs: ms(f.us), pct: pct(f.us) })),
    oursInclusive: [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, top).map(([fn, us]) => ({ fn, totalMs: ms(us), pct: pct(us) })),
  };
}

export function printSummary(s: ProfileSummary, label: string) {
  console.log(`profile ${label}: ${s.totalMs} ms sampled, ${s.idleMs} ms idle; percentages are of busy time`);
  console.log('  self time by area:');
  for (const a of s.byArea) console.log(`    ${String(a.pct).padStart(5)}%  ${a.area}`);
  console.log('  hottest functions (self):');
  for (const f of s.bySelf) console.log(`    ${String(f.pct).padStart(5)}%  ${f.fn}  [${f.area}]`);
  console.log('  our functions (inclusive):');
  for (const f of s.oursInclusive) console.log(`    ${String(f.pct).padStart(5)}%  ${f.fn}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const file = process.argv[2];
  if (!file) { console.error('usage: tsx bench/profile.ts <file.cpuprofile> [--top=N]'); process.exit(2); }
  const top = Number(process.argv.find((a) => a.startsWith('--top='))?.slice(6) ?? 25);
  printSummary(summarise(JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile, top), path.basename(file));
}
