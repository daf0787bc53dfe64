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
