import path from 'node:path';
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { v7 as uuidv7 } from 'uuid';
import { SqliteStore } from '../../../src/daemon/engines/sqlite-store.js';
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
