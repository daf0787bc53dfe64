import crypto from 'node:crypto';
import { ChatError } from '../../protocol/index.js';
import type { Config } from '../config.js';
import { rateLimited } from '../errors.js';
import { loadNative } from '../native.js';
import type { Limits } from '../ports/index.js';

// Native: a build that does not load says which module and how to fix it.
const argon2 = loadNative<typeof import('argon2')>('argon2');

/** OWASP's minimum for argon2id: 19 MiB, 2 iterations, 1 lane. */
export const ARGON2_OPTIONS = { type: argon2.argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;
/** The longest a (account, address) pair waits after failures. */
const MAX_FAILURE_DELAY_MS = 15 * 60_000;

/** Failure-counter keys; the account name is lowercased so case changes count as one account. */
function failureKeys(ip: string, username: string) {
  const u = username.toLowerCase();
  return { pair: `authf:pair:${u}|${ip}`, address: `authf:ip:${ip}`, account: `authf:user:${u}` };
}

type PasswordConfig = Pick<Config, 'authRateLimit' | 'authRateWindowSec' | 'authFailureWindowSec' | 'authAddressFailures' | 'authAccountFailures' | 'authFreeFailures'>;

/** Passwords: argon2id hashes, and the throttling of attempts and failures in front of every check. */
export class Passwords {
  private dummyHash?: Promise<string>;

  constructor(private readonly limits: Limits, private readonly config: PasswordConfig) {}

  hash(password: string) {
    return argon2.hash(password, ARGON2_OPTIONS);
  }

  /** Rate limits any auth attempt (right or wrong) per client address; throws CHAT_ERR_RATE_LIMITED. */
  async limitAttempt(ip: string) {
    const r = await this.limits.rateLimit(`auth:ip:${ip}`, this.config.authRateLimit, this.config.authRateWindowSec * 1000);
    if (!r.allowed) throw rateLimited(r);
  }

  /**
   * Refuses a password attempt that comes too soon after failures. Failures are counted per
   * (account, address), per address and per account. A pair past its free failures waits 1 s,
   * then 2, 4… (up to 15 min); an address past its ceiling waits; and past the account's much
   * higher ceiling, only addresses with a failure of their own for it are refused, so guesses
   * from elsewhere never lock the owner out of a clean address.
   */
  private async guard(ip: string, username: string) {
    await this.limitAttempt(ip);
    const k = failureKeys(ip, username);
    const [held, pair, address, account] = await Promise.all([this.limits.holdGet(k.pair), this.limits.countGet(k.pair), this.limits.countGet(k.address), this.limits.countGet(k.account)]);
    const window = this.config.authFailureWindowSec * 1000;
    if (held > 0) throw new ChatError('CHAT_ERR_RATE_LIMITED', 'Too many wrong passwords from this address; wait before trying again', { retryAfterMs: held });
    if (address >= this.config.authAddressFailures) throw new ChatError('CHAT_ERR_RATE_LIMITED', 'Too many wrong passwords from this address', { retryAfterMs: window });
    if (account >= this.config.authAccountFailures && pair > 0) throw new ChatError('CHAT_ERR_RATE_LIMITED', 'Too many wrong passwords for this account', { retryAfterMs: window });
  }

  private async failed(ip: string, username: string) {
    const k = failureKeys(ip, username);
    const window = this.config.authFailureWindowSec * 1000;
    const [pair] = await Promise.all([this.limits.countHit(k.pair, window), this.limits.countHit(k.address, window), this.limits.countHit(k.account, window)]);
    const over = pair - this.config.authFreeFailures;
    if (over > 0) await this.limits.holdSet(k.pair, Math.min(MAX_FAILURE_DELAY_MS, 1000 * 2 ** Math.min(20, over - 1)));
  }

  /** Verifies a password behind the failure guard; a wrong one is counted and refused. */
  async check(ip: string, username: string, hash: string | undefined, password: string, wrong: ChatError) {
    await this.guard(ip, username);
    // Verify against a dummy hash for unknown users so timing does not reveal which names exist.
    this.dummyHash ??= this.hash(crypto.randomBytes(16).toString('hex'));
    const ok = await argon2.verify(hash ?? (await this.dummyHash), password).catch(() => false);
    if (!ok || hash === undefined) {
      await this.failed(ip, username);
      throw wrong;
    }
    await this.limits.countClear(failureKeys(ip, username).pair);
  }
}
