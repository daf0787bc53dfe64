/**
 * The dashboard and alert rules in deploy/ refer only to metrics chatd exports: every chatd_*
 * name in them is in a real embedded chatd's /metrics (the scale-out backlog gauge, which only a
 * scale-out node exports, is checked on one in test/real-engines/two-nodes.test.ts).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startDaemon, type TestDaemon } from '../support/daemon.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const SCALE_OUT_ONLY = new Set(['chatd_pipeline_backlog']);
/** Prometheus' own series, and prom-client's default Node metrics (exported by every chatd). */
const external = (name: string) => name === 'up' || name.startsWith('nodejs_') || name.startsWith('process_');

function metricNames(expr: string): string[] {
  // Histogram suffixes name the histogram.
  return [...expr.matchAll(/\b((?:chatd|nodejs|process)_[a-z0-9_]+|up)\b(?=\s*[{[(]|\s*[=<>!)]|\s*$)/g)].map((m) => m[1]!.replace(/_(bucket|count|sum)$/, ''));
}

describe('deploy/: Grafana dashboard and Prometheus alert rules', () => {
  let d: TestDaemon;
  let exported: Set<string>;
  beforeAll(async () => {
    d = await startDaemon();
    const text = await (await fetch(new URL('/metrics', d.url))).text();
    exported = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
  });
  afterAll(() => d?.close());

  it('every metric the alert rules and the dashboard query is one chatd exports', () => {
    const rules = parse(fs.readFileSync(path.join(ROOT, 'deploy/prometheus/chatd-alerts.yml'), 'utf8')) as { groups: { rules: { alert: string; expr: string; for: string; labels: { severity: string }; annotations: { summary: string } }[] }[] };
    const dashboard = JSON.parse(fs.readFileSync(path.join(ROOT, 'deploy/grafana/chatd-dashboard.json'), 'utf8')) as { uid: string; panels: { title: string; targets: { expr: string }[] }[] };
    const alerts = rules.groups.flatMap((g) => g.rules);
    const exprs = [...alerts.map((r) => r.expr), ...dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr))];
    const used = new Set(exprs.flatMap(metricNames));
    const unknown = [...used].filter((n) => !external(n) && !SCALE_OUT_ONLY.has(n) && !exported.has(n));
    console.log(`${alerts.length} alerts and ${dashboard.panels.length} panels query ${used.size} metrics: ${[...used].sort().join(', ')}; not exported: ${unknown.join(', ') || 'none'}`);
    expect(unknown).toEqual([]);
    expect(used.size).toBeGreaterThanOrEqual(8);
    for (const name of ['nodejs_eventloop_lag_p99_seconds', 'process_resident_memory_bytes']) if (used.has(name)) expect(exported.has(name), name).toBe(true);
    for (const a of alerts) {
      expect(a.alert).toMatch(/^Chatd[A-Z]\w+$/);
      expect(['warning', 'critical']).toContain(a.labels.severity);
      expect(a.annotations.summary.length).toBeGreaterThan(10);
    }
    expect(new Set(dashboard.panels.map((p) => p.title)).size).toBe(dashboard.panels.length);
  });

  it('every `chat …` command an alert tells operators to run is a command chat has', () => {
    const text = fs.readFileSync(path.join(ROOT, 'deploy/prometheus/chatd-alerts.yml'), 'utf8');
    const commands = [...text.matchAll(/`chat ([a-z][a-z ]*[a-z])`/g)].map((m) => m[1]!);
    expect(commands.length).toBeGreaterThanOrEqual(2);
    for (const words of [...commands, 'admin replay']) {
      // commander prints the usage of the deepest command it found: the whole path when it exists.
      const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/chat.js'), ...words.split(' '), '--help'], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
      const found = new RegExp(`^Usage: chat ${words} `, 'm').test(r.stdout);
      // `chat admin replay`, which the alert named once, is no command: the check tells.
      expect(found, `chat ${words}`).toBe(words !== 'admin replay');
    }
  });

  it('finds a metric name chatd does not export (the check can fail)', () => {
    const names = metricNames('sum(rate(chatd_messages_sent_totl{job="chatd"}[5m])) and up == 0');
    expect(names).toEqual(['chatd_messages_sent_totl', 'up']);
    expect(exported.has('chatd_messages_sent_totl')).toBe(false);
    expect(exported.has('chatd_messages_sent_total')).toBe(true);
  });
});
