/** The last whole second formatted, and its "YYYY-MM-DDTHH:MM:SS." prefix. */
let cachedSecond = -1;
let cachedPrefix = '';

/** The largest time toISOString writes with a four-digit year (9999-12-31T23:59:59.999Z). */
const FOUR_DIGIT_YEARS = 253_402_300_799_999;

/**
 * `new Date(ms).toISOString()`, for the timestamps every message gets: within one second only
 * the milliseconds change, so the rest is formatted once per second. Anything unusual (not a
 * whole number of ms, before 1970, past year 9999) goes to Date.
 */
export function isoTime(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms < 0 || ms > FOUR_DIGIT_YEARS) return new Date(ms).toISOString();
  const second = Math.floor(ms / 1000);
  if (second !== cachedSecond) {
    const iso = new Date(ms).toISOString();
    cachedSecond = second;
    cachedPrefix = iso.slice(0, 20);
    return iso;
  }
  const r = ms - second * 1000;
  return `${cachedPrefix}${r < 10 ? '00' : r < 100 ? '0' : ''}${r}Z`;
}
