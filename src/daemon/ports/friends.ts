/**
 * Friendship as directed edges: a request is one edge, a friendship is both. Usernames, not ids:
 * they never change.
 */
export interface FriendStore {
  /** Records that `from` wants to be friends with `to` (idempotent). */
  addFriendEdge(from: string, to: string, at: string): Promise<void>;
  hasFriendEdge(from: string, to: string): Promise<boolean>;
  /** Removes edges in both directions (unfriend, decline or cancel). Returns whether anything was removed. */
  removeFriendEdges(a: string, b: string): Promise<boolean>;
  /** Usernames `username` points to (out) and that point to `username` (in). */
  listFriendEdges(username: string): Promise<{ out: string[]; in: string[] }>;
}
