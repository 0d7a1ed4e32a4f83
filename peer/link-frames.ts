// One peer socket read as frames (protocol/frame.ts, at most PEER_FRAME_LIMIT each): pulled one
// at a time during the handshake, pushed to the link once it is established.

import type { Socket } from 'node:net';
import { FrameDecoder, PEER_FRAME_LIMIT, encodeFrame } from '../protocol/frame.ts';
import { linkError } from './link-errors.ts';

export interface FrameHandler {
  frame(value: unknown): void;
  /** The socket ended: undefined for a clean end, else why. */
  end(reason: Error | undefined): void;
}

/**
 * One socket, one decoder. During the handshake frames are pulled with next() (the socket pauses
 * while one waits unread, so the queue holds at most one read's worth); afterwards attach() pushes
 * them to the link. Never throws out of a socket callback.
 */
export class FrameReader {
  private readonly decoder = new FrameDecoder(PEER_FRAME_LIMIT);
  private readonly queue: unknown[] = [];
  private waiter: { resolve(v: unknown): void; reject(e: Error): void } | undefined;
  private handler: FrameHandler | undefined;
  private ended = false;
  private endReason: Error | undefined;
  private stopped = false;
  /**
   * While set (a server's unauthenticated handshake), bytes held for one unfinished frame stay
   * under this: a stranger cannot make each pending connection buffer a 1 MiB frame.
   */
  handshakeLimit: number | undefined;

  constructor(readonly socket: Socket, private readonly peer: string) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () =>
      this.finish(this.decoder.pending ? linkError('link.protocol', `${peer} closed the connection in the middle of a frame`) : undefined));
    socket.on('error', (err) => this.finish(linkError('link.closed', `the connection to ${peer} was lost (${err.message})`, { cause: err })));
    socket.on('close', () => this.finish(undefined));
  }

  /** The next frame; rejects once the socket has ended and nothing is queued. */
  next(): Promise<unknown> {
    if (this.queue.length) {
      const value = this.queue.shift();
      if (!this.queue.length && !this.ended) this.socket.resume();
      return Promise.resolve(value);
    }
    if (this.ended) return Promise.reject(this.handshakeEnd());
    return new Promise((resolve, reject) => { this.waiter = { resolve, reject }; });
  }

  /** Switches to push mode: queued frames first, then an end that came while nobody listened. */
  attach(handler: FrameHandler): void {
    this.handler = handler;
    while (this.queue.length && !this.stopped) handler.frame(this.queue.shift());
    if (this.stopped) return;
    if (this.ended) handler.end(this.endReason);
    else this.socket.resume();
  }

  /** Ignore everything from now on (the owner closed the link). */
  stop(): void {
    this.stopped = true;
  }

  write(value: unknown): void {
    if (!this.socket.destroyed && this.socket.writable) this.socket.write(encodeFrame(value));
  }

  private onData(chunk: Buffer): void {
    // A bad frame after good ones in one read: the good ones come first, the error on the next push.
    for (let data = chunk; !this.stopped && !this.ended; data = Buffer.alloc(0)) {
      let frames: unknown[];
      try {
        frames = this.decoder.push(data);
      } catch (err) {
        // Out of sync (or not our protocol at all): nothing later on this stream can be trusted.
        this.finish(linkError('link.protocol', `${this.peer} sent an invalid frame: ${(err as Error).message}`, { cause: err }));
        return;
      }
      if (this.handshakeLimit !== undefined && !this.handler && this.decoder.pending > this.handshakeLimit) {
        this.finish(linkError('link.protocol',
          `${this.peer} sent over ${this.handshakeLimit} bytes of one handshake frame; handshake frames are smaller, so it is not our protocol`));
        return;
      }
      if (!frames.length) return;
      for (const value of frames) {
        if (this.stopped || this.ended) return;
        if (this.handler) this.handler.frame(value);
        else this.queue.push(value);
      }
      if (!this.handler) this.deliverPulled();
    }
  }

  private deliverPulled(): void {
    if (this.waiter && this.queue.length) {
      const { resolve } = this.waiter;
      this.waiter = undefined;
      resolve(this.queue.shift());
    }
    if (this.queue.length) this.socket.pause();
  }

  private finish(reason: Error | undefined): void {
    if (this.ended) return;
    this.ended = true;
    this.endReason = reason;
    if (this.handler) {
      if (!this.stopped) this.handler.end(reason);
    } else if (this.waiter) { // even when stopped, so an abandoned handshake does not hang
      const { reject } = this.waiter;
      this.waiter = undefined;
      reject(this.handshakeEnd());
    }
  }

  private handshakeEnd(): Error {
    return this.endReason ?? linkError('link.closed', `${this.peer} closed the connection during the handshake`);
  }
}
