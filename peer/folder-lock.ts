// The lock of a data folder: one engine per folder (DESIGN.md "The programs and the folders that
// hold them"). The lock is a listening local socket (peer/lock-address.ts says where): whoever
// listens on it holds the folder, and the kernel closes it when the holder dies, however it dies,
// so a killed holder never keeps the folder (peer/lock-takeover.ts takes a stale one over, of
// racing processes exactly one). On the socket, one short exchange of bounded JSON lines
// (peer/lock-wire.ts): a client asks who holds the folder, watches for its release, or attaches
// to the holder (peer/lock-holder.ts answers). This file is what programs call: acquire, ask,
// attach, wait.

import { mkdirSync, realpathSync } from 'node:fs';
import type { Socket } from 'node:net';
import { ProtocolError } from '../protocol/errors.ts';
import { lockAddress, realpathOrSelf } from './lock-address.ts';
import { FolderLock } from './lock-holder.ts';
import { FolderLockServer, delay, listenOrProbe, takeOrProbe, withMutex } from './lock-takeover.ts';
import { PROGRAM_PATTERN, ask, validPid, type HolderInfo } from './lock-wire.ts';

export { FolderLock } from './lock-holder.ts';
export { MAX_LINE_BYTES, type HolderInfo } from './lock-wire.ts';
export { MAX_SOCKET_PATH_BYTES, lockAddress } from './lock-address.ts';

/** Who asks for a lock: a short name for people (`node peer`, `VS Code`) and, by default, this process's pid. */
export interface LockHolder {
  /** 1 to 64 letters, digits, spaces and `._()-/:@+,`. */
  program: string;
  pid?: number;
}

/** What `acquire` resolves to: the lock, or who holds the folder. */
export type AcquireResult = { lock: FolderLock; heldBy?: undefined } | { lock?: undefined; heldBy: HolderInfo };

export interface LockOptions {
  /** How long a holder may take to answer, and a takeover mutex may stay taken (ms; default 2000). */
  timeoutMs?: number;
}

/** Default wait for the holder's answer, for a client's first line, and for the takeover mutex (ms). */
export const DEFAULT_TIMEOUT_MS = 2000;

/**
 * Takes the lock of data folder `dir` (created, mode 0700, if missing) for `holder`, or finds
 * who holds it. Resolves to `{ lock }` or `{ heldBy }` (the holder's answer on the socket). A
 * socket left by a dead holder is removed and taken over; of processes racing for a folder,
 * exactly one gets `{ lock }`.
 * Throws ProtocolError 'server.data_in_use' when something listens on the lock's socket but does
 * not answer as a holder in `timeoutMs` (silent, oversized, or not the lock's protocol);
 * 'server.busy' when another process's takeover has not finished within `timeoutMs`; 'internal'
 * when the lock's path is taken by something other than a socket, or the socket's folder under
 * os.tmpdir() is not this user's private folder; an fs error when `dir` cannot be created.
 * `holder` itself is checked: a TypeError for a program or pid outside the rules.
 */
export async function acquire(dir: string, holder: LockHolder, opts: LockOptions = {}): Promise<AcquireResult> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const info: HolderInfo = { pid: holder.pid ?? process.pid, program: holder.program, since: Date.now(), attach: false };
  if (!PROGRAM_PATTERN.test(info.program)) throw new TypeError(`holder.program must match ${PROGRAM_PATTERN}`);
  if (!validPid(info.pid)) throw new TypeError('holder.pid must be a positive integer');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const real = realpathSync.native(dir);
  const address = lockAddress(real);

  for (let attempt = 0; ; attempt++) {
    const outcome = process.platform === 'win32' ? await listenOrProbe(address) : await withMutex(`${address}.takeover`, timeoutMs, () => takeOrProbe(address));
    if (outcome instanceof FolderLockServer) {
      return { lock: new FolderLock(real, address, info, outcome.server, timeoutMs) };
    }
    // Held by a live listener: ask who it is (outside the mutex: a silent holder must not block others).
    const answer = await ask(address, 'who', timeoutMs);
    if (answer) {
      answer.socket.destroy();
      return { heldBy: answer.holder };
    }
    // It went away between the probe and the question: try again.
    if (attempt >= 5) throw new ProtocolError('server.busy', `the lock of ${real} changes hands too fast to be taken; try again`);
  }
}

/**
 * Who holds `dir`, or undefined when nobody does (no socket, or a stale one). Never takes the
 * lock. Throws as `acquire` does for a listener that does not answer as a holder.
 */
export async function whoHolds(dir: string, opts: LockOptions = {}): Promise<HolderInfo | undefined> {
  const address = lockAddress(realpathOrSelf(dir));
  const answer = await ask(address, 'who', opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  answer?.socket.destroy();
  return answer?.holder;
}

/**
 * Attaches to the holder of `dir`: resolves to the holder's answer and the socket, paused (call
 * `resume()`, or hand it to something that does, such as readline), with the bytes read past the
 * answer put back; or to undefined when nobody holds the folder (then `acquire` it). The socket
 * closes when the holder releases or dies: the moment to `acquire` (or `acquireWhenFree`) again.
 * Throws ProtocolError 'server.data_in_use' when the holder does not accept attaching (a terminal
 * client) or does not answer as a holder within `timeoutMs`.
 */
export async function attach(dir: string, opts: LockOptions = {}): Promise<{ socket: Socket; holder: HolderInfo } | undefined> {
  const address = lockAddress(realpathOrSelf(dir));
  const answer = await ask(address, 'attach', opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  if (!answer) return undefined;
  if (!answer.holder.attach) {
    answer.socket.destroy();
    throw new ProtocolError('server.data_in_use', `${dir} is in use by ${describeHolder(answer.holder)}, which does not accept other windows`);
  }
  return answer;
}

/**
 * What a VS Code window does on start: takes the lock of `dir` (then it runs the engine and
 * listens to the lock's `connection`), or attaches to the holder (then it talks to the engine over
 * `attached.socket`, paused as `attach` leaves it). When the attached socket closes, the holder
 * released or died: call this again (or `acquireWhenFree` to only take over). A holder that left
 * between the two steps is taken over. Throws ProtocolError 'server.data_in_use' when the holder
 * does not accept attaching (a terminal client: `heldBy` names it in the message) or does not
 * answer, and as `acquire` does.
 */
export async function acquireOrAttach(dir: string, holder: LockHolder, opts: LockOptions = {}): Promise<{ lock: FolderLock; attached?: undefined } | { lock?: undefined; attached: { socket: Socket; holder: HolderInfo } }> {
  for (let attempt = 0; ; attempt++) {
    const r = await acquire(dir, holder, opts);
    if (r.lock) return { lock: r.lock };
    if (!r.heldBy.attach) throw new ProtocolError('server.data_in_use', `${dir} is in use by ${describeHolder(r.heldBy)}, which does not accept other windows`);
    const attached = await attach(dir, opts);
    if (attached) return { attached };
    if (attempt >= 5) throw new ProtocolError('server.busy', `the lock of ${dir} changes hands too fast to be taken; try again`);
  }
}

export interface WaitOptions extends LockOptions {
  /** Aborting rejects with the signal's reason and closes the watch connection. */
  signal?: AbortSignal;
  /** Called with the holder each time the folder is found held (e.g. to show "waiting for ..."). */
  onHeld?: (holder: HolderInfo) => void;
}

/**
 * Resolves with the lock of `dir` once this process holds it: at once when the folder is free,
 * otherwise as soon as the holder releases it or dies. It waits on a `watch` connection, whose
 * close is the signal (no polling), so a takeover follows a holder's exit within milliseconds. A
 * holder that closes watchers while still holding (too many watchers), or that does not answer,
 * is asked again after a pause growing from 100 ms to 1 s. Throws as `acquire` does for anything
 * but a busy or silent holder, and with the signal's reason when aborted.
 */
export async function acquireWhenFree(dir: string, holder: LockHolder, opts: WaitOptions = {}): Promise<FolderLock> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let pause = 100;
  for (;;) {
    opts.signal?.throwIfAborted();
    let result: AcquireResult | undefined;
    try {
      result = await acquire(dir, holder, { timeoutMs });
    } catch (err) {
      if (!(err instanceof ProtocolError) || (err.code !== 'server.data_in_use' && err.code !== 'server.busy')) throw err;
    }
    if (result?.lock) {
      if (opts.signal?.aborted) {
        result.lock.release();
        opts.signal.throwIfAborted();
      }
      return result.lock;
    }
    if (result?.heldBy) opts.onHeld?.(result.heldBy);
    const started = Date.now();
    let watch: { socket: Socket; holder: HolderInfo } | undefined;
    try {
      watch = await ask(lockAddress(realpathOrSelf(dir)), 'watch', timeoutMs);
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
    }
    if (watch) await closedOrAborted(watch.socket, opts.signal);
    // A watch that ended at once, or failed, is no sign of a release: do not spin on it.
    if (!watch || Date.now() - started < 50) {
      await delay(pause, opts.signal);
      pause = Math.min(pause * 2, 1000);
    } else {
      pause = 100;
    }
  }
}

/** "node peer (pid 1234, since 17:02)": the holder for messages to people (local time). */
export function describeHolder(holder: HolderInfo): string {
  const since = new Date(holder.since);
  const hhmm = `${String(since.getHours()).padStart(2, '0')}:${String(since.getMinutes()).padStart(2, '0')}`;
  return `${holder.program} (pid ${holder.pid}, since ${hhmm})`;
}

/** Resolves once the watch `socket` closes (the holder released or died) or `signal` aborts; the socket is destroyed either way. */
function closedOrAborted(socket: Socket, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      signal?.removeEventListener('abort', done);
      socket.destroy();
      resolve();
    };
    if (socket.destroyed || signal?.aborted) return done();
    socket.once('close', done);
    socket.resume(); // a watch carries no data; reading lets the close be seen
    signal?.addEventListener('abort', done, { once: true });
  });
}

