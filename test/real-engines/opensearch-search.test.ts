/**
 * Search on scale-out against a real OpenSearch: the index alone (records applied idempotently
 * by seq, found as they now are, only inside the scopes; deleted documents expunged), then the
 * search contract every deployment passes (test/support/search-contract.ts) on a scale-out chatd
 * with its feeder, and the times from an acknowledgement to the index.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@opensearch-project/opensearch';
import { parseSearch, type Message } from '../../src/protocol/index.js';
import { OpenSearchIndex } from '../../src/daemon/deployments/scaleout/opensearch-search.js';
import { applyChange, isChange } from '../../src/protocol/changes.js';
import { services } from './env.js';
import { CONTRACT_LIMITS, searchBehaviour, searchSecurity, type SearchContract } from '../support/search-contract.js';

const env = services('OPENSEARCH_URL');
/** Set by the index's tests: the expunge check, run last, and the index's removal. */
let expungeLater: (() => Promise<void>) | undefined;
let dropIndex: (() => Promise<void>) | undefined;
afterAll(async () => { await dropIndex?.(); });

if (env) {
  describe('OpenSearch index (records in, search out)', () => {
    const name = `chat-test-${process.pid}-${Date.now().toString(36)}`;
    const client = new Client({ node: env.OPENSEARCH_URL });
    // The log as the index reads it back: every record applied in order (the real log is tested elsewhere).
    const state = new Map<string, Message>();
    const log = { getAcross: async (refs: { conversationId: string; seq: number }[]) => refs.map((r) => state.get(`${r.conversationId}#${r.seq}`)).filter((m): m is Message => m !== undefined) };
    const index = new OpenSearchIndex(client, name, log);
    let seq = 0;
    const rec = (conversationId: string, kind: Message['kind'], extra: Partial<Message> = {}): Message => ({ id: `m${++seq}`, seq, conversationId, from: 'ann', to: 'x', text: '', kind, createdAt: new Date(Date.UTC(2026, 11, 5, 0, 0, seq)).toISOString(), ...extra });
    const feed = async (records: Message[]) => {
      for (const r of records) {
        if (!isChange(r)) state.set(`${r.conversationId}#${r.seq}`, r);
        else { const k = `${r.conversationId}#${r.target}`; const t = state.get(k); if (t) state.set(k, applyChange(t, r)); }
      }
      const out = await index.apply(records);
      await index.refresh();
      return out;
    };
    const find = async (q: string, scopes = [{ conversationId: 'dm:ann:bob', upTo: Number.MAX_SAFE_INTEGER }]) =>
      (await index.search({ query: parseSearch(q), me: 'ann', scopes, sort: 'relevance', limit: 20 })).hits.map((h) => h.message.text);

    const docs = async () => (await client.indices.stats({ index: name, metric: 'docs' })).body._all.primaries.docs as { count: number; deleted: number };

    beforeAll(async () => { await index.ensureIndex(); });
    // The index stays until the file's last test has checked the expunge.
    dropIndex = async () => { await client.indices.delete({ index: name }).catch(() => undefined); await client.indices.deleteIndexTemplate({ name }).catch(() => undefined); };

    it('finds words accent- and case-insensitively, phrases in order, without excluded words, only in scope', async () => {
      seq = 0;
      const a = rec('dm:ann:bob', 'user', { text: 'Le Café de Flore' });
      const b = rec('dm:ann:bob', 'user', { text: 'cafe later, the flore is full' });
      const c = rec('dm:cid:dan', 'user', { text: 'another cafe elsewhere' });
      await feed([a, b, c]);
      expect((await find('CAFE')).sort()).toEqual(['Le Café de Flore', 'cafe later, the flore is full']);
      expect(await find('"café de flore"')).toEqual(['Le Café de Flore']);
      expect(await find('cafe -flore')).toEqual([]);
      expect(await find('cafe', [{ conversationId: 'dm:ann:bob', upTo: a.seq }])).toEqual(['Le Café de Flore']);
    });

    it('an edit replaces the words, a delete removes them, and replaying every record changes nothing', async () => {
      const m = rec('dm:ann:bob', 'user', { text: 'the password is swordfish' });
      const e = rec('dm:ann:bob', 'edit', { target: m.seq, text: 'the password is elsewhere' });
      await feed([m]);
      await feed([e]);
      expect(await find('swordfish')).toEqual([]);
      expect(await find('elsewhere')).toEqual(['the password is elsewhere']);
      const d = rec('dm:ann:bob', 'delete', { target: m.seq });
      await feed([d]);
      expect(await find('password')).toEqual([]);
      // A redelivery of all three, in order: the versions refuse what is older than the tombstone.
      const again = await index.apply([m, e, d]);
      await index.refresh();
      console.log(`replayed message, edit and delete: applied ${again.applied}, refused as older ${again.skipped}`);
      expect(await find('swordfish')).toEqual([]);
      expect(await find('elsewhere')).toEqual([]);
      expect(again.skipped).toBeGreaterThanOrEqual(2);
    });

    it('deleted documents stay marked in their segments (the expunge is checked at the end of the file, once the retention lease has moved)', async () => {
      const kept = rec('dm:ann:bob', 'user', { text: 'kept words' });
      const gone = Array.from({ length: 5 }, () => rec('dm:ann:bob', 'user', { text: 'short lived words' }));
      await feed([kept, ...gone]);
      await client.indices.flush({ index: name });
      await feed(gone.map((g) => rec('dm:ann:bob', 'delete', { target: g.seq })));
      await client.indices.flush({ index: name });
      const deletedAt = Date.now();
      const before = await docs();
      expect(before.deleted).toBeGreaterThan(0);
      await index.expungeDeletes();
      console.log(`OpenSearch: ${before.deleted} deleted documents marked; after an expunge at once: ${(await docs()).deleted}`);
      // Deletes are soft: a segment keeps a deleted document (its tokens) while the shard's
      // peer-recovery retention lease still covers it, and OpenSearch renews that lease every 30 s
      // (not a setting). So an expunge frees them at most about 30 s after the delete: the feeder
      // expunges every CHAT_SEARCH_PURGE_SECONDS. The wait overlaps the rest of the file.
      expungeLater = async () => {
        let after = await docs();
        let expunges = 0;
        while (after.deleted > 0 && Date.now() - deletedAt < 90_000) {
          await index.expungeDeletes();
          expunges++;
          await index.refresh();
          after = await docs();
          if (after.deleted > 0) await new Promise((r) => setTimeout(r, 2000));
        }
        console.log(`OpenSearch expunge: ${before.deleted} deleted documents marked; ${after.deleted} left after ${expunges} expunges, ${Date.now() - deletedAt} ms after the deletes (live ${after.count})`);
        expect(after.deleted).toBe(0);
        expect(await find('short')).toEqual([]);
        expect(await find('kept')).toEqual(['kept words']);
      };
    });
  });
}

const full = services('MONGODB_URI', 'REDIS_URL', 'KAFKA_BROKERS', 'OPENSEARCH_URL');
if (full) {
  /**
   * The search contract on scale-out: a chatd with its own topic, database and index; settled once
   * the persister and the search feeder have taken every record (their lag, from /metrics) and the
   * index has been refreshed.
   */
  const scaleout: SearchContract = {
    label: 'scale-out, OpenSearch',
    propertyRuns: 8,
    async start() {
      const { startDaemon, waitFor } = await import('../support/daemon.js');
      const { isolation } = await import('../support/services.js');
      const iso = isolation('searchc');
      const name = `chat-${iso.id.toLowerCase().replace(/[^a-z0-9_-]/g, '-')}`;
      const d = await startDaemon({ ...iso.env(full), ...CONTRACT_LIMITS, OPENSEARCH_URL: full.OPENSEARCH_URL, CHAT_OPENSEARCH_INDEX: name });
      const client = new Client({ node: full.OPENSEARCH_URL });
      const lag = (metrics: string, re: RegExp) => re.exec(metrics)?.[1];
      return {
        url: d.url,
        async settle() {
          await waitFor(async () => {
            const m = await (await fetch(`${d.url}/metrics`)).text();
            return lag(m, /^chatd_search_feeder_lag (\d+)/m) === '0' && lag(m, /^chatd_pipeline_backlog\{kind="consumer_lag"\} (\d+)/m) === '0';
          }, 30_000, 100);
          await client.indices.refresh({ index: name });
        },
        async close() {
          await d.close();
          await client.indices.delete({ index: name }).catch(() => undefined);
          await client.indices.deleteIndexTemplate({ name }).catch(() => undefined);
          await client.close();
        },
      };
    },
  };
  searchBehaviour(scaleout);
  searchSecurity(scaleout);

  describe('the search feeder (real Kafka, real OpenSearch)', () => {
    /**
     * Messages appended at a trickle, as a busy node's sends arrive: with its linger the feeder
     * waits to fill a fetch and sends OpenSearch a few large bulks; with a linger of 1 ms (the
     * control, what a fetch of whatever had arrived did) it sends many small ones. Both index
     * every message.
     */
    it('indexes a trickle of messages in a few bulk requests, where fetching every trickle took many', async () => {
      const { kafkaRig, append } = await import('../support/kafka-rig.js');
      const { draft } = await import('../daemon/ports/log.contract.js');
      const { SearchFeeder } = await import('../../src/daemon/deployments/scaleout/search-feeder.js');
      const { createLogger } = await import('../../src/daemon/logger.js');
      const { waitFor } = await import('../support/daemon.js');
      const rig = await kafkaRig('feeder', full);
      const client = new Client({ node: full.OPENSEARCH_URL });
      const N = 300;
      // The log first: it creates the topic the feeders subscribe to.
      const l = await rig.messageLog();
      // Each feeder reads the topic from its start: the second also indexes the first run's messages.
      const run = async (lingerMs: number, total: number) => {
        const name = `chat-feeder-${lingerMs}-${rig.iso.id.toLowerCase().replace(/[^a-z0-9_-]/g, '-')}`;
        let bulks = 0;
        const index = new (class extends OpenSearchIndex {
          override apply(records: Message[]) { bulks++; return super.apply(records); }
        })(client, name, { getAcross: async () => [] }); // no searches here: documents are counted in OpenSearch
        const feeder = new SearchFeeder({ ...rig.settings, searchGroupId: `${rig.settings.groupId}-search-${lingerMs}`, batchSize: 5000, lingerMs }, index, createLogger('silent'));
        try {
          await feeder.start();
          const conv = `dm:f${lingerMs}a:f${lingerMs}b`;
          // About 1.5 s of sends, a few at a time.
          for (let i = 0; i < N; i += 3) {
            await Promise.all([0, 1, 2].map((j) => append(l, draft(conv, `trickle word${i + j}`))));
            await new Promise((r) => setTimeout(r, 15));
          }
          await waitFor(async () => feeder.applied >= total, 30_000, 50);
          await index.refresh();
          const count = (await client.count({ index: name })).body.count as number;
          return { bulks, count };
        } finally {
          await feeder.close();
          await client.indices.delete({ index: name }).catch(() => undefined);
          await client.indices.deleteIndexTemplate({ name }).catch(() => undefined);
        }
      };
      try {
        const lingered = await run(500, N);
        const control = await run(1, 2 * N);
        console.log(`search feeder, ${N} messages over about 1.5 s: ${lingered.bulks} bulk requests with a 500 ms linger, ${control.bulks} with 1 ms; indexed ${lingered.count} and ${control.count}`);
        expect(lingered.count).toBe(N);
        expect(control.count).toBe(2 * N);
        expect(lingered.bulks).toBeLessThanOrEqual(20);
        expect(control.bulks).toBeGreaterThan(3 * lingered.bulks);
      } finally {
        await client.close();
        await rig.cleanup();
      }
    }, 90_000);
  });

  describe('scale-out chatd with OpenSearch (feeder from the topic)', () => {
    it('a message is found within a bounded time after its ack; an edit and a delete reach the index the same way', async () => {
      const { startDaemon, registerUser, befriend, waitFor } = await import('../support/daemon.js');
      const { isolation } = await import('../support/services.js');
      const iso = isolation('search');
      const d = await startDaemon({ ...iso.env(full), OPENSEARCH_URL: full.OPENSEARCH_URL, CHAT_SEARCH_RATE_LIMIT: '100000', CHAT_OPENSEARCH_INDEX: `chat-${iso.id.toLowerCase().replace(/[^a-z0-9_-]/g, '-')}` });
      try {
        const [a, b] = [await registerUser(d.url), await registerUser(d.url)];
        await befriend(a, b);
        const timed = async (what: string, ok: () => Promise<boolean>) => {
          const t = Date.now();
          await waitFor(ok, 30_000, 100);
          const ms = Date.now() - t;
          console.log(`scale-out search: ${what} in ${ms} ms`);
          return ms;
        };
        const m = await a.api.sendRest({ to: b.name, text: 'the ocelot password is swordfish' });
        await timed('a sent message found', async () => (await b.api.search('ocelot')).hits.length === 1);
        await a.api.editMessage(b.name, m.seq, 'the ocelot password is elsewhere');
        await timed('an edit found by its new words', async () => (await b.api.search('elsewhere')).hits.length === 1);
        expect((await b.api.search('swordfish')).hits).toEqual([]);
        await a.api.sendRest({ to: b.name, text: 'a second ocelot stays' });
        await a.api.deleteMessage(b.name, m.seq);
        // Out of answers at once (hits are read back from the log), and out of the index itself shortly after.
        expect((await b.api.search('password')).hits).toEqual([]);
        const os = new Client({ node: full.OPENSEARCH_URL });
        const indexName = `chat-${iso.id.toLowerCase().replace(/[^a-z0-9_-]/g, '-')}`;
        const ms = await timed('a deleted message out of the index itself', async () => !(await os.exists({ index: indexName, id: `${m.conversationId}#${m.seq}` })).body);
        expect(ms).toBeLessThan(30_000);
        // chat admin reindex (the first account is the admin) rebuilds a lost index from MongoDB: what is stored, without the deleted one.
        const index = `chat-${iso.id.toLowerCase().replace(/[^a-z0-9_-]/g, '-')}`;
        await new Client({ node: full.OPENSEARCH_URL }).indices.delete({ index });
        await waitFor(async () => { try { await a.api.adminSearchReindex(); return true; } catch { return false; } }, 30_000, 500);
        const r = await a.api.adminSearchReindex();
        console.log(`chat admin reindex: ${r.indexed} messages`);
        await timed('the reindexed message found', async () => (await b.api.search('ocelot')).hits.length === 1);
        expect((await b.api.search('ocelot')).hits.map((h) => h.message.text)).toEqual(['a second ocelot stays']);
      } finally {
        await d.close();
      }
    }, 90_000);
  });
}

if (env) {
  describe('OpenSearch expunge (last: the shard\'s retention lease has moved on meanwhile)', () => {
    it('an expunge rewrites the segments that hold deleted documents: none is left', async () => {
      expect(expungeLater).toBeDefined();
      await expungeLater!();
    }, 120_000);
  });
}
