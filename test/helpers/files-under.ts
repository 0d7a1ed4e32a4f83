// What a program left on disk, for the tests that look for a secret in it (VS Code's user data,
// the extension's globalStorage): every file below a folder, and those holding a given text.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Every file below `dir`, by its path relative to `dir` (one removed while it is read is passed over). */
export function filesUnder(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).filter((name) => statSync(join(dir, name), { throwIfNoEntry: false })?.isFile());
}

/** The files below `dir` (relative paths) whose bytes hold `secret` in any of `encodings`. */
export function filesHolding(dir: string, secret: string, encodings: BufferEncoding[] = ['utf8']): string[] {
  const needles = encodings.map((e) => Buffer.from(secret, e));
  return filesUnder(dir).filter((name) => {
    // One removed after it was listed (VS Code drops its lock files as it goes) holds nothing now.
    let bytes: Buffer;
    try {
      bytes = readFileSync(join(dir, name));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
    return needles.some((n) => bytes.includes(n));
  });
}
