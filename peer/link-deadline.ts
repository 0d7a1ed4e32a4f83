// How a handshake ends when it does not make a link, on either side: cut at its deadline (the peer
// told why), and a failed one closed (a refusal flushed first, anything else cut at once).

import type * as net from 'node:net';
import { ProtocolError } from '../protocol/errors.ts';
import { isRefusal, type FrameReader } from './link-handshake.ts';

/** Ends a failed handshake: a refusal is flushed to the peer first, anything else is cut at once. */
export function abandon(socket: net.Socket, err: unknown, graceMs: number): void {
  if (isRefusal(err) && !socket.destroyed) {
    socket.end();
    setTimeout(() => socket.destroy(), graceMs).unref();
  } else {
    socket.destroy();
  }
}

/** Runs `handshake` under the handshake deadline, telling the peer if it ran out. */
export function withDeadline<T>(reader: FrameReader, ms: number, what: string, handshake: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reader.write({ t: 'refused', code: 'link.timeout', message: `no complete handshake within ${ms} ms` });
      reject(new ProtocolError('link.timeout', `${what} did not complete the handshake within ${ms} ms`, { details: { remote: 'timeout' } }));
    }, ms);
  });
  handshake.catch(() => {}); // it may still fail after the deadline won the race
  return Promise.race([handshake, deadline]).finally(() => clearTimeout(timer));
}
