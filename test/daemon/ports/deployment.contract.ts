import client from 'prom-client';
import pino from 'pino';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/daemon/config.js';
import { createDeployment } from '../../../src/daemon/deployments/index.js';
import type { Deployment } from '../../../src/daemon/ports/index.js';
import { tmpDir } from '../../support/daemon.js';

/**
 * The deployment contract: `createDeployment` on a configuration fills every port, starts, reports
 * each engine's health by role, registers its own metrics, and closes; every port answers through
 * it. Run on both deployments (the scale-out one in test/real-engines). `only` names what the
 * deployment alone registers in /metrics.
 */
export function deploymentContract(name: 'embedded' | 'scaleout', env: () => Record<string, string>, only: string[]) {
  describe(`Deployment contract: ${name}`, () => {
    let d: Deployment;
    beforeAll(async () => {
      const { config } = loadConfig({ env: { CHAT_DATA_DIR: tmpDir(), ...env() }, persistSecrets: true });
      d = createDeployment(config, pino({ level: 'silent' }));
      await d.start();
    });
    afterAll(() => d?.close());

    it('is the deployment the configuration names, with each engine healthy by role', async () => {
      expect(d.name).toBe(name);
      const health = await d.health();
      const roles = Object.keys(health);
      for (const role of ['store', 'cache', 'log']) expect(roles).toContain(role);
      for (const [role, h] of Object.entries(health)) expect(h.ok, `${role}: ${h.detail}`).toBe(true);
      expect(d.parts().map(([role]) => role)).toEqual(['store', 'cache', 'log', 'files']);
      expect(Object.values(d.engines).every((k) => typeof k === 'string' && k.length > 0)).toBe(true);
      console.log(`${name}: ${Object.entries(health).map(([r, h]) => `${r}=${h.kind}`).join(' ')}`);
    });

    it('answers through every port', async () => {
      const id = uuidv7();
      const alice = `a${id.slice(-8)}`;
      const bob = `b${id.slice(-8)}`;
      const at = new Date().toISOString();
      await d.accounts.createUser({ id, username: alice, passwordHash: 'h', createdAt: at });
      expect((await d.accounts.getUserByName(alice))?.id).toBe(id);
      await d.friends.addFriendEdge(alice, bob, at);
      expect(await d.friends.hasFriendEdge(alice, bob)).toBe(true);
      const g = uuidv7();
      await d.groups.createGroup({ id: g, conversationId: `g:${g}`, handle: `h${id.slice(-8)}`, name: 'n', topic: '', createdAt: at, createdBy: alice }, [{ username: alice, role: 'owner' }]);
      expect((await d.groups.groupMembers(g)).map((m) => m.username)).toEqual([alice]);
      const conv = `dm:${alice}:${bob}`;
      const { message } = await d.log.append({ id: uuidv7(), conversationId: conv, from: alice, to: bob, text: 'hi', kind: 'user', createdAt: at, clientMsgId: id });
      expect(message.seq).toBe(1);
      expect((await d.log.read(conv, { limit: 10 })).map((m) => m.text)).toEqual(['hi']);
      expect((await d.log.lookup(alice, id))?.id).toBe(message.id);
      await d.receipts.setReceipts([{ conversationId: conv, username: bob, delivered: 1, read: 1 }]);
      expect((await d.receipts.getReceipts(conv))[bob]).toEqual({ delivered: 1, read: 1 });
      expect((await d.limits.rateLimit(`k${id}`, 1, 60_000)).allowed).toBe(true);
      expect((await d.limits.rateLimit(`k${id}`, 1, 60_000)).allowed).toBe(false);
      expect(await d.presence.presenceAdd(alice, 'c1')).toBe(true);
      expect(await d.presence.presenceCount(alice)).toBe(1);
      expect(await d.presence.presenceRemove(alice, 'c1')).toBe(true);
      const status = await d.operations.status();
      expect(Object.keys(status).sort()).toEqual(['consumerLag', 'dlq', 'failedStore']);
    });

    it('registers what only it can measure', async () => {
      const registry = new client.Registry();
      d.registerMetrics(registry);
      const text = await registry.metrics();
      for (const m of only) expect(text).toContain(`# TYPE ${m} `);
    });
  });
}
