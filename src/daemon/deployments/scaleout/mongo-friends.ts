import type { FriendStore } from '../../ports/index.js';
import type { EdgeDoc, Models } from './mongo-models.js';
import { isDup } from './mongo-util.js';

/** Friend edges in MongoDB, one document per direction. */
export class MongoFriends implements FriendStore {
  constructor(private readonly m: Models) {}

  async addFriendEdge(from: string, to: string, at: string) {
    try {
      await this.m.Edge.collection.insertOne({ _id: `${from}>${to}`, from, to, createdAt: at } as never);
    } catch (err) {
      if (!isDup(err)) throw err;
    }
  }

  async hasFriendEdge(from: string, to: string) {
    return (await this.m.Edge.collection.countDocuments({ _id: `${from}>${to}` } as never, { limit: 1 })) > 0;
  }

  async removeFriendEdges(a: string, b: string) {
    const r = await this.m.Edge.collection.deleteMany({ _id: { $in: [`${a}>${b}`, `${b}>${a}`] } } as never);
    return r.deletedCount > 0;
  }

  async listFriendEdges(username: string) {
    const [out, inn] = await Promise.all([
      this.m.Edge.collection.find({ from: username }).sort({ to: 1 }).toArray(),
      this.m.Edge.collection.find({ to: username }).sort({ from: 1 }).toArray(),
    ]);
    return { out: out.map((d) => (d as unknown as EdgeDoc).to), in: inn.map((d) => (d as unknown as EdgeDoc).from) };
  }
}
