/**
 * The upload protocol's names and its pure helpers, without zod: the CLI and the client load
 * this at start (protocol/files.ts holds the schemas, and re-exports all of it).
 */

/** Most code points of a file name as stored (longer names are cut, keeping the extension). */
export const MAX_FILE_NAME_LENGTH = 200;

/** A file's type until its bytes say otherwise, and when they say nothing known. */
export const UNKNOWN_FILE_TYPE = 'application/octet-stream';

/** The media type of an upload's bytes (tus). */
export const UPLOAD_CONTENT_TYPE = 'application/offset+octet-stream';
/** How many bytes the server holds of an upload: sent with each piece, answered after it. */
export const UPLOAD_OFFSET_HEADER = 'upload-offset';
/** The upload's whole size, on HEAD. */
export const UPLOAD_LENGTH_HEADER = 'upload-length';

/** A file id: a UUID (v7, in lower-case hex). */
export const FILE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

// C0 and C1 controls, DEL, and the invisible format characters that reorder or hide text (bidi
// overrides and isolates, zero-width joiners, the BOM): a name must read as what it is.
// eslint-disable-next-line no-control-regex
const UNSAFE_IN_NAME = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]/gu;

/**
 * A file name as chatd stores it and clients save it: the last path part only (`/` and `\`),
 * without control or invisible format characters, without leading dots (no hidden files) or
 * surrounding spaces, at most MAX_FILE_NAME_LENGTH code points with its extension kept,
 * and `file` when nothing is left. Idempotent.
 */
export function sanitizeFileName(name: string): string {
  const base = name.replace(UNSAFE_IN_NAME, '').split(/[/\\]/u).pop() ?? '';
  const cleaned = base.trim().replace(/^[.\s]+/u, '').replace(/\s+$/u, '');
  const cps = [...cleaned];
  if (cps.length === 0) return 'file';
  if (cps.length <= MAX_FILE_NAME_LENGTH) return cleaned;
  const dot = cleaned.lastIndexOf('.');
  const ext = dot > 0 ? [...cleaned.slice(dot)] : [];
  const keep = ext.length > 0 && ext.length <= 16 ? ext : [];
  return cps.slice(0, MAX_FILE_NAME_LENGTH - keep.length).join('').trimEnd() + keep.join('');
}

/**
 * The inclusive byte range a `Range: bytes=…` header asks of a `size`-byte file: null when there
 * is no header or it is not a single range (the whole file is sent), 'unsatisfiable' when it
 * starts past the end (416). Multiple ranges are answered with the whole file, as RFC 9110 allows.
 */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | null | 'unsatisfiable' {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size) return 'unsatisfiable';
  if (end < start) return null;
  return { start, end };
}
