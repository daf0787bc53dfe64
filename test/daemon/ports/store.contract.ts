import { beforeEach, afterEach, describe, expect, it } from 'vitest';
import { v7 as uuidv7 } from 'uuid';
import { ChatError, dmConversationId, groupConversationId, type Message } from '../../../src/protocol/index.js';
import type { Database } from '../../../src/daemon/deployments/archive.js';
import { HandleTakenError, SeqConflictError } from '../../../src/daemon/ports/errors.js';

const iso = (t = Date.now()) => new Date(t).toISOString();

function msg(conv: string, seq: number, extra: Partial<Message> = {}): Message {
  const [a, b] = conv.slice(3).split(':') as [string, string];
  return { id: uuidv7(), seq, conversationId: conv, from: a, to: b, text: `m${seq}`, kind: 'user', createdAt: iso(), ...extra };
}

/**
 * The contracts of the ports one database fills (accounts, friends, groups, receipts) and of the
 * message archive the logs write. `make` returns a started, empty database; `cleanup` tears it
 * down. Run unchanged on both deployments: SQLite (embedded) and MongoDB (scale-out).
 */
export function storeContract(name: string, make: () => Promise<Database>, cleanup: (s: Database) => Promise<void> = (s) => s.close()) {
  describe(`Database ports contract: ${name}`, () => {
    let store: Database;
    beforeEach(async () => { store = await make(); });
    afterEach(async () => { await cleanup(store); });

    describe('AccountStore', () => {
      it('makes the first user admin, later ones not, and refuses a taken name', async () => {
        const a = await store.accounts.createUser({ id: uuidv7(), username: 'alice', passwordHash: 'h', createdAt: iso() });
        const b = await store.accounts.createUser({ id: uuidv7(), username: 'bob', passwordHash: 'h', createdAt: iso() });
        expect(a.admin).toBe(true);
        expect(b.admin).toBe(false);
        await expect(store.accounts.createUser({ id: uuidv7(), username: 'alice', passwordHash: 'h', createdAt: iso() })).rejects.toMatchObject({ code: 'CHAT_ERR_USERNAME_TAKEN' });
        expect((await store.accounts.getUserByName('bob'))?.id).toBe(b.id);
        expect((await store.accounts.getUserById(a.id))?.username).toBe('alice');
        expect(await store.accounts.getUserByName('nobody')).toBeNull();
        await store.accounts.updateUser(b.id, { disabled: true, admin: true, passwordHash: 'h2' });
        expect(await store.accounts.getUserById(b.id)).toMatchObject({ disabled: true, admin: true, passwordHash: 'h2' });
        expect((await store.accounts.listUsers()).map((u) => u.username).sort()).toEqual(['alice', 'bob']);
      });

      it('marks a refresh token used once, and revokes families', async () => {
        const base = { userId: 'u1', tokenHash: 'x', createdAt: iso(), expiresAt: iso(Date.now() + 60_000), usedAt: null, revokedAt: null, device: null };
        await store.accounts.insertRefreshToken({ ...base, id: 't1', familyId: 'f1' });
        await store.accounts.insertRefreshToken({ ...base, id: 't2', familyId: 'f2' });
        expect(await store.accounts.markRefreshTokenUsed('t1', iso())).toBe(true);
        expect(await store.accounts.markRefreshTokenUsed('t1', iso())).toBe(false);
        expect((await store.accounts.getRefreshToken('t1'))?.usedAt).not.toBeNull();
        expect(await store.accounts.isSessionActive('f1')).toBe(true);
        await store.accounts.revokeFamily('f1', iso());
        expect(await store.accounts.isSessionActive('f1')).toBe(false);
        expect(await store.accounts.markRefreshTokenUsed('t2', iso())).toBe(true);
        await store.accounts.insertRefreshToken({ ...base, id: 't3', familyId: 'f3' });
        expect(await store.accounts.revokeUserSessions('u1', iso(), 'f3')).toEqual(['f2']);
        expect(await store.accounts.isSessionActive('f3')).toBe(true);
        expect(await store.accounts.isSessionActive('f2')).toBe(false);
      });

      it('stores, lists and revokes API tokens per owner', async () => {
        await store.accounts.insertApiToken({ id: 'a1', userId: 'u1', name: 'bot', tokenHash: 'h', createdAt: iso(), lastUsedAt: null, revokedAt: null });
        expect((await store.accounts.listApiTokens('u1')).map((t) => t.id)).toEqual(['a1']);
        expect(await store.accounts.revokeApiToken('u2', 'a1', iso())).toBe(false);
        await store.accounts.touchApiToken('a1', iso());
        expect((await store.accounts.getApiToken('a1'))?.lastUsedAt).not.toBeNull();
        expect(await store.accounts.revokeApiToken('u1', 'a1', iso())).toBe(true);
        expect(await store.accounts.revokeApiToken('u1', 'a1', iso())).toBe(false);
        expect(await store.accounts.listApiTokens('u1')).toEqual([]);
      });

      it('lists live sessions oldest first, prunes dead and old used refresh rows, and revokes every API token of a user', async () => {
        const t0 = Date.now();
        const row = (id: string, familyId: string, at: number, extra: Partial<{ usedAt: string; revokedAt: string; expiresAt: string }> = {}) =>
          store.accounts.insertRefreshToken({ id, userId: 'u1', familyId, tokenHash: 'x', createdAt: iso(at), expiresAt: iso(t0 + 60_000), usedAt: null, revokedAt: null, device: null, ...extra });
        await row('b1', 'fb', t0 - 5000);
        await row('a1', 'fa', t0 - 9000, { usedAt: iso(t0 - 8000) });
        await row('a2', 'fa', t0 - 8000, { usedAt: iso(t0 - 7000) });
        await row('a3', 'fa', t0 - 7000, { usedAt: iso(t0 - 6000) });
        await row('a4', 'fa', t0 - 6000);
        await row('dead', 'fd', t0 - 10_000, { revokedAt: iso(t0 - 1000) });
        await row('old', 'fe', t0 - 10_000, { expiresAt: iso(t0 - 1) });
        expect(await store.accounts.activeSessions('u1')).toEqual(['fe', 'fa', 'fb']);
        await store.accounts.pruneRefreshTokens('u1', 'fa', 2, iso(t0));
        const left = await Promise.all(['a1', 'a2', 'a3', 'a4', 'b1', 'dead', 'old'].map(async (id) => [id, (await store.accounts.getRefreshToken(id)) !== null]));
        expect(Object.fromEntries(left)).toEqual({ a1: false, a2: false, a3: true, a4: true, b1: true, dead: false, old: false });
        expect(await store.accounts.activeSessions('u1')).toEqual(['fa', 'fb']);
        const api = { name: 'n', tokenHash: 'h', createdAt: iso(), lastUsedAt: null, revokedAt: null };
        await store.accounts.insertApiToken({ ...api, id: 'k1', userId: 'u1' });
        await store.accounts.insertApiToken({ ...api, id: 'k2', userId: 'u1' });
        await store.accounts.insertApiToken({ ...api, id: 'k3', userId: 'u2' });
        expect((await store.accounts.revokeUserApiTokens('u1', iso())).sort()).toEqual(['k1', 'k2']);
        expect(await store.accounts.revokeUserApiTokens('u1', iso())).toEqual([]);
        expect(await store.accounts.listApiTokens('u1')).toEqual([]);
        expect((await store.accounts.listApiTokens('u2')).map((t) => t.id)).toEqual(['k3']);
      });

      it('throws coded errors, not driver errors, for taken names', async () => {
        await store.accounts.createUser({ id: uuidv7(), username: 'zed', passwordHash: 'h', createdAt: iso() });
        const err = await store.accounts.createUser({ id: uuidv7(), username: 'zed', passwordHash: 'h', createdAt: iso() }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ChatError);
      });
    });

    describe('FriendStore', () => {
      it('keeps friend edges in both directions', async () => {
        await store.friends.addFriendEdge('alice', 'bob', iso());
        await store.friends.addFriendEdge('alice', 'bob', iso());
        expect(await store.friends.hasFriendEdge('alice', 'bob')).toBe(true);
        expect(await store.friends.hasFriendEdge('bob', 'alice')).toBe(false);
        await store.friends.addFriendEdge('carol', 'alice', iso());
        expect(await store.friends.listFriendEdges('alice')).toEqual({ out: ['bob'], in: ['carol'] });
        expect(await store.friends.removeFriendEdges('bob', 'alice')).toBe(true);
        expect(await store.friends.removeFriendEdges('bob', 'alice')).toBe(false);
        expect(await store.friends.listFriendEdges('alice')).toEqual({ out: [], in: ['carol'] });
      });

    });

    describe('MessageArchive', () => {
      it('inserts messages idempotently by id and by (from, clientMsgId)', async () => {
        const conv = dmConversationId('alice', 'bob');
        const m1 = msg(conv, 1, { clientMsgId: 'c1' });
        const m2 = msg(conv, 2);
        expect(await store.archive.insertMessages([m1, m2])).toEqual([m1, m2]);
        expect(await store.archive.insertMessages([m1])).toEqual([m1]);
        // Same sender and clientMsgId under a new id and seq: the original comes back, nothing new is stored.
        const dup = msg(conv, 3, { clientMsgId: 'c1' });
        expect(await store.archive.insertMessages([dup])).toEqual([m1]);
        expect(await store.archive.maxSeq(conv)).toBe(2);
        expect(await store.archive.getMessageByClientId('alice', 'c1')).toEqual(m1);
        expect(await store.archive.getMessageByClientId('bob', 'c1')).toBeNull();
        expect((await store.archive.history(conv, { limit: 10 })).map((m) => m.seq)).toEqual([1, 2]);
      });

      it('pages history by seq in both directions, oldest first', async () => {
        const conv = dmConversationId('alice', 'bob');
        await store.archive.insertMessages(Array.from({ length: 25 }, (_, i) => msg(conv, i + 1)));
        await store.archive.insertMessages([msg(dmConversationId('alice', 'carol'), 1)]);
        const seqs = (ms: Message[]) => ms.map((m) => m.seq);
        expect(seqs(await store.archive.history(conv, { limit: 5 }))).toEqual([21, 22, 23, 24, 25]);
        expect(seqs(await store.archive.history(conv, { limit: 5, beforeSeq: 21 }))).toEqual([16, 17, 18, 19, 20]);
        expect(seqs(await store.archive.history(conv, { limit: 3, afterSeq: 0 }))).toEqual([1, 2, 3]);
        expect(seqs(await store.archive.history(conv, { limit: 3, afterSeq: 23 }))).toEqual([24, 25]);
        expect(seqs(await store.archive.history(conv, { limit: 10, afterSeq: 3, beforeSeq: 7 }))).toEqual([4, 5, 6]);
        expect(await store.archive.history('dm:nobody:none', { limit: 5 })).toEqual([]);
        expect(await store.archive.maxSeq(conv)).toBe(25);
        expect(await store.archive.maxSeq('dm:x:y')).toBe(0);
      });

      it('lists a user\'s conversations with their last seq, most recent first', async () => {
        const ab = dmConversationId('alice', 'bob');
        const ac = dmConversationId('alice', 'carol');
        await store.archive.insertMessages([msg(ab, 1, { createdAt: iso(1000) }), msg(ab, 2, { createdAt: iso(2000) })]);
        await store.archive.insertMessages([msg(ac, 1, { createdAt: iso(3000) })]);
        const list = await store.archive.listConversations('alice');
        expect(list.map((c) => [c.conversationId, c.lastSeq])).toEqual([[ac, 1], [ab, 2]]);
        expect((await store.archive.listConversations('bob')).map((c) => c.conversationId)).toEqual([ab]);
        expect(await store.archive.listConversations('dave')).toEqual([]);
        // A later commit moves the head and the order.
        await store.archive.insertMessages([msg(ab, 3, { createdAt: iso(4000) })]);
        expect((await store.archive.listConversations('alice')).map((c) => [c.conversationId, c.lastSeq, c.updatedAt])).toEqual([[ab, 3, iso(4000)], [ac, 1, iso(3000)]]);
      });

      it('refuses a different message at a taken (conversationId, seq) with a typed SeqConflictError', async () => {
        const conv = dmConversationId('alice', 'bob');
        const first = msg(conv, 1);
        await store.archive.insertMessages([first]);
        const err = await store.archive.insertMessages([msg(conv, 1, { text: 'another' })]).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(SeqConflictError);
        expect(err).toMatchObject({ conversationId: conv, seq: 1 });
        // The same message again is not a conflict: it is the stored one.
        expect(await store.archive.insertMessages([first])).toEqual([first]);
      });

      it('takes 300 read markers, and the heads of 300 conversations, in one call each', async () => {
        // FerretDB 1.x on PostgreSQL deadlocked for good on one update command with as many
        // statements as its connection pool (MongoStore sends them in chunks).
        const n = 300;
        const marks = Array.from({ length: n }, (_, i) => ({ conversationId: dmConversationId('bulk', `peer${i}`), username: 'bulk', delivered: i + 1, read: i }));
        await store.receipts.setReceipts(marks);
        await store.receipts.setReceipts(marks.map((m) => ({ ...m, read: m.read + 1 })));
        expect(await store.receipts.getReceipts(marks[0]!.conversationId)).toEqual({ bulk: { delivered: 1, read: 1 } });
        expect(await store.receipts.getReceipts(marks[n - 1]!.conversationId)).toEqual({ bulk: { delivered: n, read: n } });
        const stored = await store.archive.insertMessages(marks.map((m) => msg(m.conversationId, 1)));
        expect(stored).toHaveLength(n);
        const convs = await store.archive.listConversations('bulk');
        expect(convs).toHaveLength(n);
        expect(convs.every((c) => c.lastSeq === 1)).toBe(true);
      });

    });

    describe('ReceiptStore', () => {
      it('keeps delivery and read markers that only rise, also when set in bulk', async () => {
        const conv = dmConversationId('alice', 'bob');
        expect(await store.receipts.getReceipts(conv)).toEqual({});
        const mark = async (username: string, delivered: number, read: number) => {
          await store.receipts.setReceipts([{ conversationId: conv, username, delivered, read }]);
          return (await store.receipts.getReceipts(conv))[username];
        };
        expect(await mark('bob', 3, 0)).toEqual({ delivered: 3, read: 0 });
        expect(await mark('bob', 0, 2)).toEqual({ delivered: 3, read: 2 });
        expect(await mark('bob', 1, 1)).toEqual({ delivered: 3, read: 2 });
        // Reading implies having received.
        expect(await mark('bob', 0, 5)).toEqual({ delivered: 5, read: 5 });
        await mark('alice', 0, 1);
        expect(await store.receipts.getReceipts(conv)).toEqual({ bob: { delivered: 5, read: 5 }, alice: { delivered: 1, read: 1 } });
        await store.receipts.setReceipts([{ conversationId: conv, username: 'bob', delivered: 7, read: 4 }, { conversationId: conv, username: 'carol', delivered: 0, read: 2 }, { conversationId: conv, username: 'alice', delivered: 0, read: 0 }]);
        expect(await store.receipts.getReceipts(conv)).toEqual({ bob: { delivered: 7, read: 5 }, alice: { delivered: 1, read: 1 }, carol: { delivered: 2, read: 2 } });
      });

    });

    describe('GroupStore', () => {
      const group = (handle: string, createdBy = 'ann') => {
        const id = uuidv7();
        return { id, conversationId: groupConversationId(id), handle, name: `The ${handle}`, topic: '', createdAt: iso(), createdBy };
      };

      it('creates a group with its members and roles, finds it by id and by handle, and refuses a taken handle with a typed error', async () => {
        const g = group('ops');
        await store.groups.createGroup(g, [{ username: 'ann', role: 'owner' }, { username: 'bob', role: 'member' }, { username: 'cat', role: 'admin' }]);
        expect(await store.groups.getGroup(g.id)).toEqual(g);
        expect(await store.groups.getGroupByHandle('ops')).toEqual(g);
        expect(await store.groups.getGroupByHandle('nope')).toBeNull();
        expect((await store.groups.groupMembers(g.id)).map((m) => [m.username, m.role, m.leftSeq])).toEqual([['ann', 'owner', null], ['bob', 'member', null], ['cat', 'admin', null]]);
        expect(await store.groups.countGroupMembers(g.id)).toBe(3);
        const err = await store.groups.createGroup(group('ops', 'dan'), [{ username: 'dan', role: 'owner' }]).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(HandleTakenError);
        // The refused group left nothing behind.
        expect(await store.groups.groupsOf('dan')).toEqual([]);
      });

      it('lists a user\'s groups with their role, by handle, and counts them, and counts the groups each created', async () => {
        const a = group('zeta');
        const b = group('alpha');
        await store.groups.createGroup(a, [{ username: 'ann', role: 'owner' }, { username: 'bob', role: 'member' }]);
        await store.groups.createGroup(b, [{ username: 'bob', role: 'owner' }]);
        expect((await store.groups.groupsOf('bob')).map((x) => [x.group.handle, x.role])).toEqual([['alpha', 'owner'], ['zeta', 'member']]);
        expect(await store.groups.countGroupsOf('bob')).toBe(2);
        expect(await store.groups.countGroupsOf('ann')).toBe(1);
        // Created, not joined: bob created one and is in two; ann created both.
        expect(await store.groups.countGroupsCreatedBy('bob')).toBe(0);
        await store.groups.createGroup(group('mine', 'bob'), [{ username: 'bob', role: 'owner' }]);
        expect(await store.groups.countGroupsCreatedBy('bob')).toBe(1);
        expect(await store.groups.countGroupsCreatedBy('ann')).toBe(2);
      });

      it('keeps a removed member\'s row with the last seq they may read, and makes them current again when re-added', async () => {
        const g = group('team');
        await store.groups.createGroup(g, [{ username: 'ann', role: 'owner' }, { username: 'bob', role: 'admin' }]);
        expect(await store.groups.removeGroupMember(g.id, 'bob', 7)).toBe(true);
        expect(await store.groups.removeGroupMember(g.id, 'bob', 9)).toBe(false); // not a member any more: the 7 stays
        expect(await store.groups.groupMember(g.id, 'bob')).toMatchObject({ username: 'bob', leftSeq: 7 });
        // The cut-off moves up to the removal's own notice, never down.
        await store.groups.raiseLeftSeq(g.id, 'bob', 11);
        await store.groups.raiseLeftSeq(g.id, 'bob', 8);
        expect(await store.groups.groupMember(g.id, 'bob')).toMatchObject({ leftSeq: 11 });
        // A current member has no cut-off to move.
        await store.groups.raiseLeftSeq(g.id, 'ann', 5);
        expect(await store.groups.groupMember(g.id, 'ann')).toMatchObject({ leftSeq: null });
        expect((await store.groups.groupMembers(g.id)).map((m) => m.username)).toEqual(['ann']);
        expect(await store.groups.groupsOf('bob')).toEqual([]);
        expect(await store.groups.setGroupRole(g.id, 'bob', 'owner')).toBe(false); // former members have no role to change
        expect(await store.groups.groupMember(g.id, 'nobody')).toBeNull();
        await store.groups.addGroupMembers(g.id, [{ username: 'bob', role: 'member' }, { username: 'cat', role: 'member' }], iso());
        expect((await store.groups.groupMembers(g.id)).map((m) => [m.username, m.role, m.leftSeq])).toEqual([['ann', 'owner', null], ['bob', 'member', null], ['cat', 'member', null]]);
        expect(await store.groups.setGroupRole(g.id, 'cat', 'admin')).toBe(true);
        expect((await store.groups.groupMember(g.id, 'cat'))?.role).toBe('admin');
      });

      it('renames, moves the handle (refusing a taken one) and sets the topic', async () => {
        const g = group('one');
        await store.groups.createGroup(g, [{ username: 'ann', role: 'owner' }]);
        await store.groups.createGroup(group('two'), [{ username: 'bob', role: 'owner' }]);
        await store.groups.updateGroup(g.id, { name: 'Number One', topic: 'deploys' });
        await store.groups.updateGroup(g.id, { handle: 'uno' });
        expect(await store.groups.getGroupByHandle('one')).toBeNull();
        expect(await store.groups.getGroupByHandle('uno')).toMatchObject({ id: g.id, name: 'Number One', topic: 'deploys' });
        expect(await store.groups.updateGroup(g.id, { handle: 'two' }).catch((e: unknown) => e)).toBeInstanceOf(HandleTakenError);
        expect((await store.groups.getGroup(g.id))?.handle).toBe('uno');
      });

      it('deletes a group with every membership, current and former, and frees its handle', async () => {
        const g = group('gone');
        await store.groups.createGroup(g, [{ username: 'ann', role: 'owner' }, { username: 'bob', role: 'member' }]);
        await store.groups.removeGroupMember(g.id, 'bob', 3);
        await store.groups.deleteGroup(g.id);
        expect(await store.groups.getGroup(g.id)).toBeNull();
        expect(await store.groups.groupMember(g.id, 'bob')).toBeNull();
        expect(await store.groups.groupsOf('ann')).toEqual([]);
        await store.groups.createGroup(group('gone'), [{ username: 'cat', role: 'owner' }]);
        expect((await store.groups.groupsOf('cat')).map((x) => x.group.handle)).toEqual(['gone']);
      });
    });

    describe('FileStore', () => {
      const caps = { quotaBytes: 1000, maxInFlight: 3 };
      const upload = (owner: string, size: number, at = iso()) => store.files.createUpload({ id: uuidv7(), owner, name: 'a.txt', size, createdAt: at }, caps);
      const done = (id: string, sha256: string) => store.files.complete(id, { sha256, type: 'text/plain', width: null, height: null, completedAt: iso() });

      it('admits uploads within the quota and the in-flight cap, and counts every state', async () => {
        const a = await upload('ann', 400);
        expect(a).toMatchObject({ owner: 'ann', size: 400, type: 'application/octet-stream', sha256: null, completedAt: null, conversationId: null, seq: null });
        const b = await upload('ann', 400);
        await expect(upload('ann', 201)).rejects.toMatchObject({ code: 'CHAT_ERR_QUOTA_EXCEEDED' });
        await upload('ann', 100);
        await expect(upload('ann', 1)).rejects.toMatchObject({ code: 'CHAT_ERR_TOO_MANY_UPLOADS' });
        await done(a.id, 'f'.repeat(64));
        // Complete, it still counts against the quota; it no longer counts as in flight.
        expect(await store.files.usage('ann')).toBe(900);
        await upload('ann', 100);
        await done(b.id, 'e'.repeat(64));
        await expect(upload('ann', 1)).rejects.toMatchObject({ code: 'CHAT_ERR_QUOTA_EXCEEDED' });
        expect((await store.files.incomplete()).length).toBe(2);
        // Removing gives the bytes back.
        expect((await store.files.remove([a.id, 'no-such-id'])).map((f) => f.id)).toEqual([a.id]);
        expect(await store.files.usage('ann')).toBe(600);
        await upload('ann', 400);
        expect(await store.files.usage('bea')).toBe(0);
      });

      it('claims complete unsent files of their owner for one send, all or none; a resend claims them again', async () => {
        const f1 = await upload('ann', 10);
        const f2 = await upload('ann', 10);
        const other = await upload('bea', 10);
        await done(f1.id, 'a'.repeat(64));
        expect(await store.files.claim('ann', [f1.id, f2.id], 'dm:ann:bea', 'k1')).toEqual({ id: f2.id, why: 'incomplete' });
        // Nothing was claimed by the refused call.
        expect((await store.files.get(f1.id))?.claim).toBeNull();
        await done(f2.id, 'a'.repeat(64));
        expect(await store.files.claim('ann', [other.id], 'dm:ann:bea', 'k1')).toEqual({ id: other.id, why: 'missing' });
        const claimed = await store.files.claim('ann', [f2.id, f1.id], 'dm:ann:bea', 'k1');
        expect((claimed as { id: string }[]).map((f) => f.id)).toEqual([f2.id, f1.id]);
        expect(await store.files.claim('ann', [f1.id], 'dm:ann:bea', 'k2')).toEqual({ id: f1.id, why: 'sent' });
        expect(Array.isArray(await store.files.claim('ann', [f1.id], 'dm:ann:bea', 'k1'))).toBe(true);
        await store.files.release([f1.id, f2.id], 'k1');
        expect((await store.files.get(f1.id))?.conversationId).toBeNull();
        await store.files.claim('ann', [f1.id, f2.id], 'dm:ann:bea', 'k3');
        await store.files.sent([f1.id, f2.id], 7);
        // Once the message is durable, a release changes nothing.
        await store.files.release([f1.id], 'k3');
        expect(await store.files.get(f1.id)).toMatchObject({ conversationId: 'dm:ann:bea', claim: 'k3', seq: 7, sha256: 'a'.repeat(64), type: 'text/plain' });
        expect(await store.files.references('a'.repeat(64))).toBe(2);
        expect((await store.files.shared('dm:ann:bea', 100, 100, 10)).map((f) => f.id).sort()).toEqual([f1.id, f2.id].sort());
        expect(await store.files.shared('dm:ann:bea', 6, 100, 10)).toEqual([]);
        expect(await store.files.shared('dm:ann:bea', 100, 7, 10)).toEqual([]);
        expect((await store.files.ofConversation('dm:ann:bea', 10)).length).toBe(2);
      });

      it('lists unsent uploads begun before a time, oldest first', async () => {
        const old = await upload('ann', 1, iso(Date.now() - 60_000));
        const sentOld = await upload('ann', 1, iso(Date.now() - 50_000));
        await upload('ann', 1);
        await done(sentOld.id, 'b'.repeat(64));
        await store.files.claim('ann', [sentOld.id], 'dm:ann:bea', 'k');
        expect((await store.files.abandoned(iso(Date.now() - 10_000), 10)).map((f) => f.id)).toEqual([old.id]);
      });
    });

    describe('Lifecycle', () => {
      it('reports health', async () => {
        expect((await store.health()).ok).toBe(true);
      });

    });
  });
}
