import crypto from 'node:crypto';

/**
 * A UUIDv7 (RFC 9562: 48-bit Unix ms, version 7, variant 10, random rest) for clientMsgIds. The
 * CLI makes one per `chat send`; importing the uuid package for it cost ~0.1 s of startup.
 */
export function uuidv7(now = Date.now()): string {
  const b = crypto.randomBytes(16);
  b.writeUIntBE(now, 0, 6);
  b[6] = (b[6]! & 0x0f) | 0x70;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
