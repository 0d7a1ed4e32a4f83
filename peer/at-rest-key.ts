// The terminal client's at-rest key: VS Code keeps the key that seals the data folder in
// SecretStorage; the terminal client has none, so the key is a 32-byte random file `at-rest.key`
// in the account's folder (mode 0600), made on first use.
//
// What it protects against: the store's bytes read without this file, in a backup or a copy of
// store.db alone, by grep or a search indexer over the folder, or by other users of the machine
// (the file is 0600 in a 0700 folder). What it does not: anyone who can read the whole folder as
// this user (the key lies next to the store), nor a process running as this user.

import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { GCM_KEY_BYTES, randomBytes } from '../protocol/crypto.ts';
import { ProtocolError } from '../protocol/errors.ts';
import { STALE_TEMP_MS } from './json-file.ts';

export const AT_REST_KEY_FILE = 'at-rest.key';
const TEMP = /^at-rest\.key\.\d+\.tmp$/;

/**
 * The key in `path` (32 bytes), created when the file is missing. Creation is atomic and never
 * replaces a file: a temp file is written and fsynced, then hard-linked to `path` (another process
 * that got there first wins and its key is read). Throws ProtocolError('server.store_damaged')
 * naming the file when it exists but is not exactly 32 bytes: a damaged key is never silently
 * replaced (that would lose history).
 */
export function loadOrCreateAtRestKey(path: string): Buffer {
  const existing = readKey(path);
  if (existing) return existing;
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  removeStaleKeyTemps(dir);
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    try {
      writeSync(fd, randomBytes(GCM_KEY_BYTES));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      linkSync(tmp, path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  } finally {
    rmSync(tmp, { force: true });
  }
  const key = readKey(path);
  if (!key) throw new ProtocolError('server.store_damaged', `${path} vanished while it was created`);
  return key;
}

function readKey(path: string): Buffer | undefined {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  if (bytes.length !== GCM_KEY_BYTES) {
    throw new ProtocolError('server.store_damaged', `${path} is damaged (${bytes.length} bytes, a key is ${GCM_KEY_BYTES}); without it the sealed history cannot be read. Restore it from a backup, or move it and store.db aside to start history afresh`);
  }
  return bytes;
}

/** Temps of a creation that crashed between write and link (older than a write could take). */
function removeStaleKeyTemps(dir: string): void {
  for (const name of readdirSync(dir)) {
    if (!TEMP.test(name)) continue;
    const path = join(dir, name);
    try {
      if (Date.now() - statSync(path).mtimeMs > STALE_TEMP_MS) rmSync(path, { force: true });
    } catch {
      // removed meanwhile
    }
  }
}
