import { ChatError, UNKNOWN_FILE_TYPE } from '../../../protocol/index.js';
import type { ClaimRefusal, FileRecord, FileStore } from '../../ports/index.js';
import type { FileDoc, Models } from './mongo-models.js';

const toFile = (d: FileDoc): FileRecord => ({
  id: d._id, owner: d.owner, name: d.name, size: d.size, type: d.type, sha256: d.sha256 ?? null, width: d.width ?? null, height: d.height ?? null,
  createdAt: d.createdAt, completedAt: d.completedAt ?? null, conversationId: d.conversationId ?? null, claim: d.claim ?? null, seq: d.seq ?? null,
});

/**
 * Files' metadata in MongoDB (FerretDB here). Without transactions, the quota is a counter per
 * user changed by single-document atomic updates: an upload is admitted by one conditional
 * increment (bytes within the quota and uploads in flight under the cap), so two nodes cannot
 * both admit the last bytes; its record is written after, and given back if that write fails.
 */
export class MongoFiles implements FileStore {
  constructor(private readonly m: Models) {}

  private get files() {
    return this.m.File.collection;
  }

  private get usageColl() {
    return this.m.FileUsage.collection;
  }

  async createUpload(file: Pick<FileRecord, 'id' | 'owner' | 'name' | 'size' | 'createdAt'>, caps: { quotaBytes: number; maxInFlight: number }): Promise<FileRecord> {
    await this.usageColl.updateOne({ _id: file.owner as never }, { $setOnInsert: { bytes: 0, inFlight: 0 } }, { upsert: true }).catch((err: unknown) => {
      if ((err as { code?: number }).code !== 11000) throw err;
    });
    const admitted = await this.usageColl.updateOne(
      { _id: file.owner as never, bytes: { $lte: caps.quotaBytes - file.size }, inFlight: { $lt: caps.maxInFlight } },
      { $inc: { bytes: file.size, inFlight: 1 } },
    );
    if (admitted.modifiedCount !== 1) {
      const u = (await this.usageColl.findOne({ _id: file.owner as never })) as unknown as { bytes: number; inFlight: number } | null;
      if ((u?.inFlight ?? 0) >= caps.maxInFlight) throw new ChatError('CHAT_ERR_TOO_MANY_UPLOADS');
      throw new ChatError('CHAT_ERR_QUOTA_EXCEEDED', `Your files take ${u?.bytes ?? 0} of your ${caps.quotaBytes} bytes: ${file.size} more do not fit`);
    }
    const doc: FileDoc = { _id: file.id, owner: file.owner, name: file.name, size: file.size, type: UNKNOWN_FILE_TYPE, sha256: null, width: null, height: null, createdAt: file.createdAt, completedAt: null, conversationId: null, claim: null, seq: null };
    try {
      await this.files.insertOne(doc as never);
    } catch (err) {
      await this.usageColl.updateOne({ _id: file.owner as never }, { $inc: { bytes: -file.size, inFlight: -1 } });
      throw err;
    }
    return toFile(doc);
  }

  async get(id: string) {
    const d = (await this.files.findOne({ _id: id as never })) as unknown as FileDoc | null;
    return d ? toFile(d) : null;
  }

  async complete(id: string, d: Pick<FileRecord, 'sha256' | 'type' | 'width' | 'height' | 'completedAt'>) {
    const before = (await this.files.findOneAndUpdate({ _id: id as never, completedAt: null }, { $set: { sha256: d.sha256, type: d.type, width: d.width, height: d.height, completedAt: d.completedAt } })) as unknown as FileDoc | null;
    if (before) await this.usageColl.updateOne({ _id: before.owner as never }, { $inc: { inFlight: -1 } });
  }

  async claim(owner: string, ids: string[], conversationId: string, claim: string): Promise<FileRecord[] | ClaimRefusal> {
    const docs = new Map(((await this.files.find({ _id: { $in: ids as never[] } }).toArray()) as unknown as FileDoc[]).map((d) => [d._id, d]));
    const out: FileRecord[] = [];
    for (const id of ids) {
      const d = docs.get(id);
      if (!d || d.owner !== owner) return { id, why: 'missing' };
      if (d.completedAt === null) return { id, why: 'incomplete' };
      if (d.claim !== null && (d.claim !== claim || d.conversationId !== conversationId)) return { id, why: 'sent' };
      out.push(toFile(d));
    }
    // Each unclaimed one is taken only if it is still unclaimed; losing one race gives back the rest.
    const taken: string[] = [];
    for (const f of out) {
      if (f.claim !== null) continue;
      const r = await this.files.updateOne({ _id: f.id as never, claim: null }, { $set: { conversationId, claim } });
      if (r.modifiedCount !== 1) {
        await this.release(taken, claim);
        return { id: f.id, why: 'sent' };
      }
      taken.push(f.id);
      f.conversationId = conversationId;
      f.claim = claim;
    }
    return out;
  }

  async release(ids: string[], claim: string) {
    if (ids.length) await this.files.updateMany({ _id: { $in: ids as never[] }, claim, seq: null }, { $set: { conversationId: null, claim: null } });
  }

  async sent(ids: string[], seq: number) {
    if (ids.length) await this.files.updateMany({ _id: { $in: ids as never[] } }, { $set: { seq } });
  }

  async remove(ids: string[]) {
    const out: FileRecord[] = [];
    for (const id of ids) {
      const d = (await this.files.findOneAndDelete({ _id: id as never })) as unknown as FileDoc | null;
      if (!d) continue;
      await this.usageColl.updateOne({ _id: d.owner as never }, { $inc: { bytes: -d.size, inFlight: d.completedAt === null ? -1 : 0 } });
      out.push(toFile(d));
    }
    return out;
  }

  async ofConversation(conversationId: string, limit: number) {
    return ((await this.files.find({ conversationId }).limit(limit).toArray()) as unknown as FileDoc[]).map(toFile);
  }

  async shared(conversationId: string, upTo: number, beforeSeq: number, limit: number) {
    const docs = (await this.files.find({ conversationId, seq: { $ne: null, $lte: upTo, $lt: beforeSeq } }).sort({ seq: -1, _id: 1 }).limit(limit).toArray()) as unknown as FileDoc[];
    return docs.map(toFile);
  }

  async references(sha256: string) {
    return this.files.countDocuments({ sha256 });
  }

  async usage(owner: string) {
    const u = (await this.usageColl.findOne({ _id: owner as never })) as unknown as { bytes: number } | null;
    return u?.bytes ?? 0;
  }

  async abandoned(before: string, limit: number) {
    return ((await this.files.find({ conversationId: null, createdAt: { $lt: before } }).sort({ createdAt: 1 }).limit(limit).toArray()) as unknown as FileDoc[]).map(toFile);
  }

  async incomplete() {
    return ((await this.files.find({ completedAt: null }, { projection: { _id: 1 } }).toArray()) as unknown as { _id: string }[]).map((d) => d._id);
  }
}
