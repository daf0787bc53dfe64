import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';

/**
 * Every temp dir this test file made, removed once its tests are done (thousands piled up in /tmp
 * otherwise). Registered when a test file first imports this module, so it runs after the file's
 * own afterAll hooks (vitest runs them as a stack): its daemons have stopped by then.
 */
const made: string[] = [];
afterAll(() => {
  for (const dir of made.splice(0)) {
    try {
      fs.rmSync(dir, { recursive: true, force: true });
    } catch {
      // A dir still in use (a mount a test left, say) stays.
    }
  }
});

export function tmpDir(prefix = 'chat-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
}
