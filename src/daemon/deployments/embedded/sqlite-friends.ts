import type { FriendStore } from '../../ports/index.js';
import type { SqliteDb } from './sqlite-driver.js';

export const FRIENDS_SCHEMA = `
CREATE TABLE IF NOT EXISTS friend_edges (
  from_user TEXT NOT NULL,
  to_user TEXT NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (from_user, to_user)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS friend_edges_to ON friend_edges(to_user);
`;

/** Friend edges in the embedded database. */
export class SqliteFriends implements FriendStore {
  private readonly stmts;

  constructor(db: SqliteDb) {
    this.stmts = {
      addEdge: db.prepare('INSERT OR IGNORE INTO friend_edges (from_user, to_user, created_at) VALUES (?, ?, ?)'),
      hasEdge: db.prepare<[string, string], { n: number }>('SELECT COUNT(*) AS n FROM friend_edges WHERE from_user = ? AND to_user = ?'),
      delEdges: db.prepare('DELETE FROM friend_edges WHERE (from_user = ? AND to_user = ?) OR (from_user = ? AND to_user = ?)'),
      edgesOut: db.prepare<[string], { u: string }>('SELECT to_user AS u FROM friend_edges WHERE from_user = ? ORDER BY to_user'),
      edgesIn: db.prepare<[string], { u: string }>('SELECT from_user AS u FROM friend_edges WHERE to_user = ? ORDER BY from_user'),
    };
  }

  async addFriendEdge(from: string, to: string, at: string) {
    this.stmts.addEdge.run(from, to, at);
  }

  async hasFriendEdge(from: string, to: string) {
    return this.stmts.hasEdge.get(from, to)!.n > 0;
  }

  async removeFriendEdges(a: string, b: string) {
    return this.stmts.delEdges.run(a, b, b, a).changes > 0;
  }

  async listFriendEdges(username: string) {
    return { out: this.stmts.edgesOut.all(username).map((r) => r.u), in: this.stmts.edgesIn.all(username).map((r) => r.u) };
  }
}
