import { ChatError, toChatError } from '../protocol/index.js';
import type { RateLimitResult } from './ports/index.js';
import { EngineUnavailableError, HandleTakenError, StorageFullError, toEngineError } from './ports/errors.js';

/** The refusal of a rate limit, with the wait it named (answered as Retry-After on REST). */
export function rateLimited(rl: Pick<RateLimitResult, 'retryAfterMs'>): ChatError {
  return new ChatError('CHAT_ERR_RATE_LIMITED', undefined, { retryAfterMs: rl.retryAfterMs });
}

/**
 * The daemon's view of any thrown value: coded errors pass through, an unreachable engine
 * becomes CHAT_ERR_UNAVAILABLE (nothing was accepted; retry), a full disk CHAT_ERR_STORAGE_FULL, a
 * taken group handle CHAT_ERR_HANDLE_TAKEN,
 * anything else internal.
 */
export function classify(err: unknown): ChatError {
  if (err instanceof ChatError) return err;
  if (err instanceof HandleTakenError) return new ChatError('CHAT_ERR_HANDLE_TAKEN', `#${err.handle} is taken`);
  const e = toEngineError(err);
  if (e instanceof EngineUnavailableError) return new ChatError('CHAT_ERR_UNAVAILABLE', undefined, { cause: err });
  if (e instanceof StorageFullError) return new ChatError('CHAT_ERR_STORAGE_FULL', undefined, { cause: err });
  return toChatError(err);
}
