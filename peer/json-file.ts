// A small JSON document on disk, written atomically (temp file, fsync, rename), so a crash leaves
// either the old or the new version, never half of one. Private files are mode 0600. A crash
// between creating the temp file and the rename leaves the temp behind: removeStaleTemps clears
// those at start.

import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { mkdir, open as openFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { processAlive } from './lock-wire.ts';

/**
 * `<file>.json.<pid>.tmp` (writeJson, and the session journal's compaction),
 * `<file>.json.<pid>.async.tmp` (writeJsonAsync), and `<hash>.history.tmp` (the extension's
 * history store, whose name holds no pid: only its age tells).
 */
const TEMP_NAME = /(?:\.json\.(\d+)(?:\.async)?|\.history)\.tmp$/;
/** A write takes milliseconds: a temp this old is left over even if its pid is alive again (pid reuse). */
export const STALE_TEMP_MS = 10 * 60 * 1000;

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
  writeTextAtomic(path, JSON.stringify(value));
}

/**
 * Replaces `path` with `text` atomically (temp file, fsync, rename; the temp is removed if the
 * write fails). `tmp` must match TEMP_NAME so a temp left by a crash is cleared at start.
 */
export function writeTextAtomic(path: string, text: string, tmp = `${path}.${process.pid}.tmp`): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const fd = openSync(tmp, 'w', 0o600);
  try {
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
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
    try {
      await file.writeFile(JSON.stringify(value));
      await file.sync();
    } finally {
      await file.close();
    }
    if (commit()) await rename(tmp, path);
    else await rm(tmp, { force: true });
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/**
 * Removes, in `dir` (not below it), the temp files (TEMP_NAME) left by a process that is gone, or
 * older than STALE_TEMP_MS whoever wrote them. A temp of a live process (this one
 * included: several engines may share a process) that is younger is a write under way: kept.
 * A missing folder is fine. Returns the names removed.
 */
export function removeStaleTemps(dir: string, now: number = Date.now()): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return [];
    throw err;
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = TEMP_NAME.exec(name);
    if (!m) continue;
    const path = join(dir, name);
    let mtime: number;
    try {
      const st = statSync(path);
      if (!st.isFile()) continue;
      mtime = st.mtimeMs;
    } catch {
      continue; // renamed or removed meanwhile by its writer
    }
    const writerMayBeAlive = m[1] === undefined || processAlive(Number(m[1]));
    if (writerMayBeAlive && now - mtime < STALE_TEMP_MS) continue;
    rmSync(path, { force: true });
    removed.push(name);
  }
  return removed;
}

