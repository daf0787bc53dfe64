import type { Logger } from 'pino';
import { ChatError, type ServerToClientEvents } from '../../protocol/index.js';
import type { Broker, ChatServer, CredentialNotice } from '../ports/index.js';

/** The Socket.IO server and what each socket carries (the types live with the broker port). */
export type { ChatServer, SocketData } from '../ports/index.js';
import type { AuthService } from './auth.js';
import type { FriendService } from './friends.js';
import type { GroupService } from './groups.js';
import type { MessageService } from './messages.js';
import type { TypingService } from './typing.js';

/** A user's sockets, on every node: one room per user (usernames never change), besides each socket's own. */
export const userRoom = (u: string) => `user:${u}`;

/**
 * Everything the services announce, delivered to the sockets it concerns on every node (through
 * the deployment's broker), and the other nodes' notices applied here: caches forget, revoked
 * sessions end.
 */
export class FanoutService {
  private io: ChatServer | null = null;

  constructor(
    private readonly broker: Broker,
    private readonly services: { auth: AuthService; friends: FriendService; groups: GroupService; messages: MessageService; typing: TypingService },
    private readonly log: Logger,
  ) {}

  /** An event to every socket of these users, on every node. */
  toUsers<E extends keyof ServerToClientEvents>(usernames: string[], event: E, ...args: Parameters<ServerToClientEvents[E]>) {
    if (usernames.length === 0) return;
    this.io!.to(usernames.map(userRoom)).emit(event, ...args);
  }

  /** Joins the Socket.IO server to the other nodes and wires every service's announcements to it. */
  async bind(io: ChatServer) {
    this.io = io;
    await this.broker.bind(io);
    const { auth, friends, groups, messages, typing } = this.services;
    messages.setFanout({
      message: (usernames, message, except) => this.broker.publish(usernames.map(userRoom), except ?? null, message),
      aiChunk: (usernames, chunk) => this.toUsers(usernames, 'ai:chunk', chunk),
    });
    typing.setFanout((usernames, event) => this.toUsers(usernames, 'typing:update', event));
    friends.onChange((to, event) => this.toUsers([to], 'friend:update', event));
    groups.onEvent((usernames, event) => this.toUsers(usernames, 'group:update', event));
    auth.onRevocation((notice) => {
      this.cut(notice, false);
      void this.broker.notify({ kind: 'credentials', notice });
    });
    friends.onPairChanged((a, b) => void this.broker.notify({ kind: 'friends', pair: [a, b] }));
    // A group change is announced to every other node, and waited for, before its system message
    // is appended: after that no node fans out to the membership it replaced.
    groups.onChanged((groupId) => this.broker.notify({ kind: 'group', groupId }));
    // Another node's notices: its caches forgot already, this node's do now. A handshake here that
    // read its cache just before is cut too (the sender's cut may have gone by before it joined).
    this.broker.onNotice((n) => {
      switch (n.kind) {
        case 'credentials':
          auth.forget(n.notice);
          this.cut(n.notice, true);
          return;
        case 'friends':
          friends.forget(n.pair[0], n.pair[1]);
          return;
        case 'group':
          groups.forget(n.groupId);
      }
    });
  }

  /** Ends the sockets a credential notice names: on every node, or (`local`) on this one. */
  private cut(e: CredentialNotice, local: boolean) {
    if (e.reason === 'changed') return;
    const io = this.io!;
    const err = new ChatError(e.reason === 'disabled' ? 'CHAT_ERR_ACCOUNT_DISABLED' : 'CHAT_ERR_SESSION_REVOKED');
    const room = (local ? io.local : io).in(userRoom(e.username));
    if (e.all) {
      room.emit('session:end', err.toBody());
      room.disconnectSockets(true);
      return;
    }
    // Rare, so sessions get no room of their own: the user's sockets, filtered.
    const sessions = new Set(e.sessionIds ?? []);
    if (sessions.size === 0) return;
    room.fetchSockets().then((sockets) => {
      for (const s of sockets) {
        if (!sessions.has(s.data.sessionId)) continue;
        s.emit('session:end', err.toBody());
        s.disconnect(true);
      }
    }, (err2: unknown) => this.log.warn({ err: err2 }, 'could not reach sockets to revoke'));
  }
}
