import { ChatError, type AdminStatus, type AdminUserView, type FailedPublish, type DeadLetter, type HealthReport, type ReplayResult } from '../../protocol/index.js';
import type { AccountStore, Operations, UserRecord } from '../ports/index.js';
import type { AuthService } from './auth.js';

export type AdminAction = 'disable' | 'enable' | 'promote' | 'demote' | 'password';

const view = (u: UserRecord): AdminUserView => ({ id: u.id, username: u.username, admin: u.admin, disabled: u.disabled, createdAt: u.createdAt });

/**
 * What admins do: manage users (through AuthService where credentials are involved, so disabling
 * or resetting ends every session and token), read the node's status, and replay or purge failed
 * publishes and dead letters. The routes in http.ts only parse and call this.
 */
export class AdminService {
  constructor(
    private readonly store: AccountStore,
    private readonly auth: AuthService,
    private readonly ops: Operations,
    private readonly node: { store: string; log: string; cache: string },
    private readonly backends: () => Promise<HealthReport['backends']>,
  ) {}

  /** Each backend's health, with details (admins and chatd's own readiness check only). */
  health(): Promise<HealthReport['backends']> {
    return this.backends();
  }

  async users(): Promise<AdminUserView[]> {
    return (await this.store.listUsers()).map(view);
  }

  /** `actorId` is the admin acting: nobody disables or demotes themselves. */
  async act(actorId: string, username: string, action: string, password?: () => string): Promise<AdminUserView> {
    const u = await this.store.getUserByName(username);
    if (!u) throw new ChatError('CHAT_ERR_USER_NOT_FOUND', `No such user: ${username}`);
    const self = u.id === actorId;
    switch (action as AdminAction) {
      case 'disable':
        if (self) throw new ChatError('CHAT_ERR_FORBIDDEN', 'You cannot disable yourself');
        await this.auth.setDisabled(u, true);
        break;
      case 'enable':
        await this.auth.setDisabled(u, false);
        break;
      case 'promote':
        await this.auth.setAdmin(u, true);
        break;
      case 'demote':
        if (self) throw new ChatError('CHAT_ERR_FORBIDDEN', 'You cannot demote yourself');
        await this.auth.setAdmin(u, false);
        break;
      case 'password':
        await this.auth.resetPassword(u, password!());
        break;
      default:
        throw new ChatError('CHAT_ERR_NOT_FOUND', `Unknown admin action: ${action}`);
    }
    return view((await this.store.getUserById(u.id))!);
  }

  async status(): Promise<AdminStatus> {
    return { node: { pid: process.pid, uptimeSec: Math.round(process.uptime()), ...this.node }, backends: await this.backends(), ...(await this.ops.status()) };
  }

  failed(): Promise<FailedPublish[]> {
    return this.ops.failedList();
  }

  failedReplay(ids: string[] | 'all'): Promise<ReplayResult> {
    return this.ops.failedReplay(ids === 'all' ? undefined : ids);
  }

  failedPurge(ids: string[] | 'all'): Promise<{ purged: string[] }> {
    return this.ops.failedPurge(ids === 'all' ? undefined : ids);
  }

  deadLetters(): Promise<DeadLetter[]> {
    return this.ops.dlqList();
  }

  deadLetterReplay(ids: string[] | 'all'): Promise<ReplayResult> {
    return this.ops.dlqReplay(ids === 'all' ? undefined : ids);
  }

  searchReindex(): Promise<{ indexed: number }> {
    return this.ops.searchReindex();
  }
}
