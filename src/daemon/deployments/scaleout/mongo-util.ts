/** Small helpers shared by the MongoDB-wire store's files. */

/**
 * A unique-index violation: MongoDB's code 11000, or FerretDB 1.24's, which on an update answers
 * InternalError with PostgreSQL's text (its inserts give 11000).
 */
export const isDup = (err: unknown) => (err as { code?: number }).code === 11000 || /duplicate key value violates unique constraint/.test(String((err as Error | undefined)?.message));

/** One document by filter, mapped to its record; null when there is none. */
export async function findOneAs<D, R>(coll: { findOne(filter: never): Promise<unknown> }, filter: Record<string, unknown>, map: (d: D) => R): Promise<R | null> {
  const d = await coll.findOne(filter as never);
  return d ? map(d as D) : null;
}

/**
 * Update statements per command. FerretDB 1.x (PostgreSQL backend) holds one pooled connection
 * per statement of an update command until the whole command returns, and each statement takes
 * a second one to write: a command of pool-size statements (50 by default) deadlocks it for
 * good. MongoDB does not care; chunks of this size cost it one round trip per 16 rows.
 */
const UPDATE_CHUNK = 16;

/**
 * One update command at a time in this process (FerretDB's deadlock needs pool-size statements
 * held at once across commands: concurrent flushes of read markers and of several partitions'
 * heads got there with 16-statement chunks).
 */
let updateTail: Promise<unknown> = Promise.resolve();
export function oneAtATime<T>(f: () => Promise<T>): Promise<T> {
  const run = updateTail.then(f, f);
  updateTail = run.catch(() => {});
  return run;
}

/**
 * Runs update statements in commands of UPDATE_CHUNK, one command at a time per process.
 * `duplicates` redoes those that lost an upsert race (indexes into `ops`); by default they are run
 * once more as they were, which suits upserts by _id (the row exists by then).
 */
export async function bulkUpdate(coll: { bulkWrite(ops: never[], o: { ordered: boolean }): Promise<unknown> }, ops: unknown[], duplicates: (indexes: number[]) => Promise<void> = async (lost) => { await oneAtATime(() => coll.bulkWrite(lost.map((i) => ops[i]) as never[], { ordered: false })); }) {
  for (let at = 0; at < ops.length; at += UPDATE_CHUNK) {
    const chunk = ops.slice(at, at + UPDATE_CHUNK);
    try {
      await oneAtATime(() => coll.bulkWrite(chunk as never[], { ordered: false }));
    } catch (err) {
      await duplicates(duplicateIndexes(err).map((i) => at + i));
    }
  }
}

/** The positions a bulk write refused as duplicates; rethrows when anything else went wrong. */
export function duplicateIndexes(err: unknown): number[] {
  const writeErrors = (err as { writeErrors?: { code?: number; index: number }[] | { code?: number; index: number } }).writeErrors;
  const list = Array.isArray(writeErrors) ? writeErrors : writeErrors ? [writeErrors] : [];
  if (list.length === 0 || list.some((e) => e.code !== 11000)) throw err;
  return list.map((e) => e.index);
}
