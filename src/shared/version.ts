import fs from 'node:fs';

/** The package's version, read once from its package.json (next to bin/ and dist/). */
export const VERSION: string = (() => {
  try {
    return (JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
})();
