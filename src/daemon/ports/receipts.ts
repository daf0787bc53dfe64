import type { Receipt } from '../../protocol/index.js';

export type { Receipt };

/** One user's markers in one conversation. */
export interface ReceiptMark extends Receipt {
  conversationId: string;
  username: string;
}

/** Read and delivery markers: per (conversation, user), values that only rise. */
export interface ReceiptStore {
  /** Raises several markers at once (one transaction or bulk write), never lowering any. */
  setReceipts(marks: ReceiptMark[]): Promise<void>;
  /** Markers of every user who has any in the conversation. */
  getReceipts(conversationId: string): Promise<Record<string, Receipt>>;
}
