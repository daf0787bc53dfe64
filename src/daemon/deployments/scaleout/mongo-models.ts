import { Schema, type Connection } from 'mongoose';
import type { Message } from '../../../protocol/index.js';
import { groupModels } from './mongo-groups.js';
import type { RecordExtra, RecordState } from '../records.js';

/*
 * Written for MongoDB 7/8 and FerretDB 1.24 alike: no transactions, no partial or
 * sparse indexes, no client-level bulkWrite, and no reliance on upsert result indexes.
 */

export interface UserDoc { _id: string; username: string; passwordHash: string; admin: boolean; disabled: boolean; createdAt: string }
export interface RefreshDoc { _id: string; userId: string; familyId: string; tokenHash: string; createdAt: string; expiresAt: string; usedAt: string | null; revokedAt: string | null; device: string | null }
export interface ApiDoc { _id: string; userId: string; name: string; tokenHash: string; createdAt: string; lastUsedAt: string | null; revokedAt: string | null }
export interface EdgeDoc { _id: string; from: string; to: string; createdAt: string }
export interface MessageDoc { _id: string; conversationId: string; seq: number; from: string; to: string; text: string; kind: Message['kind']; createdAt: string; clientMsgId?: string; dedupeKey: string; extra?: RecordExtra; state?: RecordState; changedSeq?: number }
export interface ConversationDoc { _id: string; members: string[]; lastSeq: number; updatedAt: string }
export interface MetaDoc { _id: string; value: string }
export interface FileDoc { _id: string; owner: string; name: string; size: number; type: string; sha256: string | null; width: number | null; height: number | null; createdAt: string; completedAt: string | null; conversationId: string | null; claim: string | null; seq: number | null }
/** A user's file bytes and incomplete uploads, counted as they change: what the quota checks (FerretDB has no transactions). */
export interface FileUsageDoc { _id: string; bytes: number; inFlight: number }
export interface ReceiptDoc { _id: string; conversationId: string; username: string; delivered: number; read: number }

const opts = { versionKey: false, _id: false } as const;
const str = { type: String, required: true };
const nullableStr = { type: String, default: null };

/**
 * The messages collection's indexes.
 * dedupeKey is the clientMsgId, or " <id>" when there is none: FerretDB has no partial indexes,
 * and a space cannot appear in a clientMsgId, so the unique index holds for all. It leads its
 * key: both are time-ordered (UUIDv7 from our clients, and the message id), so a bulk insert
 * appends to the end of the index instead of landing once per sender.
 */
const MESSAGE_INDEXES: [Record<string, 1>, { unique?: true }][] = [
  [{ conversationId: 1, seq: 1 }, { unique: true }],
  [{ dedupeKey: 1, from: 1 }, { unique: true }],
  // Which messages changed since a seq (catch-up).
  [{ conversationId: 1, changedSeq: 1 }, {}],
];
/** Indexes of earlier versions, dropped on start once their replacements exist. */
export const RETIRED_INDEXES: Record<string, string[]> = { messages: ['from_1_dedupeKey_1'] };

export function models(conn: Connection) {
  const User = conn.model<UserDoc>('User', new Schema<UserDoc>({ _id: str, username: str, passwordHash: str, admin: Boolean, disabled: Boolean, createdAt: str }, opts).index({ username: 1 }, { unique: true }), 'users');
  const Refresh = conn.model<RefreshDoc>('RefreshToken', new Schema<RefreshDoc>({ _id: str, userId: str, familyId: str, tokenHash: str, createdAt: str, expiresAt: str, usedAt: nullableStr, revokedAt: nullableStr, device: nullableStr }, opts).index({ familyId: 1 }).index({ userId: 1 }), 'refresh_tokens');
  const Api = conn.model<ApiDoc>('ApiToken', new Schema<ApiDoc>({ _id: str, userId: str, name: str, tokenHash: str, createdAt: str, lastUsedAt: nullableStr, revokedAt: nullableStr }, opts).index({ userId: 1 }), 'api_tokens');
  const Edge = conn.model<EdgeDoc>('FriendEdge', new Schema<EdgeDoc>({ _id: str, from: str, to: str, createdAt: str }, opts).index({ from: 1 }).index({ to: 1 }), 'friend_edges');
  const msgSchema = new Schema<MessageDoc>({ _id: str, conversationId: str, seq: { type: Number, required: true }, from: str, to: str, text: { type: String, default: '' }, kind: str, createdAt: str, clientMsgId: String, dedupeKey: str, extra: Schema.Types.Mixed, state: Schema.Types.Mixed, changedSeq: Number }, opts);
  for (const [keys, options] of MESSAGE_INDEXES) msgSchema.index(keys, options);
  const Msg = conn.model<MessageDoc>('Message', msgSchema, 'messages');
  const Conv = conn.model<ConversationDoc>('Conversation', new Schema<ConversationDoc>({ _id: str, members: [String], lastSeq: Number, updatedAt: str }, opts).index({ members: 1 }), 'conversations');
  const Meta = conn.model<MetaDoc>('Meta', new Schema<MetaDoc>({ _id: str, value: str }, opts), 'meta');
  const Receipt = conn.model<ReceiptDoc>('Receipt', new Schema<ReceiptDoc>({ _id: str, conversationId: str, username: str, delivered: Number, read: Number }, opts).index({ conversationId: 1 }), 'receipts');
  const nullableNum = { type: Number, default: null };
  const File = conn.model<FileDoc>('File', new Schema<FileDoc>({ _id: str, owner: str, name: str, size: Number, type: str, sha256: nullableStr, width: nullableNum, height: nullableNum, createdAt: str, completedAt: nullableStr, conversationId: nullableStr, claim: nullableStr, seq: nullableNum }, opts)
    .index({ owner: 1 }).index({ sha256: 1 }).index({ conversationId: 1, seq: -1 }).index({ createdAt: 1 }), 'files');
  const FileUsage = conn.model<FileUsageDoc>('FileUsage', new Schema<FileUsageDoc>({ _id: str, bytes: Number, inFlight: Number }, opts), 'file_usage');
  return { User, Refresh, Api, Edge, Msg, Conv, Meta, Receipt, File, FileUsage, ...groupModels(conn) };
}

export type Models = ReturnType<typeof models>;
