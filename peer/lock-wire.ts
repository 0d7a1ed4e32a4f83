// The exchange on a folder lock's socket (peer/folder-lock.ts): one short exchange of JSON lines,
// each at most MAX_LINE_BYTES:
//   client -> holder  {"v":1,"want":"who"|"watch"|"attach"}
//   holder -> client  {"v":1,"pid":1234,"program":"node peer","since":1764522120000,"attach":false}
// then, by `want`: "who" is closed by the holder; "watch" stays open and silent until the holder
// releases or dies (its close is the signal to take over); "attach" is handed to the holder's
// `connection` listeners (when it has none it answers attach:false and closes), and from then on
// the socket carries whatever protocol holder and attacher speak.
//
// Nothing read from the socket is trusted, on either side: lines are bounded and parsed into a Map
// and checked field by field here; the holder's timeouts and caps are in peer/lock-holder.ts.

import { createConnection, type Socket } from 'node:net';
import { ProtocolError } from '../protocol/errors.ts';

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

/** A line on the lock socket, either way. */
export const MAX_LINE_BYTES = 1024;
/** A holder's program name: 1 to 64 letters, digits, spaces and `._()-/:@+,`. */
export const PROGRAM_PATTERN = /^[\p{L}\p{N} ._()\-/:@+,]{1,64}$/u;
const WANTS = new Set(['who', 'watch', 'attach'] as const);
/** What a client asks for in its hello. */
export type Want = 'who' | 'watch' | 'attach';

/**
 * Connects to `address`, sends `want`, and reads the holder's answer. Undefined when nobody
 * listens (refused, or no socket). Throws 'server.data_in_use' when the listener does not answer
 * a valid line within `timeoutMs`. The socket is returned paused, with any bytes past the answer
 * put back; the caller closes it.
 */
export function ask(address: string, want: Want, timeoutMs: number): Promise<{ socket: Socket; holder: HolderInfo } | undefined> {
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
export function readLine(socket: Socket, done: (line: Buffer | undefined, rest: Buffer) => void): void {
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


/** The `want` of a client's hello line; undefined for anything else. */
export function parseHello(line: Buffer): Want | undefined {
  const m = jsonObject(line);
  const want = m?.get('want');
  if (m?.get('v') !== 1 || typeof want !== 'string' || !WANTS.has(want as Want)) return undefined;
  return want as Want;
}


/** The holder's answer line, checked field by field; undefined for anything that is not one. */
export function parseHolder(line: Buffer): HolderInfo | undefined {
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


/** A process id as the lock accepts one: a positive 31-bit integer. */
export function validPid(pid: number): boolean {
  return Number.isSafeInteger(pid) && pid > 0 && pid < 2 ** 31;
}

/**
 * Whether process `pid` may be alive (a pid read from a file: any number): signal 0 probes it.
 * EPERM means it exists but belongs to another user. An invalid pid is not alive.
 */
export function processAlive(pid: number): boolean {
  if (!validPid(pid)) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
