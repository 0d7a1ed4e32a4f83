// Where a folder's lock listens (peer/folder-lock.ts): a Unix domain socket `<dir>/engine.sock`
// (or, when that path is too long for sun_path, `<tmpdir>/p2p-chat-<uid>/<hash>.sock` in a folder
// of mode 0700), a named pipe `\\.\pipe\p2p-chat-<hash>` on Windows (the hash covers a secret kept
// in the folder, so another user cannot create the pipe first).

import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProtocolError } from '../protocol/errors.ts';

/** A Unix socket path longer than this (bytes) goes under os.tmpdir() (sun_path is 104 on macOS, 108 on Linux). */
export const MAX_SOCKET_PATH_BYTES = 100;
const SOCKET_NAME = 'engine.sock';

/**
 * The socket path (or pipe name) of the lock of the folder whose real path is `realDir`. Throws
 * ProtocolError 'internal' when the fallback folder under os.tmpdir() is not this user's and
 * private, or when even that path is too long.
 */
export function lockAddress(realDir: string): string {
  const hash = createHash('sha256').update(process.platform === 'win32' ? realDir.toLowerCase() : realDir).digest('hex').slice(0, 32);
  if (process.platform === 'win32') {
    // Pipe names are one namespace for every user of the machine: a name anyone could compute
    // from the (predictable) folder path could be created first by another user, who would then
    // be attached to. A secret kept in the folder (readable by its owner only) is in the name.
    const secret = pipeSecret(realDir);
    const named = createHash('sha256').update(`${secret}\n${realDir.toLowerCase()}`).digest('hex').slice(0, 32);
    return `\\\\.\\pipe\\p2p-chat-${named}`;
  }
  const inFolder = join(realDir, SOCKET_NAME);
  if (Buffer.byteLength(inFolder) <= MAX_SOCKET_PATH_BYTES) return inFolder;
  const parent = join(tmpdir(), `p2p-chat-${process.getuid?.() ?? 'user'}`);
  const path = join(parent, `${hash}.sock`);
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH_BYTES) throw new ProtocolError('internal', `no short enough path for the lock of ${realDir}: ${path} is over ${MAX_SOCKET_PATH_BYTES} bytes (set TMPDIR to a shorter folder)`);
  privateFolder(parent);
  return path;
}

/** The real path of `dir`, or `dir` itself when it does not resolve (a folder not made yet has no holder). */
export function realpathOrSelf(dir: string): string {
  try {
    return realpathSync.native(dir);
  } catch {
    return dir;
  }
}

/** Makes `dir` (mode 0700) if missing, and checks it is a real folder of this user that nobody else can enter. */
function privateFolder(dir: string): void {
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const st = lstatSync(dir);
  const uid = process.getuid?.();
  if (!st.isDirectory() || (uid !== undefined && st.uid !== uid)) {
    throw new ProtocolError('internal', `${dir} is not a folder of this user: the lock's socket cannot go there (remove it, or set TMPDIR)`);
  }
  if ((st.mode & 0o077) !== 0) chmodSync(dir, 0o700);
}

/** The folder's pipe-name secret (`lock-secret`, 32 random bytes as hex), made on first use. */
function pipeSecret(realDir: string): string {
  const path = join(realDir, 'lock-secret');
  try {
    const text = readFileSync(path, 'utf8').trim();
    if (/^[0-9a-f]{64}$/.test(text)) return text;
  } catch {
    // none yet
  }
  const secret = randomBytes(32).toString('hex');
  try {
    writeFileSync(path, secret, { flag: 'wx', mode: 0o600 });
    return secret;
  } catch {
    // Another process made it first (or it was damaged): read what is there now.
    const text = readFileSync(path, 'utf8').trim();
    if (/^[0-9a-f]{64}$/.test(text)) return text;
    writeFileSync(path, secret, { mode: 0o600 });
    return secret;
  }
}
