import { z } from 'zod';
import { LIMITS } from './limits.js';

const USERNAME = /^[a-z0-9_.-]{3,32}$/;
const CLIENT_MSG_ID = /^[\x21-\x7e]+$/;

/** Usernames: 3–32 characters of [a-z0-9_.-]. */
export const usernameSchema = z.string().regex(USERNAME, 'username must be 3-32 characters of a-z, 0-9, _ . -');
export const passwordSchema = z.string().min(LIMITS.minPasswordLength, `password must be at least ${LIMITS.minPasswordLength} characters`).max(LIMITS.maxPasswordLength);

export const messageKindSchema = z.enum(['user', 'ai', 'system']);

export const messageSchema = z.object({
  id: z.string(),
  seq: z.number().int().positive(),
  conversationId: z.string(),
  from: z.string(),
  to: z.string(),
  text: z.string(),
  kind: messageKindSchema,
  createdAt: z.string(),
  clientMsgId: z.string().optional(),
});

export const credentialsSchema = z.strictObject({ username: usernameSchema, password: passwordSchema });
/** Login accepts any string as a username so that a malformed one gets the same answer as an unknown one. */
export const loginSchema = z.strictObject({ username: z.string().min(1).max(64), password: z.string().min(1).max(LIMITS.maxPasswordLength), device: z.string().max(64).optional() });
export const registerSchema = credentialsSchema.extend({ device: z.string().max(64).optional() });
export const refreshSchema = z.strictObject({ refreshToken: z.string().min(1).max(512) });
export const logoutSchema = refreshSchema;
export const changePasswordSchema = z.strictObject({ currentPassword: z.string().min(1).max(LIMITS.maxPasswordLength), newPassword: passwordSchema });
export const resetPasswordSchema = z.strictObject({ password: passwordSchema });
export const tokenCreateSchema = z.strictObject({ name: z.string().min(1).max(LIMITS.maxTokenNameLength) });

export const clientMsgIdSchema = z.string().min(1).max(LIMITS.maxClientMsgIdLength).regex(CLIENT_MSG_ID, 'clientMsgId must be printable ASCII without spaces');

/** Builds the send schema for a given maximum text length (the daemon's config may change it). */
export function makeSendSchema(maxLength: number = LIMITS.maxMessageLength) {
  return z.strictObject({
    to: usernameSchema,
    text: z.string().min(1, 'text must not be empty').max(maxLength, `text exceeds ${maxLength} characters`),
    clientMsgId: clientMsgIdSchema.optional(),
  });
}
export const sendSchema = makeSendSchema();

/**
 * The send schema's fast path, for the busiest socket event: a plain object with exactly the
 * fields the schema accepts, each valid, comes back as the schema would return it. Anything else
 * returns null, and the schema itself decides and words the error. A property test holds this to
 * the schema: whatever it accepts, the schema accepts with the same result, and it accepts every
 * well-formed payload.
 */
export function wellFormedSend(value: unknown, maxLength: number): SendInput | null {
  if (typeof value !== 'object' || value === null || Object.getPrototypeOf(value) !== Object.prototype) return null;
  const v = value as Record<string, unknown>;
  let keys = 0;
  for (const k in v) {
    if (k !== 'to' && k !== 'text' && k !== 'clientMsgId') return null;
    keys++;
  }
  const { to, text, clientMsgId } = v;
  if (typeof to !== 'string' || !USERNAME.test(to)) return null;
  // The schema counts code points once the UTF-16 length is over the limit: such texts go to it.
  if (typeof text !== 'string' || text.length < 1 || text.length > maxLength) return null;
  if (clientMsgId === undefined) return keys === 2 ? { to, text } : null;
  if (typeof clientMsgId !== 'string' || clientMsgId.length > LIMITS.maxClientMsgIdLength || !CLIENT_MSG_ID.test(clientMsgId)) return null;
  return { to, text, clientMsgId };
}

const seqParam = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
export const historyQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(LIMITS.maxHistoryLimit).optional(),
  beforeSeq: seqParam.optional(),
  afterSeq: seqParam.optional(),
}).refine((q) => q.beforeSeq === undefined || q.afterSeq === undefined || q.afterSeq < q.beforeSeq, { message: 'afterSeq must be below beforeSeq' });

/** Catch-up over the socket: conversations and the last seq the client saw in each. */
export const syncSchema = z.strictObject({
  cursors: z.record(z.string().max(100), z.number().int().min(0)).refine((c) => Object.keys(c).length <= 10000, 'too many cursors'),
  limit: z.number().int().min(1).max(LIMITS.maxHistoryLimit).optional(),
});

export const usernameParamSchema = z.strictObject({ username: usernameSchema });
export const idParamSchema = z.strictObject({ id: z.string().min(1).max(64) });

export type SendInput = z.infer<typeof sendSchema>;
export type HistoryQuery = z.infer<typeof historyQuerySchema>;
export type SyncInput = z.infer<typeof syncSchema>;
export type LoginInput = z.infer<typeof loginSchema>;
export type RegisterInput = z.infer<typeof registerSchema>;

/** Admin replay/purge of failed publishes or dead letters: explicit ids, or all. */
export const adminIdsSchema = z.strictObject({
  ids: z.array(z.string().min(1).max(200)).max(10_000).optional(),
  all: z.boolean().optional(),
}).refine((b) => !(b.all && b.ids?.length), { message: 'give ids or all, not both' });

const conversationIdSchema = z.string().min(1).max(100);

/** Typing indicator: sent throttled by clients, relayed to the peer, never stored. */
export const typingSchema = z.strictObject({ to: usernameSchema, typing: z.boolean() });

/** Delivery and read markers: the highest seq this user has received / read in a conversation. */
export const receiptSchema = z.strictObject({
  conversationId: conversationIdSchema,
  delivered: z.number().int().min(0).optional(),
  read: z.number().int().min(0).optional(),
}).refine((r) => r.delivered !== undefined || r.read !== undefined, { message: 'give delivered or read' });

export type TypingInput = z.infer<typeof typingSchema>;
export type ReceiptInput = z.infer<typeof receiptSchema>;
