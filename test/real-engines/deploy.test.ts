/**
 * The deployment files, checked with the tools that consume them, without Docker or a cluster:
 * docker-compose.yml loaded by compose-go (interpolation, the Compose specification's schema,
 * normalization: what `docker compose` does first), the Helm chart rendered by `helm template`
 * and every object validated by kubernetes-validate against the Kubernetes API schemas.
 * The tools come from `bash scripts/deploy/tools.sh` (paths in .ci/deploy-tools/env).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { befriend, registerUser, startDaemon, tmpDir } from '../support/daemon.js';
import { services } from './env.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const CHART = path.join(ROOT, 'deploy/helm/chatd');
/** The oldest Kubernetes minor the chart is validated against, and the newest kubernetes-validate knows. */
const KUBE_VERSIONS = ['1.30.0', '1.37.0'];
const tools = services('COMPOSECHECK', 'HELM', 'KUBERNETES_VALIDATE', 'SYSTEMD_ANALYZE', 'PROMTOOL');

const run = (cmd: string, args: string[], input?: string) => {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, input });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

interface ComposeService { image?: string; ports?: { host_ip?: string; published?: string; target: number }[]; build?: unknown; stop_grace_period?: string }

if (tools) {
  describe('docker-compose.yml', () => {
    const passwords = ['MONGO_ROOT_PASSWORD=r', 'MONGODB_PASSWORD=m', 'REDIS_PASSWORD=p', 'KAFKA_BROKER_PASSWORD=kb', 'KAFKA_SASL_PASSWORD=ks'];
    const secrets = ['JWT_ACCESS_SECRET=a', 'JWT_REFRESH_SECRET=b', 'GEMINI_API_KEY=', ...passwords];

    it('loads under the Compose specification (compose-go, as docker compose does); every image pinned, every port on 127.0.0.1', () => {
      const r = run(tools.COMPOSECHECK, [path.join(ROOT, 'docker-compose.yml'), ...secrets]);
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      const project = JSON.parse(r.out) as { services: Record<string, ComposeService> };
      const names = Object.keys(project.services).sort();
      const images = names.map((n) => `${n}=${project.services[n]!.image}`);
      const ports = names.flatMap((n) => (project.services[n]!.ports ?? []).map((p) => `${n} ${p.host_ip ?? '0.0.0.0'}:${p.published}->${p.target}`));
      console.log(`compose: ${names.length} services; images ${images.join(' ')}; ports ${ports.join(', ')}`);
      // The Kafka UI is under the debug profile: not in the default project.
      expect(names).toEqual(['chatd-1', 'chatd-2', 'kafka-1', 'kafka-2', 'kafka-3', 'mongo', 'opensearch', 'redis']);
      for (const n of names) {
        // A release tag (x.y.z) or a digest: never latest, never a bare major.
        expect(project.services[n]!.image, n).toMatch(/:v?\d+\.\d+\.\d+[\w.-]*$|@sha256:[0-9a-f]{64}$/);
        for (const p of project.services[n]!.ports ?? []) expect(p.host_ip, `${n} publishes ${p.published}`).toBe('127.0.0.1');
      }
      expect(project.services['chatd-1']!.build).toBeTruthy();
      expect(ports.length).toBeGreaterThanOrEqual(2);
      const loaded = project as unknown as { secrets: Record<string, { environment?: string }>; services: Record<string, { secrets?: { source: string; target: string }[]; deploy?: { resources?: { limits?: { memory?: string } } } }> };
      expect(loaded.secrets.jwt_access_secret!.environment).toBe('JWT_ACCESS_SECRET');
      expect(loaded.services['chatd-1']!.secrets!.map((x) => x.target)).toEqual(['jwt_access_secret', 'jwt_refresh_secret', 'gemini_api_key', 'mongodb_password', 'redis_password', 'kafka_sasl_password'].map((n) => `/run/secrets/${n}`));
      for (const n of names) expect(Number(loaded.services[n]!.deploy?.resources?.limits?.memory), n).toBeGreaterThan(0);
    });

    it('refuses to start chatd without the JWT secrets, and the schema refuses a misspelt key', () => {
      const noSecrets = run(tools.COMPOSECHECK, [path.join(ROOT, 'docker-compose.yml')]);
      expect(noSecrets.code).toBe(1);
      expect(noSecrets.err).toMatch(/required variable JWT_ACCESS_SECRET is missing a value/);
      // GEMINI_API_KEY must be set, empty for no /ai.
      const noGemini = run(tools.COMPOSECHECK, [path.join(ROOT, 'docker-compose.yml'), 'JWT_ACCESS_SECRET=a', 'JWT_REFRESH_SECRET=b', ...passwords]);
      expect(noGemini.code).toBe(1);
      expect(noGemini.err).toMatch(/GEMINI_API_KEY/);
      // Each engine's password too: none of them runs without one.
      for (const pw of passwords) {
        const name = pw.split('=')[0]!;
        const without = run(tools.COMPOSECHECK, [path.join(ROOT, 'docker-compose.yml'), ...secrets.filter((s) => s !== pw)]);
        expect(without.code, name).toBe(1);
        expect(without.err).toMatch(new RegExp(`required variable ${name} is missing a value`));
      }
      // The same file with one key misspelt: rejected by the schema, not only by our own checks.
      const bad = path.join(tmpDir(), 'docker-compose.yml');
      const original = fs.readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8');
      const misspelt = original.replace(/\n {2}redis:\n {4}image: (\S+)\n {4}restart:/, '\n  redis:\n    image: $1\n    restrat:');
      expect(misspelt).not.toBe(original);
      fs.writeFileSync(bad, misspelt);
      const r = run(tools.COMPOSECHECK, [bad, ...secrets]);
      console.log(`misspelt key: exit ${r.code}: ${r.err.trim()}`);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/redis.*restrat/);
    });

    it('the Dockerfile installs dependencies before it copies code, listens on 0.0.0.0, keeps /data in a volume and checks /readyz', () => {
      const lines = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8').split('\n').map((l) => l.trim());
      const at = (re: RegExp) => lines.findIndex((l) => re.test(l));
      expect(at(/^RUN npm ci /)).toBeGreaterThan(at(/^COPY package\.json npm-shrinkwrap\.json \.\/$/));
      expect(at(/^COPY dist /)).toBeGreaterThan(at(/^RUN npm ci /));
      expect(at(/^HOST=0\.0\.0\.0/)).toBeGreaterThan(0);
      expect(at(/^VOLUME \["\/data"\]$/)).toBeGreaterThan(0);
      expect(at(/^HEALTHCHECK /)).toBeGreaterThan(0);
      expect(lines.some((l) => l.includes('/readyz'))).toBe(true);
      expect(at(/^USER node$/)).toBeGreaterThan(0);
    });
  });

  describe('Helm chart', () => {
    const required = ['--set', 'secrets.jwtAccessSecret=access-secret-value', '--set', 'secrets.jwtRefreshSecret=refresh-secret-value', '--set', 'secrets.mongodbUri=mongodb://mongo:27017/chat', '--set', 'secrets.redisUrl=redis://redis:6379'];
    type Obj = { kind: string; apiVersion: string; metadata: { name: string }; spec?: any; data?: Record<string, string> };
    const render = (extra: string[] = []) => {
      const r = run(tools.HELM, ['template', 'chat', CHART, ...required, ...extra]);
      return { ...r, objects: r.code === 0 ? parseAllDocuments(r.out).map((d) => d.toJS() as Obj).filter(Boolean) : [] };
    };

    it('passes helm lint', () => {
      const r = run(tools.HELM, ['lint', '--strict', CHART, ...required]);
      expect(r.out + r.err).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
      expect(r.code).toBe(0);
    });

    it(`renders objects that validate against the Kubernetes ${KUBE_VERSIONS.join(' and ')} schemas (strict: no unknown fields)`, () => {
      const everything = ['--set', 'autoscaling.enabled=false', '--set', 'replicaCount=3', '--set', 'existingSecret=chat-creds', '--set', 'ingress.enabled=true', '--set', 'ingress.tlsSecretName=chat-tls', '--set', 'networkPolicy.enabled=true', '--set', 'networkPolicy.httpFrom[0].namespaceSelector.matchLabels.team=edge', '--set', 'metrics.serviceMonitor.enabled=true'];
      for (const extra of [[], everything]) {
        const r = render(extra);
        expect(r.code, r.err).toBe(0);
        const file = path.join(tmpDir(), 'chart.yaml');
        // The ServiceMonitor is the Prometheus Operator's kind: kubernetes-validate has no schema
        // for it (its shape is checked below); every other object is validated.
        const docs = r.out.split(/^---$/m).filter((d) => !/^kind: ServiceMonitor$/m.test(d));
        fs.writeFileSync(file, docs.join('---'));
        for (const v of KUBE_VERSIONS) {
          const k = run(tools.KUBERNETES_VALIDATE, ['--strict', '-k', v, file]);
          console.log(`kubernetes-validate ${v} (${extra.join(' ') || 'defaults'}): exit ${k.code}; ${r.objects.map((o) => o.kind).join(', ')}`);
          expect(k.out + k.err).not.toMatch(/ERROR|WARN/);
          expect(k.code).toBe(0);
        }
      }
    });

    it('a Deployment probing /healthz and /readyz, draining within the grace period, with secrets from a Secret and settings from a ConfigMap', () => {
      const { objects } = render();
      const kinds = objects.map((o) => o.kind).sort();
      expect(kinds).toEqual(['ConfigMap', 'Deployment', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'Secret', 'Service']);
      const deploy = objects.find((o) => o.kind === 'Deployment')!;
      const pod = deploy.spec.template.spec;
      const c = pod.containers[0];
      expect(c.livenessProbe.httpGet.path).toBe('/healthz');
      expect(c.readinessProbe.httpGet.path).toBe('/readyz');
      expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(30);
      expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true });
      const env = Object.fromEntries(c.env.map((e: { name: string; value?: string }) => [e.name, e.value]));
      for (const v of ['JWT_ACCESS_SECRET_FILE', 'JWT_REFRESH_SECRET_FILE', 'MONGODB_URI_FILE', 'REDIS_URL_FILE']) expect(env[v]).toMatch(/^\/run\/secrets\/chatd\//);
      const cm = objects.find((o) => o.kind === 'ConfigMap')!;
      expect(cm.data).toMatchObject({ HOST: '0.0.0.0', CHAT_DEPLOYMENT: 'scaleout' });
      expect(JSON.stringify(cm.data)).not.toMatch(/secret-value|mongodb:\/\/|redis:\/\//);
      const hpa = objects.find((o) => o.kind === 'HorizontalPodAutoscaler')!;
      expect(hpa.spec.metrics[0].resource.name).toBe('cpu');
      // With the autoscaler on, the Deployment leaves the replica count to it.
      expect(deploy.spec.replicas).toBeUndefined();
      expect(render(['--set', 'autoscaling.enabled=false', '--set', 'replicaCount=3']).objects.find((o) => o.kind === 'Deployment')!.spec.replicas).toBe(3);
    });

    it('routes a long-polling client to one replica: Service affinity by client address, and an Ingress that hashes on it with hour-long WebSocket timeouts', () => {
      const svc = render().objects.find((o) => o.kind === 'Service')!;
      expect(svc.spec.sessionAffinity).toBe('ClientIP');
      expect(svc.spec.sessionAffinityConfig.clientIP.timeoutSeconds).toBeGreaterThanOrEqual(3600);
      expect(render().objects.some((o) => o.kind === 'Ingress')).toBe(false);
      const ing = render(['--set', 'ingress.enabled=true']).objects.find((o) => o.kind === 'Ingress')!;
      console.log('Ingress annotations ->', ing.metadata as unknown);
      expect((ing.metadata as unknown as { annotations: Record<string, string> }).annotations).toMatchObject({ 'nginx.ingress.kubernetes.io/upstream-hash-by': '$remote_addr', 'nginx.ingress.kubernetes.io/proxy-read-timeout': '3600' });
      expect(ing.spec.rules[0].http.paths[0].backend.service.port.name).toBe('http');
    });

    it('rolls the pods when a credential changes, serves metrics on a port of their own, trusts the ingress\'s X-Forwarded-For, and renders a ServiceMonitor and a NetworkPolicy', () => {
      const annotations = (extra: string[]) => render(extra).objects.find((o) => o.kind === 'Deployment')!.spec.template.metadata.annotations as Record<string, string>;
      const before = annotations([]);
      const rotated = annotations(['--set', 'secrets.jwtAccessSecret=rotated-access-secret']);
      console.log(`checksum/secret: ${before['checksum/secret']!.slice(0, 12)}… -> ${rotated['checksum/secret']!.slice(0, 12)}… after a rotation; checksum/config unchanged: ${before['checksum/config'] === rotated['checksum/config']}`);
      expect(rotated['checksum/secret']).not.toBe(before['checksum/secret']);
      expect(rotated['checksum/config']).toBe(before['checksum/config']);

      const plain = render().objects;
      const cm = (objects: Obj[]) => objects.find((o) => o.kind === 'ConfigMap')!.data!;
      expect(cm(plain)).toMatchObject({ CHAT_METRICS_PORT: '9464', CHAT_METRICS_HOST: '0.0.0.0' });
      expect(cm(plain).CHAT_TRUST_PROXY).toBeUndefined();
      const pod = plain.find((o) => o.kind === 'Deployment')!.spec.template;
      expect(pod.spec.containers[0].ports.map((p: { name: string; containerPort: number }) => `${p.name}:${p.containerPort}`)).toEqual(['http:3000', 'metrics:9464']);
      expect(pod.metadata.annotations['prometheus.io/port']).toBe('9464');
      expect(plain.some((o) => o.kind === 'ServiceMonitor' || o.kind === 'NetworkPolicy')).toBe(false);

      const all = render(['--set', 'ingress.enabled=true', '--set', 'metrics.serviceMonitor.enabled=true', '--set', 'metrics.serviceMonitor.labels.release=prom', '--set', 'networkPolicy.enabled=true', '--set', 'networkPolicy.httpFrom[0].namespaceSelector.matchLabels.team=edge']).objects;
      expect(cm(all).CHAT_TRUST_PROXY).toBe('true');
      const sm = all.find((o) => o.kind === 'ServiceMonitor')!;
      expect(sm.apiVersion).toBe('monitoring.coreos.com/v1');
      expect((sm.metadata as unknown as { labels: Record<string, string> }).labels.release).toBe('prom');
      expect(sm.spec.endpoints).toEqual([{ port: 'metrics', path: '/metrics', interval: '30s' }]);
      expect(sm.spec.selector.matchLabels).toEqual(all.find((o) => o.kind === 'Deployment')!.spec.selector.matchLabels);
      const np = all.find((o) => o.kind === 'NetworkPolicy')!;
      expect(np.spec.policyTypes).toEqual(['Ingress']);
      expect(np.spec.ingress[0]).toEqual({ ports: [{ port: 'http', protocol: 'TCP' }], from: [{ namespaceSelector: { matchLabels: { team: 'edge' } } }] });
      expect(np.spec.ingress[1].ports).toEqual([{ port: 'metrics', protocol: 'TCP' }]);
    });

    it('refuses to render without the credentials, and renders no Secret when an existing one is named', () => {
      const r = run(tools.HELM, ['template', 'chat', CHART]);
      expect(r.code).not.toBe(0);
      expect(r.err).toMatch(/secrets\.jwtAccessSecret is required/);
      const named = run(tools.HELM, ['template', 'chat', CHART, '--set', 'existingSecret=chat-creds']);
      expect(named.code).toBe(0);
      const objects = parseAllDocuments(named.out).map((d) => d.toJS() as Obj).filter(Boolean);
      expect(objects.some((o) => o.kind === 'Secret')).toBe(false);
      expect(objects.find((o) => o.kind === 'Deployment')!.spec.template.spec.volumes.find((v: { name: string }) => v.name === 'secrets').secret.secretName).toBe('chat-creds');
    });
  });

  describe('systemd unit', () => {
    const verify = (file: string) => run(tools.SYSTEMD_ANALYZE, ['verify', file]);
    it('deploy/systemd/chatd.service passes systemd-analyze verify without a warning; a misspelt directive does not', () => {
      const unit = path.join(ROOT, 'deploy/systemd/chatd.service');
      const ok = verify(unit);
      expect(ok.err.trim()).toBe('');
      expect(ok.code).toBe(0);
      const text = fs.readFileSync(unit, 'utf8');
      expect(text).toMatch(/^ExecStart=.*chatd start$/m);
      expect(text).toMatch(/^StateDirectoryMode=0700$/m);
      const bad = path.join(tmpDir(), 'chatd.service');
      fs.writeFileSync(bad, text.replace('TimeoutStopSec=', 'TimeoutStopSek='));
      const r = verify(bad);
      console.log(`systemd-analyze verify: ${ok.code}, and with a misspelt key: ${r.err.trim()}`);
      expect(r.err).toMatch(/Unknown key 'TimeoutStopSek'/);
    });

    it('is rated below 3 by systemd-analyze security, and takes its secrets as credentials, not environment variables', () => {
      const unit = path.join(ROOT, 'deploy/systemd/chatd.service');
      // --threshold is on the 0-100 scale; the level printed is that divided by 10.
      const rate = (file: string) => {
        const r = run(tools.SYSTEMD_ANALYZE, ['security', '--offline=true', '--threshold=30', file]);
        return { code: r.code, level: Number(/Overall exposure level for \S+: ([\d.]+)/.exec(r.out)?.[1]) };
      };
      const ok = rate(unit);
      const text = fs.readFileSync(unit, 'utf8');
      // Without its sandboxing (the unit as it was: capabilities, system calls, /proc and the rest open) it is rated above 3, and the check fails.
      const loose = path.join(tmpDir(), 'chatd.service');
      fs.writeFileSync(loose, text.split('\n').filter((l) => !/^(CapabilityBoundingSet|AmbientCapabilities|SystemCall|PrivateUsers|PrivateMounts|ProtectKernelLogs|ProtectClock|ProtectHostname|ProtectProc|ProcSubset|RestrictRealtime|RestrictSUIDSGID|DevicePolicy|RemoveIPC)=/.test(l)).join('\n'));
      const before = rate(loose);
      console.log(`systemd-analyze security: ${ok.level} (exit ${ok.code}); without the sandboxing: ${before.level} (exit ${before.code})`);
      expect(ok.code).toBe(0);
      expect(ok.level).toBeLessThan(3);
      expect(before.code).not.toBe(0);
      expect(before.level).toBeGreaterThan(3);
      expect(text).toMatch(/^LoadCredential=gemini_api_key:\/etc\/chatd\/credentials\/gemini_api_key$/m);
      expect(text).not.toMatch(/^Environment=.*(SECRET|KEY)/m);
    });
  });

  describe('Prometheus alert rules', () => {
    const dir = path.join(ROOT, 'deploy/prometheus');
    it('pass promtool check rules, and their unit tests (promtool test rules) fire what they should when they should', () => {
      const check = run(tools.PROMTOOL, ['check', 'rules', path.join(dir, 'chatd-alerts.yml')]);
      expect(check.out + check.err).toMatch(/SUCCESS: \d+ rules found/);
      expect(check.code).toBe(0);
      const t = run(tools.PROMTOOL, ['test', 'rules', path.join(dir, 'chatd-alerts.test.yml')]);
      expect(t.out + t.err).toMatch(/SUCCESS/);
      expect(t.code).toBe(0);
      // The unit tests catch a changed rule: ChatdDown waiting 10 minutes instead of 2 no longer fires at minute 5.
      const copy = tmpDir();
      fs.writeFileSync(path.join(copy, 'chatd-alerts.yml'), fs.readFileSync(path.join(dir, 'chatd-alerts.yml'), 'utf8').replace(/(alert: ChatdDown\n\s+expr: .*\n\s+for: )2m/, '$110m'));
      fs.copyFileSync(path.join(dir, 'chatd-alerts.test.yml'), path.join(copy, 'chatd-alerts.test.yml'));
      const broken = run(tools.PROMTOOL, ['test', 'rules', path.join(copy, 'chatd-alerts.test.yml')]);
      console.log(`promtool test rules: ${t.code}; with ChatdDown's for: 10m: exit ${broken.code}`);
      expect(broken.code).not.toBe(0);
      expect(broken.out + broken.err).toMatch(/alertname: ChatdDown/);
    });

    it('a scrape of a real chatd (after a send over REST) passes promtool check metrics', async () => {
      const d = await startDaemon();
      try {
        const a = await registerUser(d.url);
        const b = await registerUser(d.url);
        await befriend(a, b);
        await a.api.sendRest({ to: b.name, text: 'scraped' });
        const text = await (await fetch(new URL('/metrics', d.url))).text();
        const r = run(tools.PROMTOOL, ['check', 'metrics'], text);
        console.log(`promtool check metrics on a scrape of ${text.split('\n').length} lines: exit ${r.code}${r.out + r.err ? `: ${r.out}${r.err}` : ''}`);
        expect(r.out + r.err).toBe('');
        expect(r.code).toBe(0);
        // The check can fail: a gauge named like a counter (what prom-client's defaults had).
        const bad = run(tools.PROMTOOL, ['check', 'metrics'], `${text}# HELP nodejs_active_handles_total x\n# TYPE nodejs_active_handles_total gauge\nnodejs_active_handles_total 3\n`);
        expect(bad.code).not.toBe(0);
      } finally {
        await d.close();
      }
    });
  });
}
