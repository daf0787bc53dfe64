import { randomUUID } from 'node:crypto';

/** A request id a caller may choose: a plain token, no spaces or control characters (it is logged). */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The caller's `x-request-id` when it is a plain token, else a fresh UUID: REST requests and socket connections alike. */
export function requestIdFrom(header: string | string[] | undefined): string {
  return typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID();
}
