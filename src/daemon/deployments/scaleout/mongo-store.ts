import mongoose, { type Connection, type Model } from 'mongoose';
import type { Database } from '../archive.js';
import { MongoAccounts } from './mongo-accounts.js';
import { MongoArchive } from './mongo-archive.js';
import { MongoFiles } from './mongo-files.js';
import { MongoFriends } from './mongo-friends.js';
import { MongoGroups } from './mongo-groups.js';
import { models, RETIRED_INDEXES } from './mongo-models.js';
import { MongoReceipts } from './mongo-receipts.js';

/** The scale-out database through mongoose; the message hot path goes through Model.collection to skip per-document casting. */
export class MongoStore implements Database {
  readonly kind = 'mongodb';
  private conn!: Connection;
  accounts!: MongoAccounts;
  friends!: MongoFriends;
  groups!: MongoGroups;
  receipts!: MongoReceipts;
  files!: MongoFiles;
  archive!: MongoArchive;

  /** `auth`: MONGODB_USERNAME and MONGODB_PASSWORD, when the URI carries no credentials. */
  constructor(private readonly uri: string, private readonly dbName?: string, private readonly auth?: { username: string; password: string }) {}

  async start() {
    this.conn = mongoose.createConnection(this.uri, { dbName: this.dbName, autoIndex: false, autoCreate: false, serverSelectionTimeoutMS: 10_000, ...(this.auth ? { auth: this.auth } : {}) });
    await this.conn.asPromise();
    const m = models(this.conn);
    this.accounts = new MongoAccounts(m);
    this.friends = new MongoFriends(m);
    this.groups = new MongoGroups(m);
    this.receipts = new MongoReceipts(m);
    this.files = new MongoFiles(m);
    this.archive = new MongoArchive(m);
    for (const model of Object.values(m) as unknown as Pick<Model<unknown>, "createCollection" | "createIndexes">[]) {
      await model.createCollection().catch((err: unknown) => { if ((err as { code?: number }).code !== 48) throw err; });
      await model.createIndexes();
    }
    for (const [collection, names] of Object.entries(RETIRED_INDEXES)) {
      const existing = new Set((await this.conn.db!.collection(collection).indexes()).map((i) => i.name));
      for (const name of names) if (existing.has(name)) await this.conn.db!.collection(collection).dropIndex(name);
    }
  }

  async close() {
    await this.conn?.close();
  }

  async health() {
    try {
      await this.conn.db!.command({ ping: 1 });
      return { ok: true, kind: this.kind, detail: this.conn.name };
    } catch (err) {
      return { ok: false, kind: this.kind, detail: (err as Error).message };
    }
  }

  /** The driver's database, once started (GridFS works on it directly). */
  database() {
    if (!this.conn?.db) throw new Error('the MongoDB store is not started');
    return this.conn.db;
  }

  /** Drops the database (tests). */
  async drop() {
    await this.conn.dropDatabase();
  }
}
