import type { Logger } from 'pino';
import { ChatError } from '../../protocol/index.js';
import type { Presence } from '../ports/index.js';
import type { FanoutService } from './fanout.js';
import type { FriendService } from './friends.js';

/** Connections per user, and who is online: friends hear when a user comes online or goes offline. */
export class PresenceService {
  constructor(
    private readonly presence: Presence,
    private readonly friends: FriendService,
    private readonly fanout: FanoutService,
    private readonly opts: { maxSocketsPerUser: number; isClosing: () => boolean },
    private readonly log: Logger,
  ) {}

  /** Refuses a connection past CHAT_MAX_SOCKETS_PER_USER (counted on every node). */
  async admit(username: string) {
    if ((await this.presence.presenceCount(username)) >= this.opts.maxSocketsPerUser) {
      throw new ChatError('CHAT_ERR_LIMIT_REACHED', `At most ${this.opts.maxSocketsPerUser} connections per user; close one first`);
    }
  }

  connected(username: string, connectionId: string) {
    void this.presence.presenceAdd(username, connectionId).then(async (cameOnline) => {
      if (cameOnline) await this.announce(username, true);
    }).catch((err) => this.log.warn({ err }, 'presence add failed'));
  }

  disconnected(username: string, connectionId: string) {
    void this.presence.presenceRemove(username, connectionId).then(async (wentOffline) => {
      if (wentOffline) await this.announce(username, false);
    }).catch((err) => this.log.warn({ err }, 'presence remove failed'));
  }

  /** Entries in a shared presence expire unless this node keeps re-asserting its connections. */
  heartbeat(live: { username: string; connectionId: string }[]) {
    this.presence.presenceHeartbeat(live).catch((err) => this.log.warn({ err }, 'presence heartbeat failed'));
  }

  private async announce(username: string, online: boolean) {
    if (this.opts.isClosing()) return;
    this.fanout.toUsers(await this.friends.friendNames(username), 'presence:update', { username, online });
  }
}
