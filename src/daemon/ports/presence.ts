/**
 * Who is connected, on every node. A shared implementation expires the entries of a node that
 * stops re-asserting them (a crashed node's users go offline by themselves).
 */
export interface Presence {
  /** Registers a connection; returns true when the user just came online. */
  presenceAdd(username: string, connectionId: string): Promise<boolean>;
  /** Unregisters a connection; returns true when the user just went offline. */
  presenceRemove(username: string, connectionId: string): Promise<boolean>;
  presenceOnline(usernames: string[]): Promise<Record<string, boolean>>;
  /** Live connections of a user, on every node. */
  presenceCount(username: string): Promise<number>;
  /** Re-asserts this node's live connections so they do not expire. */
  presenceHeartbeat(connections: { username: string; connectionId: string }[]): Promise<void>;
}
