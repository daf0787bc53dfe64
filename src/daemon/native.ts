/** Loading the native dependencies (better-sqlite3, argon2), which npm builds with install scripts. */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** A native module that does not load names itself and the way out, not "Could not locate the bindings file". */
export class NativeModuleError extends Error {
  constructor(readonly module: string, cause: unknown) {
    super(
      `${module} could not be loaded on Node ${process.versions.node} (${String((cause as Error)?.message ?? cause).split('\n')[0]!.replace(/\s*Tried:$/, '')}). ` +
        `Its install script must have built it for this Node: allow it (npm install --allow-scripts=${module}, or "allowScripts" in package.json) ` +
        `and run \`npm rebuild ${module}\`.`,
    );
    this.name = 'NativeModuleError';
  }
}

/** Loads a native dependency, turning a failed load into a NativeModuleError that says how to fix it. */
export function loadNative<T>(module: string): T {
  try {
    return require(module) as T;
  } catch (err) {
    throw new NativeModuleError(module, err);
  }
}

/** The errors a native module's binary gives when it is missing or built for another Node. */
export function isNativeLoadFailure(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null | undefined;
  return e?.code === 'ERR_DLOPEN_FAILED' || (typeof e?.message === 'string' && /Could not locate the bindings file|NODE_MODULE_VERSION|invalid ELF header|cannot open shared object file/.test(e.message));
}

/** Runs what loads `module`'s binary on first use (better-sqlite3 does in its constructor), naming the module if that fails. */
export function withNative<T>(module: string, load: () => T): T {
  try {
    return load();
  } catch (err) {
    throw isNativeLoadFailure(err) ? new NativeModuleError(module, err) : err;
  }
}
