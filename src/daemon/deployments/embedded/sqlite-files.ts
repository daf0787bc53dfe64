import { ChatError, UNKNOWN_FILE_TYPE } from '../../../protocol/index.js';
import type { ClaimRefusal, FileRecord, FileStore } from '../../ports/index.js';
import type { SqliteDb } from './sqlite-driver.js';

/** Files' metadata in the embedded store (on the event loop's connection: a file is a few writes). */
export const FILES_SCHEMA = `
CREATE TABLE IF NOT EXISTS files (
  id TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  name TEXT NOT NULL,
  size INTEGER NOT NULL,
  type TEXT NOT NULL,
  sha256 TEXT,
  width INTEGER,
  height INTEGER,
  created_at TEXT NOT NULL,
  completed_at TEXT,
  conversation_id TEXT,
  claim TEXT,
  seq INTEGER
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS files_owner ON files(owner, completed_at);
CREATE INDEX IF NOT EXISTS files_sha ON files(sha256) WHERE sha256 IS NOT NULL;
CREATE INDEX IF NOT EXISTS files_conversation ON files(conversation_id, seq) WHERE conversation_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS files_unsent ON files(created_at) WHERE conversation_id IS NULL;
`;

interface FileRow { id: string; owner: string; name: string; size: number; type: string; sha256: string | null; width: number | null; height: number | null; created_at: string; completed_at: string | null; conversation_id: string | null; claim: string | null; seq: number | null }

const toFile = (r: FileRow): FileRecord => ({
  id: r.id, owner: r.owner, name: r.name, size: r.size, type: r.type, sha256: r.sha256, width: r.width, height: r.height,
  createdAt: r.created_at, completedAt: r.completed_at, conversationId: r.conversation_id, claim: r.claim, seq: r.seq,
});

export class SqliteFiles implements FileStore {
  private readonly s;

  constructor(private readonly db: SqliteDb) {
    this.s = {
      insert: db.prepare('INSERT INTO files (id, owner, name, size, type, created_at) VALUES (?, ?, ?, ?, ?, ?)'),
      get: db.prepare<[string], FileRow>('SELECT * FROM files WHERE id = ?'),
      usage: db.prepare<[string], { n: number }>('SELECT COALESCE(SUM(size), 0) AS n FROM files WHERE owner = ?'),
      inFlight: db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM files WHERE owner = ? AND completed_at IS NULL'),
      complete: db.prepare('UPDATE files SET sha256 = ?, type = ?, width = ?, height = ?, completed_at = ? WHERE id = ? AND completed_at IS NULL'),
      claim: db.prepare('UPDATE files SET conversation_id = ?, claim = ? WHERE id = ?'),
      release: db.prepare('UPDATE files SET conversation_id = NULL, claim = NULL WHERE id = ? AND claim = ? AND seq IS NULL'),
      sent: db.prepare('UPDATE files SET seq = ? WHERE id = ?'),
      del: db.prepare('DELETE FROM files WHERE id = ?'),
      ofConversation: db.prepare<[string, number], FileRow>('SELECT * FROM files WHERE conversation_id = ? LIMIT ?'),
      shared: db.prepare<[string, number, number, number], FileRow>('SELECT * FROM files WHERE conversation_id = ? AND seq IS NOT NULL AND seq <= ? AND seq < ? ORDER BY seq DESC, id LIMIT ?'),
      references: db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM files WHERE sha256 = ?'),
      abandoned: db.prepare<[string, number], FileRow>('SELECT * FROM files WHERE conversation_id IS NULL AND created_at < ? ORDER BY created_at LIMIT ?'),
      incomplete: db.prepare<[], { id: string }>('SELECT id FROM files WHERE completed_at IS NULL'),
    };
  }

  async createUpload(file: Pick<FileRecord, 'id' | 'owner' | 'name' | 'size' | 'createdAt'>, caps: { quotaBytes: number; maxInFlight: number }): Promise<FileRecord> {
    // One transaction: two uploads begun at once cannot both fit under the quota's last bytes.
    this.db.transaction(() => {
      if (this.s.inFlight.get(file.owner)!.n >= caps.maxInFlight) throw new ChatError('CHAT_ERR_TOO_MANY_UPLOADS');
      const used = this.s.usage.get(file.owner)!.n;
      if (used + file.size > caps.quotaBytes) throw new ChatError('CHAT_ERR_QUOTA_EXCEEDED', `Your files take ${used} of your ${caps.quotaBytes} bytes: ${file.size} more do not fit`);
      this.s.insert.run(file.id, file.owner, file.name, file.size, UNKNOWN_FILE_TYPE, file.createdAt);
    }).immediate();
    return toFile(this.s.get.get(file.id)!);
  }

  async get(id: string) {
    const r = this.s.get.get(id);
    return r ? toFile(r) : null;
  }

  async complete(id: string, d: Pick<FileRecord, 'sha256' | 'type' | 'width' | 'height' | 'completedAt'>) {
    this.s.complete.run(d.sha256, d.type, d.width, d.height, d.completedAt, id);
  }

  async claim(owner: string, ids: string[], conversationId: string, claim: string): Promise<FileRecord[] | ClaimRefusal> {
    return this.db.transaction((): FileRecord[] | ClaimRefusal => {
      const out: FileRecord[] = [];
      for (const id of ids) {
        const r = this.s.get.get(id);
        if (!r || r.owner !== owner) return { id, why: 'missing' };
        if (r.completed_at === null) return { id, why: 'incomplete' };
        if (r.claim !== null && (r.claim !== claim || r.conversation_id !== conversationId)) return { id, why: 'sent' };
        out.push(toFile(r));
      }
      for (const f of out) {
        this.s.claim.run(conversationId, claim, f.id);
        f.conversationId = conversationId;
        f.claim = claim;
      }
      return out;
    }).immediate();
  }

  async release(ids: string[], claim: string) {
    this.db.transaction(() => { for (const id of ids) this.s.release.run(id, claim); })();
  }

  async sent(ids: string[], seq: number) {
    this.db.transaction(() => { for (const id of ids) this.s.sent.run(seq, id); })();
  }

  async remove(ids: string[]) {
    return this.db.transaction(() => {
      const out: FileRecord[] = [];
      for (const id of ids) {
        const r = this.s.get.get(id);
        if (!r) continue;
        this.s.del.run(id);
        out.push(toFile(r));
      }
      return out;
    })();
  }

  async ofConversation(conversationId: string, limit: number) {
    return this.s.ofConversation.all(conversationId, limit).map(toFile);
  }

  async shared(conversationId: string, upTo: number, beforeSeq: number, limit: number) {
    return this.s.shared.all(conversationId, upTo, beforeSeq, limit).map(toFile);
  }

  async references(sha256: string) {
    return this.s.references.get(sha256)!.n;
  }

  async usage(owner: string) {
    return this.s.usage.get(owner)!.n;
  }

  async abandoned(before: string, limit: number) {
    return this.s.abandoned.all(before, limit).map(toFile);
  }

  async incomplete() {
    return this.s.incomplete.all().map((r) => r.id);
  }
}
