// The client end of the tracker link (DESIGN.md "Tracker"): TLS with the tracker's certificate
// pinned by fingerprint (trust on first use, like SSH: the tracker's certificate is self-signed,
// so CA validation is off and the pin is the only check), length-prefixed JSON frames, requests
// matched to responses by id, and pushed events. Nothing here knows about accounts or rooms.

import { EventEmitter } from 'node:events';
import * as tls from 'node:tls';
import { fingerprint as fingerprintOf, normalizeFingerprint } from '../protocol/crypto.ts';
import { ProtocolError, isErrorCode } from '../protocol/errors.ts';
import { FrameDecoder, TRACKER_FRAME_LIMIT, TRACKER_RESPONSE_LIMIT, encodeFrame } from '../protocol/frame.ts';
import {
  HEARTBEAT_INTERVAL_MS,
  MAILBOX_FRAME_LIMIT,
  errorBodySchema,
  isResponse,
  trackerEventSchema,
  trackerResultSchemas,
  type RequestParams,
  type TrackerEvent,
  type TrackerRequestType,
  type TrackerResult,
} from '../protocol/tracker.ts';

export const CONNECT_TIMEOUT_MS = 10_000;
export const REQUEST_TIMEOUT_MS = 15_000;
/** A graceful close waits this long for the tracker to finish its side before destroying. */
const CLOSE_GRACE_MS = 1_000;
const PIN_RESET_HINT =
  "If the tracker's certificate was replaced on purpose, run 'P2P Chat: Forget Tracker Fingerprint' " +
  '(or delete the pinned fingerprint file in the data folder) and connect again; otherwise someone ' +
  'may be impersonating the tracker.';

export interface TrackerConnectOptions {
  host: string;
  port: number;
  /** The pinned fingerprint ('AB12 CD34 …'; case, spaces and colons are ignored). */
  expectedFingerprint?: string;
  /** For TCP connect plus TLS handshake. */
  timeoutMs?: number;
  /** Default per-request timeout. */
  requestTimeoutMs?: number;
  /**
   * Ping interval, so the tracker does not drop this client as silent (it does after
   * HEARTBEAT_TIMEOUT_MS); an unanswered ping closes the link. 0 turns heartbeats off.
   */
  heartbeatMs?: number;
  maxFrameBytes?: number;
  /** The local address to connect from (tests: another loopback address is another client machine). */
  localAddress?: string;
}

/** `tracker.fingerprint_mismatch`, the pinned and presented fingerprints in details.expected/actual. */
export function fingerprintMismatch(host: string, port: number, expected: string, actual: string): ProtocolError {
  return new ProtocolError(
    'tracker.fingerprint_mismatch',
    `The tracker at ${host}:${port} presented a different certificate than the one pinned.\n` +
      `  pinned:    ${groups(expected)}\n  presented: ${groups(actual)}\n${PIN_RESET_HINT}`,
    { details: { expected, actual } },
  );
}

interface TrackerConnectionEvents {
  /** A pushed event, already checked against trackerEventSchema. */
  event: [TrackerEvent];
  /**
   * Emitted once. The reason is a ProtocolError when the tracker said why (its `closing` event,
   * e.g. slow_consumer) or a frame of its was refused here; another Error for a socket failure or
   * an unanswered heartbeat; undefined after close() or a plain disconnect.
   */
  close: [reason: Error | undefined];
  /** Every decoded frame, before it is handled: for tests that send raw bytes and read the answer. */
  frame: [value: unknown];
  /** A frame that was dropped (an event that fails its schema, a response to no pending request). */
  warning: [error: Error];
}

interface Pending {
  type: TrackerRequestType;
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/** 'AB12 CD34 …' whatever form the pin was stored in, so the two lines of the message line up. */
function groups(fp: string): string {
  const hex = normalizeFingerprint(fp);
  return /^[0-9A-F]{64}$/.test(hex) ? hex.match(/.{4}/g)!.join(' ') : fp;
}

export class TrackerConnection extends EventEmitter<TrackerConnectionEvents> {
  /** The tracker certificate's SHA-256 fingerprint, 'AB12 CD34 …' (16 groups). */
  readonly fingerprint: string;
  /** For tests only: the TLS socket underneath. */
  readonly rawSocket: tls.TLSSocket;
  readonly host: string;
  readonly port: number;

  private readonly decoder: FrameDecoder;
  private readonly pending = new Map<number, Pending>();
  private readonly requestTimeoutMs: number;
  private nextId = 1;
  private closeReason: Error | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private pingInFlight = false;
  private isClosed = false;
  private isEnding = false;

  /** Connects, completes TLS and checks the pin before any byte of ours is sent. */
  static connect(opts: TrackerConnectOptions): Promise<TrackerConnection> {
    const { host, port, expectedFingerprint, timeoutMs = CONNECT_TIMEOUT_MS } = opts;
    return new Promise((resolve, reject) => {
      // rejectUnauthorized is off because the certificate is self-signed: trust comes from the
      // pinned fingerprint checked below, before the first request is written.
      const socket = tls.connect({ host, port, rejectUnauthorized: false, ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) });
      socket.setNoDelay(true);
      const fail = (err: Error) => {
        clearTimeout(timer);
        socket.destroy();
        reject(err);
      };
      const timer = setTimeout(
        () => fail(new ProtocolError('tracker.unreachable', `could not reach the tracker at ${host}:${port} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      socket.on('error', fail);
      socket.once('secureConnect', () => {
        const raw = socket.getPeerCertificate()?.raw;
        if (!raw || raw.length === 0) return fail(new Error(`the tracker at ${host}:${port} sent no certificate`));
        const actual = fingerprintOf(raw);
        if (expectedFingerprint !== undefined && normalizeFingerprint(expectedFingerprint) !== normalizeFingerprint(actual)) {
          return fail(fingerprintMismatch(host, port, expectedFingerprint, actual));
        }
        clearTimeout(timer);
        socket.off('error', fail);
        resolve(new TrackerConnection(socket, actual, opts));
      });
    });
  }

  private constructor(socket: tls.TLSSocket, fingerprint: string, opts: TrackerConnectOptions) {
    super();
    this.rawSocket = socket;
    this.fingerprint = fingerprint;
    this.host = opts.host;
    this.port = opts.port;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
    this.decoder = new FrameDecoder(opts.maxFrameBytes ?? TRACKER_RESPONSE_LIMIT);

    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => {
      this.closeReason ??= err;
    });
    socket.on('close', () => this.onClose());

    const heartbeatMs = opts.heartbeatMs ?? HEARTBEAT_INTERVAL_MS;
    if (heartbeatMs > 0) {
      // The tracker answers one request of a connection at a time: a ping queued behind a slow
      // login must not count as silence, so it gets the longer of two intervals and a request's time.
      const pingTimeoutMs = Math.max(2 * heartbeatMs, this.requestTimeoutMs);
      this.heartbeat = setInterval(() => {
        if (this.pingInFlight) return;
        this.pingInFlight = true;
        this.request('ping', {}, { timeoutMs: pingTimeoutMs })
          .catch((err: unknown) => {
            // Only silence means the tracker is gone; a refused ping (or a closed link) is not this timer's business.
            if (this.closed || !(err instanceof ProtocolError) || err.code !== 'server.timeout') return;
            this.destroy(new ProtocolError('server.timeout', `the tracker did not answer a heartbeat ping within ${pingTimeoutMs} ms`));
          })
          .finally(() => (this.pingInFlight = false));
      }, heartbeatMs);
      this.heartbeat.unref();
    }
  }

  get closed(): boolean {
    return this.isClosed || this.isEnding || this.rawSocket.destroyed;
  }

  request<T extends TrackerRequestType>(
    type: T,
    params: RequestParams<T>,
    opts: { timeoutMs?: number } = {},
  ): Promise<TrackerResult<T>> {
    if (this.closed) return Promise.reject(this.closedError());
    const id = this.nextId++;
    let frame: Buffer;
    try {
      // A mailbox put carries whole envelopes and bundles: a tracker with a mailbox takes bigger frames from a logged-in client.
      frame = encodeFrame({ ...params, id, type }, type === 'mailbox_put' ? MAILBOX_FRAME_LIMIT : TRACKER_FRAME_LIMIT);
    } catch (err) {
      return Promise.reject(err);
    }
    const timeoutMs = opts.timeoutMs ?? this.requestTimeoutMs;
    return new Promise<TrackerResult<T>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new ProtocolError('server.timeout', `the tracker did not answer ${type} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { type, resolve: resolve as (v: unknown) => void, reject, timer });
      this.rawSocket.write(frame);
    });
  }

  /** For tests: writes bytes as they are (garbage, partial frames, oversized headers). */
  sendRaw(bytes: Buffer): void {
    this.rawSocket.write(bytes);
  }

  /** Ends the link gracefully; resolves once it is closed. Safe to call more than once. */
  close(): Promise<void> {
    if (this.isClosed) return Promise.resolve();
    const closed = new Promise<void>((resolve) => this.once('close', () => resolve()));
    if (this.isEnding) return closed;
    this.isEnding = true;
    this.stopHeartbeat();
    this.rawSocket.end();
    setTimeout(() => this.rawSocket.destroy(), CLOSE_GRACE_MS).unref();
    return closed;
  }

  private destroy(reason: Error): void {
    this.closeReason ??= reason;
    this.rawSocket.destroy();
  }

  private onData(chunk: Buffer): void {
    let values: unknown[];
    try {
      values = this.decoder.push(chunk);
    } catch (err) {
      // The stream is out of sync after a bad frame: nothing later on it can be trusted.
      this.destroy(err as Error);
      return;
    }
    for (const value of values) {
      if (this.rawSocket.destroyed) return;
      this.emit('frame', value);
      this.onFrame(value);
    }
  }

  private onFrame(value: unknown): void {
    if (isResponse(value)) return this.onResponse(value as { id: unknown; ok: unknown; error?: unknown });
    if (typeof value === 'object' && value !== null && 'event' in value) {
      let event: TrackerEvent;
      try {
        event = trackerEventSchema.parse(value);
      } catch (err) {
        // An event of a newer tracker, or a malformed one: dropping it keeps the link usable.
        this.emit('warning', err as Error);
        return;
      }
      if (event.event === 'closing') {
        this.closeReason ??= new ProtocolError(event.code, event.message, event.retryAfterMs);
      }
      this.emit('event', event);
      return;
    }
    this.emit('warning', new ProtocolError('request.invalid', 'the tracker sent a frame that is neither a response nor an event'));
  }

  private onResponse(value: { id: unknown; ok: unknown; error?: unknown }): void {
    const pending = typeof value.id === 'number' ? this.pending.get(value.id) : undefined;
    if (!pending) {
      this.emit('warning', new ProtocolError('request.invalid', `a response to no pending request (id ${JSON.stringify(value.id)})`));
      return;
    }
    this.pending.delete(value.id as number);
    clearTimeout(pending.timer);
    if (value.ok === true) {
      try {
        pending.resolve(trackerResultSchemas[pending.type].parse(value));
      } catch (err) {
        pending.reject(new ProtocolError('request.invalid', `the tracker's answer to ${pending.type} is malformed: ${(err as Error).message}`));
      }
      return;
    }
    pending.reject(toProtocolError(value.error));
  }

  private onClose(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.stopHeartbeat();
    const error = this.closedError();
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(id);
      p.reject(error);
    }
    this.emit('close', this.closeReason);
  }

  private closedError(): Error {
    const reason = this.closeReason;
    // When the tracker said why (e.g. slow_consumer, server.shutdown), that is the answer.
    if (reason instanceof ProtocolError) return reason;
    // The link was up: the tracker is reachable, it hung up (or the network dropped) without a word.
    const who = this.isEnding ? 'is closed' : 'was closed by the tracker or the network, without a reason given';
    return new ProtocolError('tracker.unreachable', `the connection to the tracker at ${this.host}:${this.port} ${who}${reason ? `: ${reason.message}` : ''}`, reason ? { cause: reason } : undefined);
  }

  private stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }
}

function toProtocolError(error: unknown): ProtocolError {
  try {
    const body = errorBodySchema.parse(error);
    return new ProtocolError(body.code, body.message, body.retryAfterMs);
  } catch {
    // A code this client does not know (a newer tracker) still fails the request, readably.
    const e = (typeof error === 'object' && error !== null ? error : {}) as { code?: unknown; message?: unknown };
    const code = isErrorCode(e.code) ? e.code : 'internal';
    const message = typeof e.message === 'string' ? e.message.slice(0, 1000) : 'the tracker refused the request';
    return new ProtocolError(code, `${message}${code === 'internal' && typeof e.code === 'string' ? ` (${e.code.slice(0, 64)})` : ''}`);
  }
}
