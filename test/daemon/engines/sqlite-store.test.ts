import path from 'node:path';
import fs from 'node:fs';
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { v7 as uuidv7 } from 'uuid';
import { SqliteStore } from '../../../src/daemon/engines/sqlite-store.js';
import { WRITER_NICE } from '../../../src/daemon/engines/thread-priority.js';
import { tmpDir } from '../../support/daemon.js';
import { storeContract } from './store.contract.js';

storeContract('sqlite', async () => {
  const s = new SqliteStore(path.join(tmpDir(), 'chat.db'));
  await s.start();
  return s;
});

describe('SqliteStore specifics', () => {
  it('creates the database file with mode 0600 in WAL mode and keeps data across reopen', async () => {
    const file = path.join(tmpDir(), 'sub', 'chat.db');
    const s = new SqliteStore(file);
    await s.start();
    await s.createUser({ id: uuidv7(), username: 'alice', passwordHash: 'h', createdAt: new Date().toISOString() });
    await s.close();
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const again = new SqliteStore(file);
    await again.start();
    expect((await again.getUserByName('alice'))?.admin).toBe(true);
    await again.close();
  });
});

describe('the message writer thread', () => {
  /** Each thread of this process with its nice value (field 19 of /proc/<pid>/task/<tid>/stat). */
  const niceByThread = () => new Map(fs.readdirSync('/proc/self/task').map((tid) => {
    const stat = fs.readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    return [tid, Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16])] as const;
  }));

  it.runIf(process.platform === 'linux')('commits on a thread that runs below the event loop’s priority', async () => {
    const base = os.getPriority(0);
    const before = niceByThread();
    const s = new SqliteStore(path.join(tmpDir(), 'chat.db'));
    await s.start();
    const [m] = await s.appendMessages([{ id: uuidv7(), conversationId: 'dm:a:b', from: 'a', to: 'b', text: 'hi', kind: 'user', createdAt: new Date().toISOString(), clientMsgId: 'c1' }]);
    expect(m?.seq).toBe(1);
    const fresh = [...niceByThread()].filter(([tid]) => !before.has(tid));
    expect(fresh.map(([, nice]) => nice)).toContain(Math.min(19, base + WRITER_NICE));
    expect(niceByThread().get(String(process.pid)) ?? base).toBe(base);
    await s.close();
  });
});
