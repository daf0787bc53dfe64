import { ChatError, toChatError } from '../protocol/index.js';

/** Driver errors that mean an engine is unreachable, not that the request was wrong. */
const UNAVAILABLE = /^Mongo(NetworkError|ServerSelectionError|NotConnectedError|TopologyClosedError|NetworkTimeoutError)$/;

/**
 * The daemon's view of any thrown value: coded errors pass through, an unreachable
 * engine becomes CHAT_ERR_UNAVAILABLE (nothing was accepted; retry), anything else internal.
 */
export function classify(err: unknown): ChatError {
  if (err instanceof ChatError) return err;
  const e = err as { name?: string; code?: string; message?: string } | undefined;
  if (e && ((e.name && UNAVAILABLE.test(e.name)) || e.code === 'ECONNREFUSED' || e.message === 'Connection is closed.' || /MaxRetriesPerRequest|Stream isn't writeable/.test(e.message ?? ''))) {
    return new ChatError('CHAT_ERR_UNAVAILABLE', undefined, { cause: err });
  }
  if (e && isStorageFull(e)) return new ChatError('CHAT_ERR_STORAGE_FULL', undefined, { cause: err });
  return toChatError(err);
}

/** SQLite's "database or disk is full", the OS's ENOSPC and MongoDB's out-of-disk errors. */
export function isStorageFull(e: { code?: unknown; codeName?: unknown; message?: unknown }): boolean {
  return e.code === 'SQLITE_FULL' || e.code === 'ENOSPC' || e.codeName === 'OutOfDiskSpace' || (typeof e.message === 'string' && /\bENOSPC\b|No space left on device/.test(e.message));
}
