// A small JSON document on disk, written atomically (temp file, fsync, rename), so a crash leaves
// either the old or the new version, never half of one. Private files are mode 0600.

import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { mkdir, open as openFile, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';

export function readJson<T>(path: string, fallback: T): T {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return fallback;
    throw err;
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`${path} is damaged (not valid JSON); move it aside to start that part afresh`);
  }
}

export function writeJson(path: string, value: unknown): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, JSON.stringify(value));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/**
 * writeJson without blocking the event loop (the fsync runs on the thread pool). `commit` is
 * asked just before the rename: a newer synchronous write may have happened meanwhile, and an
 * older file must not replace it.
 */
export async function writeJsonAsync(path: string, value: unknown, commit: () => boolean = () => true): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.async.tmp`;
  const file = await openFile(tmp, 'w', 0o600);
  try {
    await file.writeFile(JSON.stringify(value));
    await file.sync();
  } finally {
    await file.close();
  }
  if (commit()) await rename(tmp, path);
  else await rm(tmp, { force: true });
}
