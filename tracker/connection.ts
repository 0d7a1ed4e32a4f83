// One client connection: frames in, requests handled one at a time in arrival order, responses
// and events out. Bounded everywhere: a frame over 64 KiB closes the stream (it is out of sync),
// a connection that has not logged in by its deadline or goes silent past the heartbeat timeout
// is closed, and a client that stops reading is dropped as a slow consumer: its outgoing queue
// may pass the limit while it drains (a big answer to a client that reads is fine), but not stay
// there without progress for slowConsumerMs, nor grow past HARD_QUEUE_FACTOR times the limit, so
// it cannot grow the tracker's memory. Every forced close tells the client why first (a
// `closing` event) and is reported to onClose with its code and message, for the log.

import type { TLSSocket } from 'node:tls';
import { ProtocolError, isErrorCode, type WireErrorCode } from '../protocol/errors.ts';
import { FrameDecoder, TRACKER_FRAME_LIMIT, TRACKER_RESPONSE_LIMIT, encodeFrame } from '../protocol/frame.ts';
import type { ErrorBody, TrackerEvent } from '../protocol/tracker.ts';

/**
 * Requests waiting behind the one being handled. At this many the connection stops reading (TCP
 * flow control then holds the client back) until they are answered: pipelining is not an attack,
 * and closing instead would cut off any client that sends many requests at once (a
 * `Promise.all` over its rooms), depending only on how TCP happened to split its writes.
 */
const MAX_PENDING_REQUESTS = 64;
/**
 * Bytes of requests waiting behind the one being handled: past this the connection stops reading
 * too, so big frames (mailbox puts, up to loggedInFrameBytes each) cannot pile up 64 deep.
 */
const MAX_PENDING_BYTES = 2 * 1024 * 1024;

/** A frame of invalid JSON: answered with its error in its turn, after the requests before it. */
class UnreadableFrame {
  constructor(readonly error: ProtocolError) {}
}

/** The queue is never let grow past this many times maxQueueBytes, draining or not. */
export const HARD_QUEUE_FACTOR = 8;
/** After a forced close, the socket is destroyed this long after its end (a client that never reads). */
const CLOSE_GRACE_MS = 1000;

export interface ConnectionLimits {
  authTimeoutMs: number;
  heartbeatTimeoutMs: number;
  maxQueueBytes: number;
  /** A queue over maxQueueBytes that delivers nothing for this long is a slow consumer. */
  slowConsumerMs: number;
  /**
   * The largest request frame once logged in (the mailbox's puts carry whole envelopes); before
   * login, and when absent, TRACKER_FRAME_LIMIT.
   */
  loggedInFrameBytes?: number;
}

/** Why the tracker closed a connection, for the log; null when the client left or the socket failed. */
export interface CloseReason {
  code: WireErrorCode;
  message: string;
}

export class Connection {
  readonly address: string;
  user: string | null = null;
  token: string | null = null;
  fingerprint = '';
  peerPort = 0;
  /** The device (data folder) this session runs on: its own id, or one made for a client older than devices. */
  device = '';
  closed = false;
  /** Requests sent while not logged in (server.ts closes the connection past MAX_REQUESTS_BEFORE_LOGIN). */
  requestsBeforeLogin = 0;
  private decoder = new FrameDecoder(TRACKER_FRAME_LIMIT);
  private decoderLimit = TRACKER_FRAME_LIMIT;
  private readonly pending: (unknown | UnreadableFrame)[] = [];
  /** The size of each pending frame (the bytes a push consumed go to its last frame), and their sum. */
  private readonly pendingSizes: number[] = [];
  private pendingBytes = 0;
  private busy = false;
  private authTimer?: NodeJS.Timeout;
  private idleTimer?: NodeJS.Timeout;
  /** Bytes ever handed to the socket; minus writableLength, the bytes it has delivered. */
  private queuedTotal = 0;
  private drainTimer?: NodeJS.Timeout;

  constructor(
    readonly socket: TLSSocket,
    private readonly limits: ConnectionLimits,
    private readonly onFrame: (conn: Connection, frame: unknown) => Promise<void>,
    private readonly onClose: (conn: Connection, reason: CloseReason | null) => void,
  ) {
    this.address = normalizeAddress(socket.remoteAddress ?? 'unknown');
    // A request that pushes an event to its own sender writes two frames back to back; with
    // Nagle's algorithm the second (the response) waits for the client's delayed ACK, ~40 ms.
    socket.setNoDelay(true);
    this.authTimer = setTimeout(() => this.fail('server.timeout', 'log in within the time allowed'), limits.authTimeoutMs);
    this.resetIdle();
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', () => this.close(null));
    socket.on('close', () => this.close(null));
  }

  authenticated(user: string, token: string, fingerprint: string, peerPort: number, device: string): void {
    this.user = user;
    this.token = token;
    this.fingerprint = fingerprint;
    this.peerPort = peerPort;
    this.device = device;
    clearTimeout(this.authTimer);
  }

  /** While a login is being checked the deadline waits: time queued behind bcrypt is not the client's. */
  holdDeadline(): void {
    clearTimeout(this.authTimer);
  }

  restartDeadline(): void {
    if (this.user || this.closed) return;
    clearTimeout(this.authTimer);
    this.authTimer = setTimeout(() => this.fail('server.timeout', 'log in within the time allowed'), this.limits.authTimeoutMs);
  }

  /** After logout the connection may log in again, within a new deadline. */
  deauthenticated(): void {
    this.user = this.token = null;
    this.requestsBeforeLogin = 0;
    this.authTimer = setTimeout(() => this.fail('server.timeout', 'log in within the time allowed'), this.limits.authTimeoutMs);
  }

  send(value: unknown): void {
    if (this.closed) return;
    const frame = encodeFrame(value, TRACKER_RESPONSE_LIMIT);
    this.queuedTotal += frame.length;
    this.socket.write(frame);
    this.checkQueue(frame.length);
  }

  private get delivered(): number {
    return this.queuedTotal - this.socket.writableLength;
  }

  /**
   * A queue over the limit is watched, not judged: every slowConsumerMs it must have delivered
   * something, or the client is not reading and is dropped. A backlog (what was still waiting
   * before the frame just written: one answer, however big, is not a backlog) past the hard bound
   * is dropped at once, whatever it reads: memory is what the limit protects.
   */
  private checkQueue(justWritten: number): void {
    const queued = this.socket.writableLength;
    if (queued - justWritten > this.limits.maxQueueBytes * HARD_QUEUE_FACTOR) {
      return this.fail('slow_consumer', `the tracker had ${queued} bytes waiting for you, more than it keeps for one client; your client reconnects`);
    }
    if (queued <= this.limits.maxQueueBytes || this.drainTimer) return;
    const watch = (deliveredBefore: number) => {
      this.drainTimer = setTimeout(() => {
        this.drainTimer = undefined;
        if (this.closed || this.socket.writableLength <= this.limits.maxQueueBytes) return;
        if (this.delivered > deliveredBefore) return watch(this.delivered);
        this.fail('slow_consumer', `you read nothing of the ${this.socket.writableLength} bytes waiting for you for ${this.limits.slowConsumerMs} ms; your client reconnects`);
      }, this.limits.slowConsumerMs);
    };
    watch(this.delivered);
  }

  sendEvent(event: TrackerEvent): void {
    this.send(event);
  }

  sendError(id: number | null, err: ErrorBody): void {
    this.send({ id, ok: false, error: err });
  }

  /**
   * Tells the client why (a `closing` event, behind whatever is queued: a slow client that reads
   * again still learns the cause) and closes.
   */
  fail(code: WireErrorCode, message: string): void {
    if (this.closed) return;
    if (!this.socket.destroyed) this.socket.write(encodeFrame({ event: 'closing', code, message }, TRACKER_RESPONSE_LIMIT));
    this.socket.end();
    // A client that never reads would hold the socket open: destroy after a grace. A slow
    // consumer gets as long as it had to show progress: if it reads again meanwhile, it reaches
    // the `closing` event behind its backlog (the queue is bounded, so the wait costs little).
    const grace = code === 'slow_consumer' ? Math.max(CLOSE_GRACE_MS, this.limits.slowConsumerMs) : CLOSE_GRACE_MS;
    setTimeout(() => this.socket.destroy(), grace).unref();
    this.close({ code, message });
  }

  /**
   * The frame limit follows the login (bigger once logged in, when loggedInFrameBytes is set). The
   * decoder is swapped only between frames, when it holds no partial one.
   */
  private fitDecoder(): void {
    const want = this.user ? (this.limits.loggedInFrameBytes ?? TRACKER_FRAME_LIMIT) : TRACKER_FRAME_LIMIT;
    if (want === this.decoderLimit || this.decoder.pending) return;
    this.decoder = new FrameDecoder(want);
    this.decoderLimit = want;
  }

  private enqueue(item: unknown, bytes: number): void {
    this.pending.push(item);
    this.pendingSizes.push(bytes);
    this.pendingBytes += bytes;
  }

  private get tooMuchPending(): boolean {
    return this.pending.length >= MAX_PENDING_REQUESTS || this.pendingBytes >= MAX_PENDING_BYTES;
  }

  private receive(chunk: Buffer): void {
    if (this.closed) return;
    this.resetIdle();
    this.fitDecoder();
    let input = chunk;
    for (;;) {
      let frames: unknown[];
      const before = this.decoder.pending + input.length;
      try {
        frames = this.decoder.push(input);
      } catch (err) {
        const e = err as ProtocolError;
        // After a bad length the stream is out of sync: close. A frame of bad JSON was consumed
        // whole, so the stream is still in sync: go on with what follows it.
        if (e.code === 'request.too_large') {
          this.sendError(null, { code: e.code, message: e.message });
          return this.fail(e.code, e.message);
        }
        this.enqueue(new UnreadableFrame(e), 0);
        input = Buffer.alloc(0);
        continue;
      }
      // One read holds at most one chunk of frames, so the queue stays bounded while paused.
      const consumed = Math.max(0, before - this.decoder.pending);
      frames.forEach((frame, i) => this.enqueue(frame, i === frames.length - 1 ? consumed : 0));
      if (!frames.length) break;
      input = Buffer.alloc(0);
    }
    if (this.tooMuchPending && !this.socket.isPaused()) this.socket.pause();
    void this.drain();
  }

  private async drain(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    while (this.pending.length && !this.closed) {
      const next = this.pending.shift();
      this.pendingBytes -= this.pendingSizes.shift() ?? 0;
      if (next instanceof UnreadableFrame) this.sendError(null, { code: isErrorCode(next.error.code) ? next.error.code : 'request.invalid', message: next.error.message });
      else await this.onFrame(this, next);
      if (!this.tooMuchPending && this.socket.isPaused()) this.socket.resume();
    }
    this.busy = false;
  }

  private resetIdle(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.fail('server.timeout', 'no heartbeat from you; reconnect'), this.limits.heartbeatTimeoutMs);
  }

  private close(reason: CloseReason | null): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.authTimer);
    clearTimeout(this.idleTimer);
    clearTimeout(this.drainTimer);
    this.onClose(this, reason);
  }
}

/** `::ffff:10.0.0.5` and `10.0.0.5` are one address for limits and presence. */
export function normalizeAddress(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}
