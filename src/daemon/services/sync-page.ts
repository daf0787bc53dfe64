import type { Message, SyncResult } from '../../protocol/index.js';

/** About how many bytes a message takes in a sync answer: its text as UTF-8 at worst, and its fields. */
const messageBytes = (m: Message) => 256 + m.text.length * 3;

/**
 * The messages of one sync answer, within its bounds. Once it is full, or a message did not fit,
 * the answer says `more`: the next call, from the moved cursors, reads what is left (if anything).
 */
export class SyncPage {
  private readonly messages: Message[] = [];
  private bytes = 0;
  private cut = false;
  constructor(private readonly maxMessages: number, private readonly maxBytes: number) {}

  full() {
    return this.cut || this.messages.length >= this.maxMessages || this.bytes >= this.maxBytes;
  }

  /** How many more messages may come. */
  room() {
    return this.maxMessages - this.messages.length;
  }

  /** Adds messages in order while they fit (the first of an answer always does). */
  add(page: Message[]) {
    for (const m of page) {
      const size = messageBytes(m);
      if (this.messages.length > 0 && this.bytes + size > this.maxBytes) {
        this.cut = true;
        return;
      }
      this.messages.push(m);
      this.bytes += size;
    }
  }

  result(): SyncResult {
    return { messages: this.messages, more: this.full() };
  }
}
