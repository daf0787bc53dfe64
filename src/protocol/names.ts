/** Name rules as plain regular expressions, for code that must start without zod (the CLI). */

/** Usernames: 3–32 characters of [a-z0-9_.-]. */
export const USERNAME = /^[a-z0-9_.-]{3,32}$/;
/** New names also start with a letter, a digit or _: "-rf" or "--help" would read as CLI options. */
export const NEW_USERNAME = /^[a-z0-9_][a-z0-9_.-]{2,31}$/;
/** clientMsgId: printable ASCII without spaces. */
export const CLIENT_MSG_ID = /^[\x21-\x7e]+$/;
