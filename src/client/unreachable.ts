import { ChatError } from '../protocol/errors.js';

/** The message every command gives when chatd cannot be reached, over REST or the socket. */
export function unreachable(server: string, detail: string): ChatError {
  return new ChatError('CHAT_ERR_UNAVAILABLE', `Cannot reach chatd at ${server}: ${detail}`);
}
