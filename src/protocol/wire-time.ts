import { z } from 'zod';

/**
 * A time on the wire: ISO 8601 in UTC, as chatd writes it (`2026-11-29T07:08:58.000Z`). Parsed as
 * a string (a record from Kafka or an older store is not refused for its precision); documented as
 * `format: date-time`, so generated clients give it their date type.
 */
export const wireTime = z.string().meta({ format: 'date-time' });
