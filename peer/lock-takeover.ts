// Taking a folder lock's socket (peer/folder-lock.ts). Whoever listens on the socket holds the
// folder; the kernel closes it when the holder dies, however it dies, so a killed holder never
// keeps the folder: its socket file is left behind but refuses connections, and the next acquire
// removes it and takes over.
//
// A takeover (a socket file that refuses connections) is done under a small mutex file
// (`<socket>.takeover`, created with O_EXCL, holding the pid): so of two processes that both find
// the folder stale, exactly one removes the old socket and listens; the other then finds it held.

import { closeSync, lstatSync, openSync, readFileSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { ProtocolError } from '../protocol/errors.ts';
import { processAlive, validPid } from './lock-wire.ts';

/** A server listening on the lock's address: the folder is ours. */
export class FolderLockServer {
  constructor(readonly server: Server) {}
}

/**
 * Listens on `address` (Unix, run under the takeover mutex): the server, or 'held' when a live
 * listener is there. A stale socket file is removed first. Throws ProtocolError 'internal' when the
 * path is something other than a socket, 'server.busy' when it cannot be listened on in 3 tries.
 */
export async function takeOrProbe(address: string): Promise<FolderLockServer | 'held'> {
  for (let i = 0; i < 3; i++) {
    const listened = await listenOrProbe(address);
    if (listened instanceof FolderLockServer) return listened;
    const st = lstatOrUndefined(address);
    if (st === undefined) continue; // gone meanwhile: listen again
    if (!st.isSocket()) throw new ProtocolError('internal', `${address} exists and is not a socket: remove it if no engine runs on that folder`);
    const probe = await connectProbe(address);
    if (probe === 'live') return 'held';
    // Refused: a socket file nobody listens on (its holder was killed). Under the mutex nobody else
    // removes or binds it, so this removes the stale file, never a live one.
    try {
      unlinkSync(address);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  throw new ProtocolError('server.busy', `could not listen on ${address}`);
}

/** Listens on `address`: the server, or 'held' when the address is in use (Windows pipes: no stale files). */
export function listenOrProbe(address: string): Promise<FolderLockServer | 'held'> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    const onError = (err: NodeJS.ErrnoException) => {
      server.close();
      if (err.code === 'EADDRINUSE') resolve('held');
      else reject(err);
    };
    server.once('error', onError);
    server.listen({ path: address, readableAll: false, writableAll: false }, () => {
      server.off('error', onError);
      resolve(new FolderLockServer(server));
    });
  });
}

/** Whether something accepts connections on `address` ('live'), or nothing does ('stale'). */
function connectProbe(address: string): Promise<'live' | 'stale'> {
  return new Promise((resolve) => {
    const socket = createConnection({ path: address });
    socket.once('connect', () => {
      socket.destroy();
      resolve('live');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      socket.destroy();
      // A full backlog (EAGAIN) or a permission problem is somebody's live socket.
      resolve(err.code === 'ECONNREFUSED' || err.code === 'ENOENT' ? 'stale' : 'live');
    });
  });
}

/**
 * Runs `fn` holding the takeover mutex `path` (a file created with O_EXCL, holding the pid). A
 * mutex whose process is gone is removed; one held longer than `timeoutMs` by a live process
 * fails with 'server.busy'. Waiting polls the file every 10 to 50 ms: a takeover lasts a few.
 */
export async function withMutex<T>(path: string, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let pause = 10;
  for (;;) {
    let fd: number | undefined;
    try {
      fd = openSync(path, 'wx', 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (fd !== undefined) {
      try {
        writeSync(fd, String(process.pid));
      } finally {
        closeSync(fd);
      }
      try {
        return await fn();
      } finally {
        rmSync(path, { force: true });
      }
    }
    const owner = readPid(path);
    // A mutex without a pid is one being written right now, or one whose writer died in between:
    // the latter once it is older than `timeoutMs`.
    const dead = owner === 'empty' ? ageMs(path) > timeoutMs : owner !== undefined && !processAlive(owner);
    if (dead && readPid(path) === owner) {
      rmSync(path, { force: true });
      continue;
    }
    if (Date.now() > deadline) throw new ProtocolError('server.busy', `another process is taking the lock (${path}); try again`);
    await delay(pause);
    pause = Math.min(pause * 2, 50);
  }
}

function readPid(path: string): number | 'empty' | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  if (text === '') return 'empty';
  const pid = Number(text);
  // Garbage in the mutex: no live process can own it.
  return validPid(pid) ? pid : 0;
}

function ageMs(path: string): number {
  try {
    return Date.now() - lstatSync(path).mtimeMs;
  } catch {
    return 0;
  }
}


function lstatOrUndefined(path: string) {
  try {
    return lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Resolves after `ms` milliseconds; rejects with the signal's reason when aborted first. */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
