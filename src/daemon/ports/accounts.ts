export interface UserRecord {
  id: string;
  username: string;
  passwordHash: string;
  admin: boolean;
  disabled: boolean;
  createdAt: string;
}

export interface RefreshTokenRecord {
  id: string;
  userId: string;
  familyId: string;
  tokenHash: string;
  createdAt: string;
  expiresAt: string;
  usedAt: string | null;
  revokedAt: string | null;
  device: string | null;
}

export interface ApiTokenRecord {
  id: string;
  userId: string;
  name: string;
  tokenHash: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

/** Users, their sessions (refresh-token families) and their API tokens. */
export interface AccountStore {
  /** Creates a user; the first user of an empty store becomes admin. Throws CHAT_ERR_USERNAME_TAKEN. */
  createUser(input: { id: string; username: string; passwordHash: string; createdAt: string }): Promise<UserRecord>;
  getUserById(id: string): Promise<UserRecord | null>;
  getUserByName(username: string): Promise<UserRecord | null>;
  listUsers(): Promise<UserRecord[]>;
  updateUser(id: string, patch: Partial<Pick<UserRecord, 'passwordHash' | 'admin' | 'disabled'>>): Promise<void>;

  insertRefreshToken(rec: RefreshTokenRecord): Promise<void>;
  getRefreshToken(id: string): Promise<RefreshTokenRecord | null>;
  /** Marks a refresh token used, only if it was not used or revoked yet. Returns false when someone else got there first. */
  markRefreshTokenUsed(id: string, at: string): Promise<boolean>;
  revokeFamily(familyId: string, at: string): Promise<void>;
  /** Revokes every session of a user, except one family if given. Returns the revoked family ids. */
  revokeUserSessions(userId: string, at: string, exceptFamilyId?: string): Promise<string[]>;
  /** True while the family has a token that is not revoked. */
  isSessionActive(familyId: string): Promise<boolean>;
  /** A user's live session families, the oldest first. */
  activeSessions(userId: string): Promise<string[]>;
  /**
   * Bounds a user's refresh rows: drops the rows of revoked or expired families, and in `familyId`
   * the used rows beyond the newest `keep` (older tokens then read as invalid, not as reused).
   */
  pruneRefreshTokens(userId: string, familyId: string, keep: number, now: string): Promise<void>;

  insertApiToken(rec: ApiTokenRecord): Promise<void>;
  getApiToken(id: string): Promise<ApiTokenRecord | null>;
  listApiTokens(userId: string): Promise<ApiTokenRecord[]>;
  /** Returns false when the token does not exist, belongs to someone else or was already revoked. */
  revokeApiToken(userId: string, id: string, at: string): Promise<boolean>;
  touchApiToken(id: string, at: string): Promise<void>;
  /** Revokes every live API token of a user; returns their ids. */
  revokeUserApiTokens(userId: string, at: string): Promise<string[]>;
}
