/** Protocol limits. The daemon may lower or raise some through config; these are the defaults. */
export const LIMITS = {
  /** Default maximum message text length, in characters (CHAT_MAX_MESSAGE_LENGTH). */
  maxMessageLength: 4000,
  /** Hard ceiling for the configurable text length. */
  maxMessageLengthCeiling: 65536,
  /** Maximum clientMsgId length. */
  maxClientMsgIdLength: 128,
  /** Default page size for history. */
  defaultHistoryLimit: 50,
  /** Maximum page size for history. */
  maxHistoryLimit: 500,
  /** Maximum API token name length. */
  maxTokenNameLength: 64,
  /** Password length bounds (the upper bound keeps hashing cost bounded). */
  minPasswordLength: 8,
  maxPasswordLength: 1024,
  /** HTTP body limit in bytes. */
  maxHttpBodyBytes: 64 * 1024,
} as const;

/**
 * Socket.IO maxHttpBufferSize that fits the largest legal message: each
 * character can take up to 4 UTF-8 bytes (6 when JSON-escaped), plus envelope.
 */
export function socketBufferSizeFor(maxMessageLength: number): number {
  return maxMessageLength * 6 + 4096;
}
