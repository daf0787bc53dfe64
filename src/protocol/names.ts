/** Name rules as plain regular expressions, for code that must start without zod (the CLI). */

/** Usernames: 3–32 characters of [a-z0-9_.-]. */
export const USERNAME = /^[a-z0-9_.-]{3,32}$/;
/** New names also start with a letter, a digit or _: "-rf" or "--help" would read as CLI options. */
export const NEW_USERNAME = /^[a-z0-9_][a-z0-9_.-]{2,31}$/;
/** clientMsgId: printable ASCII without spaces. */
export const CLIENT_MSG_ID = /^[\x21-\x7e]+$/;

/** A group as people name it: `#` and the username rules, any case (handles are stored lower case). */
export const GROUP_REF = /^#[A-Za-z0-9_.-]{3,32}$/;
/** A group as a route or a CLI argument names it: the handle, with or without its `#`, any case. */
export const GROUP_HANDLE = /^#?[A-Za-z0-9_.-]{3,32}$/;
/** A new handle, with or without its `#`: the new-username rules, any case. */
export const NEW_HANDLE = /^#?[A-Za-z0-9_][A-Za-z0-9_.-]{2,31}$/;

/** A group member's roles, highest first (zod-free, for the CLI and the TUI; the schema is built from it). */
export const GROUP_ROLES = ['owner', 'admin', 'member'] as const;

/** `#Ops`, `ops` or `#ops` as the stored handle `ops`; null when it cannot be a handle. */
export function normalizeHandle(ref: string): string | null {
  const h = (ref.startsWith('#') ? ref.slice(1) : ref).toLowerCase();
  return USERNAME.test(h) ? h : null;
}
