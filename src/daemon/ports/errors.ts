/**
 * Typed backend errors. Callers branch on these classes, never on message text: the drivers'
 * own errors are recognised once, here (`toEngineError`), by their names and codes.
 */

/** An engine failure, with the driver's error as `cause`. */
export class EngineError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The engine cannot be reached now (down, restarting, disconnected): nothing was done; retry later. */
export class EngineUnavailableError extends EngineError {}

/** The engine is out of space (SQLite's SQLITE_FULL, ENOSPC, MongoDB's OutOfDiskSpace): writes fail until space returns. */
export class StorageFullError extends EngineError {}

/**
 * A different message already holds this (conversationId, seq). Permanent for that message: a
 * retry cannot succeed, so the persister dead-letters it instead of retrying.
 */
export class SeqConflictError extends EngineError {
  constructor(readonly messageId: string, readonly conversationId: string, readonly seq: number) {
    super(`message ${messageId} conflicts on (conversationId, seq) = (${conversationId}, ${seq})`);
  }
}

/** Another group holds this handle (handles are unique on the server). */
export class HandleTakenError extends EngineError {
  constructor(readonly handle: string) {
    super(`the group handle ${handle} is taken`);
  }
}

/** Driver errors that mean an engine is unreachable, not that the request was wrong. */
const UNAVAILABLE_NAMES = /^Mongo(NetworkError|ServerSelectionError|NotConnectedError|TopologyClosedError|NetworkTimeoutError)$/;
/** ioredis: a class for one case, text for the others. */
const UNAVAILABLE_REDIS = /^Connection is closed\.$|Stream isn't writeable/;
/** SQLite's extended result codes for a full disk: SQLITE_FULL (13) in the low byte. */
const SQLITE_FULL = 13;

/** SQLite's "database or disk is full", the OS's ENOSPC and MongoDB's out-of-disk errors. */
export function isStorageFull(e: { code?: unknown; errcode?: unknown; codeName?: unknown; message?: unknown }): boolean {
  return e.code === 'SQLITE_FULL' || (typeof e.errcode === 'number' && (e.errcode & 0xff) === SQLITE_FULL) || e.code === 'ENOSPC' || e.codeName === 'OutOfDiskSpace' || (typeof e.message === 'string' && /\bENOSPC\b|No space left on device/.test(e.message));
}

/** The typed form of a driver's error, or null when it is none of the kinds above. */
export function toEngineError(err: unknown): EngineError | null {
  if (err instanceof EngineError) return err;
  const e = err as { name?: string; code?: string; codeName?: string; message?: string } | undefined;
  if (!e || typeof e !== 'object') return null;
  if ((e.name && UNAVAILABLE_NAMES.test(e.name)) || e.name === 'MaxRetriesPerRequestError' || e.code === 'ECONNREFUSED' || UNAVAILABLE_REDIS.test(e.message ?? '')) return new EngineUnavailableError(e.message ?? 'engine unavailable', { cause: err });
  if (isStorageFull(e)) return new StorageFullError(e.message ?? 'storage full', { cause: err });
  return null;
}
