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
  /** Most cursors in one message:sync. */
  maxSyncCursors: 1000,
  /** Most characters of a conversation id. */
  maxConversationIdLength: 100,
  /** Most ids in one admin replay or purge, and their length (message ids, topic:partition:offset). */
  maxAdminIds: 1000,
  maxAdminIdLength: 100,
  /** A group's display name and topic, in characters. */
  maxGroupNameLength: 64,
  maxGroupTopicLength: 256,
  /** Most usernames in one group create or add call (a group may hold more, CHAT_MAX_GROUP_MEMBERS). */
  maxGroupUsersPerCall: 100,
  /** Most files on one message. */
  maxFilesPerMessage: 10,
} as const;

/**
 * The most bytes a legal payload can take in JSON, whatever the encoder: every string character
 * may be written as a \uXXXX escape (6 bytes per UTF-16 unit; text limits count code points, and
 * one code point can be two units), numbers in their shortest form, no insignificant whitespace.
 */
const ESCAPED_UNIT = 6;
const NUMBER = 24;
const ENVELOPE = 1024;
function escaped(units: number) {
  return units * ESCAPED_UNIT + 2;
}

/** A file id's length (a UUID). */
const FILE_ID_UNITS = 36;

/** message:send (and POST /v1/messages) at the largest legal size. */
export function maxSendBytes(maxMessageLength: number): number {
  return ENVELOPE + escaped(33) + escaped(2 * maxMessageLength) + escaped(LIMITS.maxClientMsgIdLength) + LIMITS.maxFilesPerMessage * (escaped(FILE_ID_UNITS) + 1);
}

/** message:sync with every cursor at its longest. */
export function maxSyncBytes(): number {
  return ENVELOPE + LIMITS.maxSyncCursors * (escaped(LIMITS.maxConversationIdLength) + NUMBER + 2);
}

/** An admin replay or purge with every id at its longest (those routes take bodies this large). */
export function maxAdminIdsBytes(): number {
  return ENVELOPE + LIMITS.maxAdminIds * (escaped(LIMITS.maxAdminIdLength) + 1);
}

/**
 * Socket.IO maxHttpBufferSize that fits every payload the schemas accept, in any JSON encoding
 * (test/security/storage.test.ts sends them escaped): what does not fit is illegal anyway.
 */
export function socketBufferSizeFor(maxMessageLength: number): number {
  return Math.max(maxSendBytes(maxMessageLength), maxSyncBytes());
}

/** A username at its longest (3-32 characters). */
const USERNAME_UNITS = 32;

/**
 * Every other REST body (accounts, passwords, tokens, groups, friends): the larger of a group
 * create with its most members, every string at its longest, and a password change.
 */
export function maxOtherBodyBytes(): number {
  const users = LIMITS.maxGroupUsersPerCall * (escaped(USERNAME_UNITS) + 1);
  const groupCreate = escaped(USERNAME_UNITS + 1) + escaped(2 * LIMITS.maxGroupNameLength) + escaped(2 * LIMITS.maxGroupTopicLength) + users;
  const passwords = 2 * escaped(LIMITS.maxPasswordLength) + escaped(2 * 64) + NUMBER;
  return ENVELOPE + Math.max(groupCreate, passwords);
}

/** The body limit of POST /v1/messages: the largest legal message, and no more. */
export function httpBodyLimitFor(maxMessageLength: number): number {
  return maxSendBytes(maxMessageLength);
}
