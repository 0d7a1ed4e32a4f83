// The lock of a data folder: one engine per folder (DESIGN.md "The programs and the folders that
// hold them"). The lock is a listening local socket: a Unix domain socket `<dir>/engine.sock`
// (or, when that path is too long for sun_path, `<tmpdir>/p2p-chat-<uid>/<hash>.sock` in a
// folder of mode 0700), a named pipe `\\.\pipe\p2p-chat-<hash>` on Windows (the hash covers a
// secret kept in the folder, so another user cannot create the pipe first). Whoever listens on
// it holds the folder; the kernel closes it when the holder dies, however it dies, so a killed
// holder never keeps the folder: its socket file is left behind but refuses connections, and the
// next acquire removes it and takes over.
//
// On the socket, one short exchange of JSON lines, each at most MAX_LINE_BYTES:
//   client -> holder  {"v":1,"want":"who"|"watch"|"attach"}
//   holder -> client  {"v":1,"pid":1234,"program":"node peer","since":1764522120000,"attach":false}
// then, by `want`: "who" is closed by the holder; "watch" stays open and silent until the holder
// releases or dies (its close is the signal to take over); "attach" is handed to the holder's
// `connection` listeners (when it has none it answers attach:false and closes), and from then on
// the socket carries whatever protocol holder and attacher speak.
//
// Nothing read from the socket is trusted, on either side: lines are bounded, parsed into a Map
// and checked field by field, a peer that stays silent is dropped after a timeout, and the number
// of connections waiting for their first line or watching is bounded.
//
// A takeover (a socket file that refuses connections) is done under a small mutex file
// (`<socket>.takeover`, created with O_EXCL, holding the pid): so of two processes that both find
// the folder stale, exactly one removes the old socket and listens; the other then finds it held.

import { createHash, randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { chmodSync, closeSync, lstatSync, mkdirSync, openSync, readFileSync, realpathSync, rmSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProtocolError } from '../protocol/errors.ts';

/** Who asks for a lock: a short name for people (`node peer`, `VS Code`) and, by default, this process's pid. */
export interface LockHolder {
  /** 1 to 64 letters, digits, spaces and `._()-/:@+,`. */
  program: string;
  pid?: number;
}

/** The live holder of a folder, as it answered on the socket (validated, never trusted further). */
export interface HolderInfo {
  /** The holder's process id (as it claims). */
  pid: number;
  program: string;
  /** When it took the lock: milliseconds since the Unix epoch. */
  since: number;
  /** Whether it accepts `attach` connections (FolderLock's `connection` event). */
  attach: boolean;
}

/** What `acquire` resolves to: the lock, or who holds the folder. */
export type AcquireResult = { lock: FolderLock; heldBy?: undefined } | { lock?: undefined; heldBy: HolderInfo };

export interface LockOptions {
  /** How long a holder may take to answer, and a takeover mutex may stay taken (ms; default 2000). */
  timeoutMs?: number;
}

/** A line on the lock socket, either way. */
export const MAX_LINE_BYTES = 1024;
/** Default wait for the holder's answer, for a client's first line, and for the takeover mutex (ms). */
export const DEFAULT_TIMEOUT_MS = 2000;
/** Connections still owing their first line; more are closed at once. */
const MAX_PENDING = 16;
/** Open `watch` connections; more get their answer and are closed. */
const MAX_WATCHERS = 64;
/** Open connections of any kind; more are refused by the server. */
const MAX_CONNECTIONS = 256;
/** A Unix socket path longer than this (bytes) goes under os.tmpdir() (sun_path is 104 on macOS, 108 on Linux). */
export const MAX_SOCKET_PATH_BYTES = 100;
const SOCKET_NAME = 'engine.sock';
const PROGRAM_PATTERN = /^[\p{L}\p{N} ._()\-/:@+,]{1,64}$/u;
const WANTS = new Set(['who', 'watch', 'attach'] as const);
type Want = 'who' | 'watch' | 'attach';

type LockEvents = {
  /** An `attach` connection, after the lock's exchange: paused, with any bytes read past the hello put back. */
  connection: [socket: Socket];
};

/**
 * A held lock. Listen to `connection` to accept attaching clients (without a listener they are
 * told attach:false and closed): add the listener right after `acquire` resolves, before any
 * await, and queue what arrives until the engine is ready. `release()` (also run at process exit)
 * closes the socket, which removes its file, and closes every watcher and attached socket, so the
 * others take over at once.
 */
export class FolderLock extends EventEmitter<LockEvents> {
  private readonly pending = new Set<Socket>();
  private readonly watchers = new Set<Socket>();
  private readonly attached = new Set<Socket>();
  private releasedFlag = false;
  private readonly onExit = () => this.release();

  /** @internal acquire() makes these. */
  constructor(
    /** The folder's real path. */
    readonly dir: string,
    /** The socket path (or pipe name) this lock listens on. */
    readonly address: string,
    /** What this lock answers to `who`. */
    readonly holder: HolderInfo,
    private readonly server: Server,
    private readonly timeoutMs: number,
  ) {
    super();
    // Waiting, watching and attached connections together (each kind is bounded again below).
    server.maxConnections = MAX_CONNECTIONS;
    server.on('connection', (socket) => this.onSocket(socket));
    // A failing accept must not end the process; the lock holds as long as the server listens.
    server.on('error', () => {});
    process.once('exit', this.onExit);
  }

  get released(): boolean {
    return this.releasedFlag;
  }

  /** Stops holding the folder (idempotent, synchronous: the socket file is gone when it returns). */
  release(): void {
    if (this.releasedFlag) return;
    this.releasedFlag = true;
    process.off('exit', this.onExit);
    for (const s of [...this.pending, ...this.watchers, ...this.attached]) s.destroy();
    this.pending.clear();
    this.watchers.clear();
    this.attached.clear();
    // Closing the handle unlinks the socket file (libuv) before close() returns; removing it
    // afterwards could remove the socket of a process that has taken over since.
    this.server.close();
  }

  private reply(attach: boolean): string {
    return `${JSON.stringify({ v: 1, pid: this.holder.pid, program: this.holder.program, since: this.holder.since, attach })}\n`;
  }

  private onSocket(socket: Socket): void {
    socket.on('error', () => {});
    if (this.releasedFlag || this.pending.size >= MAX_PENDING) {
      socket.destroy();
      return;
    }
    this.pending.add(socket);
    const drop = () => {
      clearTimeout(timer);
      this.pending.delete(socket);
      socket.destroy();
    };
    const timer = setTimeout(drop, this.timeoutMs);
    socket.once('close', () => {
      clearTimeout(timer);
      this.pending.delete(socket);
    });
    readLine(socket, (line, rest) => {
      clearTimeout(timer);
      this.pending.delete(socket);
      const want = line && parseHello(line);
      if (!want || this.releasedFlag) return drop();
      this.answer(socket, want, rest);
    });
  }

  private answer(socket: Socket, want: Want, rest: Buffer): void {
    const attach = want === 'attach' && this.listenerCount('connection') > 0;
    if (attach) {
      socket.write(this.reply(true));
      this.attached.add(socket);
      socket.once('close', () => this.attached.delete(socket));
      if (rest.length) socket.unshift(rest);
      this.emit('connection', socket);
      return;
    }
    if (want === 'watch' && this.watchers.size < MAX_WATCHERS) {
      socket.write(this.reply(this.listenerCount('connection') > 0));
      this.watchers.add(socket);
      socket.once('close', () => this.watchers.delete(socket));
      // A watcher has nothing to say: anything it sends ends it.
      socket.on('data', () => socket.destroy());
      socket.resume();
      return;
    }
    socket.end(this.reply(this.listenerCount('connection') > 0));
    // Read on (and drop) so the client's close is seen and the socket ends; a client that keeps
    // it open is closed after the timeout.
    const timer = setTimeout(() => socket.destroy(), this.timeoutMs);
    socket.once('close', () => clearTimeout(timer));
    socket.on('data', () => {});
    socket.resume();
  }
}

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

// ---- taking the socket ---------------------------------------------------------------------------

class FolderLockServer {
  constructor(readonly server: Server) {}
}

/** Listens on `address`; a live listener there: 'held'; a stale socket file is removed first (Unix, under the mutex). */
async function takeOrProbe(address: string): Promise<FolderLockServer | 'held'> {
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

/** Listens on `address`: the server, or 'held' when the address is in use. */
function listenOrProbe(address: string): Promise<FolderLockServer | 'held'> {
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
async function withMutex<T>(path: string, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
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

function processAlive(pid: number): boolean {
  if (!validPid(pid)) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// ---- the exchange ------------------------------------------------------------------------------

/**
 * Connects to `address`, sends `want`, and reads the holder's answer. Undefined when nobody
 * listens (refused, or no socket). Throws 'server.data_in_use' when the listener does not answer
 * a valid line within `timeoutMs`. The socket is returned paused, with any bytes past the answer
 * put back; the caller closes it.
 */
function ask(address: string, want: Want, timeoutMs: number): Promise<{ socket: Socket; holder: HolderInfo } | undefined> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ path: address });
    let settled = false;
    const fail = (why: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      reject(new ProtocolError('server.data_in_use', `something listens on ${address} but ${why}: if no engine runs on that folder, end the process that holds it`));
    };
    const timer = setTimeout(() => fail(`did not answer within ${timeoutMs} ms`), timeoutMs);
    socket.once('error', (err: NodeJS.ErrnoException) => {
      if (settled) return;
      if (err.code === 'ECONNREFUSED' || err.code === 'ENOENT') {
        settled = true;
        clearTimeout(timer);
        socket.destroy();
        resolve(undefined);
      } else {
        fail(`the connection failed (${err.code ?? err.message})`);
      }
    });
    socket.once('connect', () => socket.write(`${JSON.stringify({ v: 1, want })}\n`));
    readLine(socket, (line, rest) => {
      if (settled) return;
      if (!line) return fail('closed without answering, or sent a line over the limit');
      const holder = parseHolder(line);
      if (!holder) return fail('answered something that is not a lock holder');
      settled = true;
      clearTimeout(timer);
      socket.on('error', () => {});
      if (rest.length) socket.unshift(rest);
      resolve({ socket, holder });
    });
  });
}

/**
 * Reads one line (at most MAX_LINE_BYTES before the newline) from `socket`, then pauses it and
 * calls `done(line, rest)`; `done(undefined)` when it closes first or the line is too long.
 */
function readLine(socket: Socket, done: (line: Buffer | undefined, rest: Buffer) => void): void {
  let buf: Buffer = Buffer.alloc(0);
  let finished = false;
  const finish = (line: Buffer | undefined, rest: Buffer) => {
    if (finished) return;
    finished = true;
    socket.off('data', onData);
    socket.off('end', onEnd);
    socket.off('close', onEnd);
    socket.pause();
    done(line, rest);
  };
  const onData = (chunk: Buffer) => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    const nl = buf.indexOf(10);
    if (nl >= 0 && nl <= MAX_LINE_BYTES) return finish(buf.subarray(0, nl), buf.subarray(nl + 1));
    if (nl > MAX_LINE_BYTES || buf.length > MAX_LINE_BYTES) finish(undefined, Buffer.alloc(0));
  };
  const onEnd = () => finish(undefined, Buffer.alloc(0));
  socket.on('data', onData);
  socket.once('end', onEnd);
  socket.once('close', onEnd);
}

/** A JSON object read from the socket, as a Map of its own keys; undefined when it is not one. */
function jsonObject(line: Buffer): Map<string, unknown> | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  return new Map(Object.entries(value));
}

function parseHello(line: Buffer): Want | undefined {
  const m = jsonObject(line);
  const want = m?.get('want');
  if (m?.get('v') !== 1 || typeof want !== 'string' || !WANTS.has(want as Want)) return undefined;
  return want as Want;
}

function parseHolder(line: Buffer): HolderInfo | undefined {
  const m = jsonObject(line);
  if (!m || m.get('v') !== 1) return undefined;
  const pid = m.get('pid');
  const program = m.get('program');
  const since = m.get('since');
  const attach = m.get('attach');
  if (typeof pid !== 'number' || !validPid(pid)) return undefined;
  if (typeof program !== 'string' || !PROGRAM_PATTERN.test(program)) return undefined;
  if (typeof since !== 'number' || !Number.isSafeInteger(since) || since < 0 || since > 8.64e15) return undefined;
  if (typeof attach !== 'boolean') return undefined;
  return { pid, program, since, attach };
}

function validPid(pid: number): boolean {
  return Number.isSafeInteger(pid) && pid > 0 && pid < 2 ** 31;
}

// ---- small helpers -------------------------------------------------------------------------------

function realpathOrSelf(dir: string): string {
  try {
    return realpathSync.native(dir);
  } catch {
    return dir;
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

function delay(ms: number, signal?: AbortSignal): Promise<void> {
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
