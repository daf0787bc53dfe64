import { describe, expect, it } from 'vitest';
import { ChatError } from '../../src/protocol/index.js';
import { classify } from '../../src/daemon/errors.js';
import { EngineUnavailableError, SeqConflictError, StorageFullError, toEngineError } from '../../src/daemon/ports/errors.js';

describe('typed engine errors', () => {
  it('recognises the drivers’ errors once, by kind', () => {
    const mongoDown = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:27017'), { name: 'MongoServerSelectionError' });
    const redisDown = Object.assign(new Error('Reached the max retries per request limit (which is 2). Refer to "maxRetriesPerRequest" option for details.'), { name: 'MaxRetriesPerRequestError' });
    const closed = new Error('Connection is closed.');
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    for (const e of [mongoDown, redisDown, closed, refused]) expect(toEngineError(e)).toBeInstanceOf(EngineUnavailableError);
    const full = [Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' }), Object.assign(new Error('x'), { codeName: 'OutOfDiskSpace' }), new Error('write ENOSPC')];
    for (const e of full) expect(toEngineError(e)).toBeInstanceOf(StorageFullError);
    expect(toEngineError(new Error('something else'))).toBeNull();
    expect(toEngineError(undefined)).toBeNull();
    // The cause is kept for the logs.
    expect(toEngineError(mongoDown)?.cause).toBe(mongoDown);
  });

  it('classify maps them to coded errors; a seq conflict stays internal', () => {
    expect(classify(new EngineUnavailableError('down')).code).toBe('CHAT_ERR_UNAVAILABLE');
    expect(classify(Object.assign(new Error('x'), { code: 'SQLITE_FULL' })).code).toBe('CHAT_ERR_STORAGE_FULL');
    const conflict = new SeqConflictError('m1', 'dm:a:b', 7);
    expect(conflict).toMatchObject({ name: 'SeqConflictError', messageId: 'm1', conversationId: 'dm:a:b', seq: 7 });
    expect(classify(conflict).code).toBe('CHAT_ERR_INTERNAL');
    const coded = new ChatError('CHAT_ERR_NOT_FRIENDS');
    expect(classify(coded)).toBe(coded);
  });
});
