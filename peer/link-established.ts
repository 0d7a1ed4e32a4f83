// An established peer link (DESIGN.md "Peer links"): after the handshake every frame is sealed
// with AES-256-GCM under a per-direction key and a counter nonce. A frame out of order (replayed,
// dropped, reordered), one that fails authentication, or bytes that are not frames close this link
// only. Send-side memory is bounded: a peer that stops reading is dropped (`link.slow_consumer`).

import { EventEmitter } from 'node:events';
import type * as net from 'node:net';
import { LINK_ERROR_CODES, type LinkErrorCode, type ProtocolError } from '../protocol/errors.ts';
import { encodeFrame } from '../protocol/frame.ts';
import { handshakeSchema, peerMessageSchema, sealedFrameSchema, type PeerMessage } from '../protocol/peer.ts';
import { FrameReader, MAX_MESSAGE_BYTES, linkError, openPayload, sealPayload, type LinkSession, type ResolvedLinkOptions } from './link-handshake.ts';

/** For tests only: the link's directional keys, to show a sniffer never sees them. */
export const kLinkKeys = Symbol('p2p-chat.linkKeys');

interface PeerLinkEvents {
  message: [msg: PeerMessage];
  /** Emitted once: undefined after close() or a clean end by the peer, else a ProtocolError with a link.* code. */
  close: [reason?: Error];
  /** A message that decrypted but failed peerMessageSchema: dropped, the link stays up. */
  warning: [error: ProtocolError];
  /** The socket's queue emptied (for senders that pace themselves by queuedBytes). */
  drain: [];
}

/**
 * A message object sent to many links (one envelope to every member) is checked and serialized
 * once. Senders must not change a message object after sending it.
 */
const encodedMessages = new WeakMap<object, Buffer>();

export class PeerLink extends EventEmitter<PeerLinkEvents> {
  private corked = false;
  readonly remoteUser: string;
  /** The other side's device (signed in the handshake); undefined for a peer older than devices. */
  readonly remoteDevice: string | undefined;
  readonly initiator: boolean;
  readonly remoteAddress: string;
  readonly [kLinkKeys]: { send: Buffer; recv: Buffer };

  private readonly socket: net.Socket;
  private readonly reader: FrameReader;
  private readonly opts: ResolvedLinkOptions;
  private readonly sendDir: 'i2r' | 'r2i';
  private sendCounter: number;
  private recvCounter: number;
  private isClosed = false;

  /** Made by connectLink and LinkServer once the handshake is done; not for direct use. */
  constructor(reader: FrameReader, session: LinkSession, opts: ResolvedLinkOptions) {
    super();
    this.reader = reader;
    this.socket = reader.socket;
    this.opts = opts;
    this.remoteUser = session.remoteUser;
    this.remoteDevice = session.remoteDevice;
    this.initiator = session.initiator;
    this.remoteAddress = this.socket.remoteAddress ?? '';
    this[kLinkKeys] = { send: session.sendKey, recv: session.recvKey };
    this.sendDir = session.initiator ? 'i2r' : 'r2i';
    this.sendCounter = session.sendCounter;
    this.recvCounter = session.recvCounter;

    this.socket.on('drain', () => this.emit('drain'));
    if (opts.idleTimeoutMs > 0) {
      this.socket.setTimeout(opts.idleTimeoutMs, () =>
        this.close(linkError('link.timeout', `no traffic with ${this.remoteUser} for ${opts.idleTimeoutMs} ms`)));
    }
    // Frames that came with the last handshake frame wait until whoever got this link (from an
    // awaited promise or a 'link' event) has attached its listeners.
    this.socket.pause();
    setImmediate(() => {
      if (this.isClosed) return;
      reader.attach({ frame: (v) => this.onFrame(v), end: (reason) => this.close(reason) });
    });
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Bytes written but not yet taken by the kernel. */
  get queuedBytes(): number {
    return this.socket.writableLength;
  }

  /**
   * Encrypts and writes one sealed frame. Returns false if the link is closed (or just closed
   * because the peer stopped reading). Throws LinkError `link.invalid_message` for a message that
   * fails peerMessageSchema and `link.too_large` for one over MAX_MESSAGE_BYTES; the link stays up.
   */
  send(msg: PeerMessage): boolean {
    if (this.isClosed) return false;
    let plaintext = encodedMessages.get(msg);
    if (!plaintext) {
      try {
        plaintext = Buffer.from(JSON.stringify(peerMessageSchema.parse(msg)), 'utf8');
      } catch (err) {
        throw linkError('link.invalid_message', `cannot send an invalid ${String((msg as { t?: unknown })?.t)} message: ${(err as Error).message}`, { cause: err });
      }
      encodedMessages.set(msg, plaintext);
    }
    if (plaintext.length > MAX_MESSAGE_BYTES) {
      throw linkError('link.too_large', `a ${msg.t} message of ${plaintext.length} bytes is over the ${MAX_MESSAGE_BYTES}-byte link limit`);
    }
    const frame = encodeFrame(sealPayload(this[kLinkKeys].send, this.sendDir, this.sendCounter, plaintext));
    const queued = this.socket.writableLength;
    if (queued > 0 && queued + frame.length > this.opts.maxQueueBytes) {
      this.close(linkError('link.slow_consumer',
        `${this.remoteUser} is not reading (over ${this.opts.maxQueueBytes} bytes waiting to be sent); the link was closed`));
      return false;
    }
    this.sendCounter += 1;
    if (this.corked) {
      this.socket.write(frame);
      return true;
    }
    // The first frame of a turn leaves at once: corking it held a paced message until the rest
    // of the turn (the sender's bookkeeping and its answer to the command) was done. The frames
    // after it in the same turn leave together in one write (a burst to a room is one syscall
    // per link, not one per message).
    this.socket.write(frame);
    this.corked = true;
    this.socket.cork();
    process.nextTick(() => {
      this.corked = false;
      this.socket.uncork();
    });
    return true;
  }

  /** Without a reason: a graceful end (queued frames still go out). With one: destroyed at once. */
  close(reason?: Error): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.reader.stop();
    this.socket.setTimeout(0);
    if (reason || this.socket.destroyed) {
      this.socket.destroy();
    } else {
      this.socket.end();
      const timer = setTimeout(() => this.socket.destroy(), this.opts.closeGraceMs);
      timer.unref();
      this.socket.once('close', () => clearTimeout(timer));
    }
    this.emit('close', reason);
  }

  private onFrame(value: unknown): void {
    if (this.isClosed) return;
    const fail = (what: string, cause?: unknown) =>
      this.close(linkError('link.protocol', `the link with ${this.remoteUser} was closed: ${what}`, { cause }));
    let frame;
    try {
      frame = sealedFrameSchema.parse(value);
    } catch (err) {
      // The responder's link is up once it has sent its proof; the initiator may still refuse it.
      const refused = (value as { t?: unknown } | null)?.t === 'refused' ? refusalOf(value) : undefined;
      if (refused) return this.close(refused);
      return fail(`it sent a frame that is not sealed (${(err as Error).message})`, err);
    }
    if (frame.n !== this.recvCounter) {
      return fail(`frame ${frame.n} arrived where ${this.recvCounter} was due (replayed, dropped or reordered)`);
    }
    let plaintext: Buffer;
    try {
      plaintext = openPayload(this[kLinkKeys].recv, this.initiator ? 'r2i' : 'i2r', frame);
    } catch (err) {
      return fail('a frame failed authentication (tampered with or corrupted on the way)', err);
    }
    this.recvCounter += 1;
    let msg: PeerMessage;
    try {
      msg = peerMessageSchema.parse(JSON.parse(plaintext.toString('utf8')));
    } catch (err) {
      // Authentic but not understood (a newer peer, or a bug): dropping it keeps the link usable.
      this.emit('warning', linkError('link.invalid_message', `${this.remoteUser} sent a message that was dropped: ${(err as Error).message}`, { cause: err }));
      return;
    }
    this.emit('message', msg);
  }
}

/** A `refused` handshake frame arriving on a link we took as established, as the peer's link error. */
function refusalOf(value: unknown): ProtocolError | undefined {
  try {
    const r = handshakeSchema.parse(value);
    if (r.t !== 'refused') return undefined;
    const known = (LINK_ERROR_CODES as readonly string[]).includes(r.code);
    return linkError(known ? (r.code as LinkErrorCode) : 'link.refused',
      `the peer refused the link after the handshake (they said: ${JSON.stringify(r.message)})`);
  } catch {
    return undefined;
  }
}
