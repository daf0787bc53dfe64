import { conversationMembers, type Message } from '../../protocol/index.js';
import type { Receipt, ReceiptMark, ReceiptStore } from '../ports/index.js';
import { TwoKeyMap } from './two-key-map.js';

/** How often coalesced read markers are written. */
const RECEIPT_FLUSH_MS = 1000;

/**
 * Read and delivery markers on their way to the store: each (conversation, user) is written at
 * most once per flush, whatever the number of receipts or sends in between. Values only rise.
 */
export class ReceiptBuffer {
  /** By conversation, then user. */
  private pending = new TwoKeyMap<ReceiptMark>();
  private timer?: NodeJS.Timeout;

  constructor(private readonly store: ReceiptStore, private readonly onError: (err: unknown) => void) {}

  /**
   * Raises a marker over `base` (what the store had) and what is pending; returns the result. A
   * marker already pending is raised where it is (every send raises its sender's: no new entry).
   */
  raise(m: ReceiptMark, base: Receipt = { delivered: 0, read: 0 }): Receipt {
    const p = this.pending.get(m.conversationId, m.username);
    const delivered = Math.max(m.delivered, base.delivered, p?.delivered ?? 0);
    const read = Math.max(m.read, base.read, p?.read ?? 0);
    if (p) {
      p.delivered = delivered;
      p.read = read;
    } else if (read !== base.read || delivered !== base.delivered) {
      this.pending.set(m.conversationId, m.username, { conversationId: m.conversationId, username: m.username, delivered, read });
      this.timer ??= setTimeout(() => { this.timer = undefined; void this.flush(); }, RECEIPT_FLUSH_MS).unref();
    }
    return { delivered, read };
  }

  /** A sender has read their own conversation up to what they sent. */
  own(m: Message) {
    this.raise({ conversationId: m.conversationId, username: m.from, delivered: m.seq, read: m.seq });
  }

  merged(conversationId: string, stored: Record<string, Receipt>, users: string[] = conversationMembers(conversationId)): Record<string, Receipt> {
    if (this.pending.size === 0) return stored;
    const out = { ...stored };
    for (const u of users) {
      const p = this.pending.get(conversationId, u);
      if (p) out[u] = { delivered: Math.max(p.delivered, out[u]?.delivered ?? 0), read: Math.max(p.read, out[u]?.read ?? 0) };
    }
    return out;
  }

  async flush() {
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new TwoKeyMap();
    try {
      await this.store.setReceipts([...batch.values()]);
    } catch (err) {
      // Kept for the next flush, merged with what was raised meanwhile: markers only rise.
      for (const m of batch.values()) {
        const p = this.pending.get(m.conversationId, m.username);
        if (!p) this.pending.set(m.conversationId, m.username, m);
        else {
          p.delivered = Math.max(p.delivered, m.delivered);
          p.read = Math.max(p.read, m.read);
        }
      }
      this.timer ??= setTimeout(() => { this.timer = undefined; void this.flush(); }, RECEIPT_FLUSH_MS).unref();
      this.onError(err);
    }
  }
}
