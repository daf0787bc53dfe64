import { ChatError, type AiChunkEvent, type GroupRole, type Message } from '../../protocol/index.js';

/** Delivers server events to every socket of the named users, on any node. */
export interface Fanout {
  /** `except`: the connection that sent the message; it has the message in its ack already. */
  message(usernames: string[], message: Message, except?: string): void;
  aiChunk(usernames: string[], chunk: AiChunkEvent): void;
}

/** What the message path needs of groups (GroupService). */
export interface GroupDirectory {
  /** The conversation of the group `ref` (`#handle`) names, when `me` is a current member; CHAT_ERR_GROUP_NOT_FOUND otherwise. */
  postable(me: string, ref: string): Promise<string>;
  /** The conversation of the group `ref` names and `me`'s role in it, when a current member; CHAT_ERR_GROUP_NOT_FOUND otherwise. */
  membership(me: string, ref: string): Promise<{ conversationId: string; role: GroupRole }>;
  /** A group conversation's current members: whom its messages go to. */
  recipients(conversationId: string): Promise<string[]>;
  /**
   * What `me` may read of a group (`#handle` or `g:<id>`): everything while a member (with the
   * members), up to their removal after. CHAT_ERR_GROUP_NOT_FOUND when they never were a member.
   */
  readable(me: string, ref: string): Promise<{ conversationId: string; upTo: number; members: string[] }>;
  /** A user's current groups. */
  groupsOf(me: string): Promise<{ conversationId: string; handle: string; name: string; topic: string; members: string[] }[]>;
}

/** Without groups (tests of the message path alone): every group reads as missing. */
export const NO_GROUPS: GroupDirectory = {
  postable: () => Promise.reject(new ChatError('CHAT_ERR_GROUP_NOT_FOUND')),
  membership: () => Promise.reject(new ChatError('CHAT_ERR_GROUP_NOT_FOUND')),
  recipients: async () => [],
  readable: () => Promise.reject(new ChatError('CHAT_ERR_GROUP_NOT_FOUND')),
  groupsOf: async () => [],
};
