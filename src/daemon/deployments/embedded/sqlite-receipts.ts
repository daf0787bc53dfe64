import type { ReceiptMark, ReceiptStore } from '../../ports/index.js';
import type { SqliteDb } from './sqlite-driver.js';

export const RECEIPTS_SCHEMA = `
CREATE TABLE IF NOT EXISTS receipts (
  conversation_id TEXT NOT NULL,
  username TEXT NOT NULL,
  delivered INTEGER NOT NULL DEFAULT 0,
  read INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (conversation_id, username)
) WITHOUT ROWID;
`;

/** Read and delivery markers in the embedded database. */
export class SqliteReceipts implements ReceiptStore {
  private readonly stmts;

  constructor(private readonly db: SqliteDb) {
    this.stmts = {
      upsertReceipt: db.prepare('INSERT INTO receipts (conversation_id, username, delivered, read) VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET delivered = MAX(delivered, excluded.delivered), read = MAX(read, excluded.read)'),
      receipts: db.prepare<[string], { username: string; delivered: number; read: number }>('SELECT username, delivered, read FROM receipts WHERE conversation_id = ?'),
    };
  }

  async getReceipts(conversationId: string) {
    const out: Record<string, { delivered: number; read: number }> = {};
    for (const r of this.stmts.receipts.all(conversationId)) out[r.username] = { delivered: r.delivered, read: r.read };
    return out;
  }

  async setReceipts(marks: ReceiptMark[]) {
    if (marks.length === 0) return;
    this.db.transaction(() => {
      // Reading implies having received.
      for (const m of marks) this.stmts.upsertReceipt.run(m.conversationId, m.username, Math.max(m.delivered, m.read), m.read);
    })();
  }
}
