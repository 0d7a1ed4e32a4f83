// Peer links (DESIGN.md "Peer links"): TCP between two users, opened by the handshake in
// link-handshake.ts, then every frame sealed with AES-256-GCM under a per-direction key and a
// counter nonce. A frame out of order (replayed, dropped, reordered), one that fails
// authentication, or bytes that are not frames close that link only; a server keeps serving.
// Send-side memory is bounded: a peer that stops reading is dropped (`link.slow_consumer`).
// Before a peer has proven who it is, a server holds little for it (link-admission.ts): handshakes
// under way are capped per address and in total (more are closed at once, or with the total full
// the oldest of the heaviest address makes room for a lighter one), cut at a deadline, and
// buffer at most HANDSHAKE_FRAME_LIMIT; signing waits for a budget.

import { EventEmitter } from 'node:events';
import * as net from 'node:net';
import { LINK_ERROR_CODES, ProtocolError, areaOf, isCoded, type LinkErrorCode } from '../protocol/errors.ts';
import { encodeFrame } from '../protocol/frame.ts';
import { HANDSHAKE_FRAME_LIMIT, handshakeSchema, peerMessageSchema, sealedFrameSchema, type PeerMessage } from '../protocol/peer.ts';
import { PendingHandshakes, TokenBuckets, resolveLimits, type LinkLimits } from './link-admission.ts';
import { evictionMessage } from './link-refusals.ts';
import {
  FrameReader, MAX_MESSAGE_BYTES, isRefusal, linkError, openPayload, resolveOptions, runInitiator, runResponder, sealPayload,
  type LinkIdentity, type LinkOptions, type LinkSession, type PinnedKeyLookup, type ResolvedLinkOptions,
} from './link-handshake.ts';

export {
  DEFAULT_HANDSHAKE_TIMEOUT_MS, DEFAULT_MAX_QUEUE_BYTES, MAX_MESSAGE_BYTES,
  type LinkErrorCode, type LinkIdentity, type LinkOptions, type PinnedKeyLookup,
} from './link-handshake.ts';

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

// ---- opening links ---------------------------------------------------------------------------

/** Ends a failed handshake: a refusal is flushed to the peer first, anything else is cut at once. */
function abandon(socket: net.Socket, err: unknown, graceMs: number): void {
  if (isRefusal(err) && !socket.destroyed) {
    socket.end();
    setTimeout(() => socket.destroy(), graceMs).unref();
  } else {
    socket.destroy();
  }
}

/** Runs `handshake` under the handshake deadline, telling the peer if it ran out. */
function withDeadline<T>(reader: FrameReader, ms: number, what: string, handshake: Promise<T>): Promise<T> {
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

export async function connectLink(
  opts: { host: string; port: number; me: LinkIdentity; remoteUser: string; remoteDevice?: string; pinnedKey: PinnedKeyLookup } & LinkOptions,
): Promise<PeerLink> {
  const { host, port, me, remoteUser } = opts;
  const o = resolveOptions(opts);
  const remoteKey = await opts.pinnedKey(remoteUser).catch((err: unknown) => {
    throw linkError('link.unknown_user', `could not look up the key pinned for ${remoteUser}: ${(err as Error)?.message}`, { cause: err });
  });
  if (!remoteKey) {
    throw linkError('link.unknown_user', `${remoteUser} is not a known user here (no pinned key), so a link to them cannot be verified`);
  }
  const socket = net.connect({ host, port });
  socket.setNoDelay(true);
  const reader = new FrameReader(socket, remoteUser);
  const where = `${remoteUser} at ${host}:${port}`;
  const connected = new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', (err: NodeJS.ErrnoException) =>
      reject(linkError(err.code === 'ECONNREFUSED' ? 'link.refused' : 'link.closed',
        `could not reach ${where} (${err.code ?? err.message}): they may be offline`, { cause: err })));
  });
  try {
    const session = await withDeadline(reader, o.handshakeTimeoutMs, where,
      connected.then(() => runInitiator(reader, me, remoteUser, remoteKey, opts.remoteDevice)));
    return new PeerLink(reader, session, o);
  } catch (err) {
    reader.stop();
    abandon(socket, err, o.closeGraceMs);
    throw err;
  }
}

interface LinkServerEvents {
  /** A link whose handshake completed. */
  link: [link: PeerLink];
  /**
   * An inbound connection that did not become a link (garbage, unknown user, bad signature,
   * timeout, or `link.busy`: over a cap, closed before any work, or evicted to make room for a
   * newcomer from a lighter address: `evicted`). One per connection: a caller that shows
   * them to people must aggregate (see link-refusals.ts).
   */
  refused: [info: { address: string; port: number; code: LinkErrorCode; message: string; evicted?: boolean }];
  /** The listening socket reported an error after it started; the server keeps going. */
  warning: [error: Error];
}

export interface LinkServerOptions extends LinkOptions {
  host?: string;
  port: number;
  me: LinkIdentity;
  /** Gets the remote address as its second argument (for lookup budgets). */
  pinnedKey: PinnedKeyLookup;
  /** Caps and budgets of unauthenticated connections; defaults LINK_LIMITS (protocol/peer.ts). */
  limits?: Partial<LinkLimits>;
  /** Clock of the signature budget, in ms. */
  now?: () => number;
}

export class LinkServer extends EventEmitter<LinkServerEvents> {
  private readonly links = new Set<PeerLink>();
  private readonly handshaking = new Set<net.Socket>();
  private readonly pending: PendingHandshakes;
  private readonly signing: TokenBuckets;
  private isClosing = false;
  private readonly limits: LinkLimits;
  /** Connections closed at once because a pending cap was reached. */
  busyRefusals = 0;

  private constructor(
    private readonly server: net.Server,
    private readonly me: LinkIdentity,
    private readonly pinnedKey: PinnedKeyLookup,
    private readonly opts: ResolvedLinkOptions,
    limits: LinkLimits,
    now: () => number,
  ) {
    super();
    this.pending = new PendingHandshakes(limits.pendingPerAddress, limits.pendingTotal);
    this.limits = limits;
    this.signing = new TokenBuckets(limits.signBurstPerAddress, limits.signPerSecondPerAddress, limits.signBurstTotal, limits.signPerSecondTotal, now);
    server.on('connection', (socket) => this.accept(socket));
  }

  static async listen(opts: LinkServerOptions): Promise<LinkServer> {
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port, opts.host ?? '0.0.0.0', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const limits = resolveLimits(opts.limits);
    const linkServer = new LinkServer(server, opts.me, opts.pinnedKey,
      resolveOptions({ handshakeTimeoutMs: limits.handshakeTimeoutMs, ...opts }), limits, opts.now ?? Date.now);
    server.on('error', (err) => linkServer.emit('warning', err));
    return linkServer;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  /** Connections whose handshake is under way (unauthenticated). */
  get pendingCount(): number {
    return this.pending.total;
  }

  /** Handshakes under way that were cut to make room for a newcomer from a lighter address. */
  get evictions(): number {
    return this.pending.evictions;
  }

  /** Established links this server accepted and that are still open. */
  get linkCount(): number {
    return this.links.size;
  }

  /** Every open socket of the listening server (pending, established, closing), as the OS sees it. */
  connections(): Promise<number> {
    return new Promise((resolve, reject) => this.server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
  }

  /** Stops listening, ends every link and cuts every unfinished handshake. */
  async close(): Promise<void> {
    this.isClosing = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.handshaking) socket.destroy();
    for (const link of this.links) link.close();
    await closed;
  }

  private accept(socket: net.Socket): void {
    if (this.isClosing) {
      socket.destroy();
      return;
    }
    const address = socket.remoteAddress ?? '?';
    const port = socket.remotePort ?? 0;
    // Over a cap: closed before any work (no reader, no timer, no reply). With the total cap full,
    // a newcomer from a lighter address evicts the oldest handshake of the heaviest one instead.
    let evict!: (err: ProtocolError) => void;
    const evicted = new Promise<never>((_, reject) => {
      evict = reject;
    });
    const ticket = this.pending.admit(address, ({ by, held }) => {
      // Told why, then cut at once: an evicted socket no longer counts, so it must not linger.
      reader.write({ t: 'refused', code: 'link.busy', message: 'busy: too many handshakes under way from your address; try again in a few seconds' });
      evict(new ProtocolError('link.busy', evictionMessage(`${address}:${port}`, held, by), { details: { evicted: true } }));
      socket.destroy(); // also one whose refusal was still being flushed (it no longer counts)
    });
    if (!ticket) {
      socket.on('error', () => {});
      socket.destroy();
      this.busyRefusals += 1;
      const n = this.pending.of(address);
      this.emit('refused', {
        address, port, code: 'link.busy',
        message: `closed a connection from ${address}:${port} at once: ${n} handshakes from that address ` +
          `and ${this.pending.total} in all are already under way` +
          (n >= this.limits.pendingPerAddress ? ' (the cap per address)' : ' (the total cap; no address holds enough more to give one up)'),
      });
      return;
    }
    socket.setNoDelay(true);
    const reader = new FrameReader(socket, `${address}:${port}`);
    reader.handshakeLimit = HANDSHAKE_FRAME_LIMIT;
    this.handshaking.add(socket);
    // A failed handshake counts until its socket is really closed (a refusal lingers up to
    // closeGraceMs while it is flushed); an established link stops counting at once, an evicted
    // one when it is evicted.
    const release = () => ticket.release();
    socket.once('close', release);
    let done = false;
    const finished = () => {
      done = true;
      this.handshaking.delete(socket);
    };
    withDeadline(reader, this.opts.handshakeTimeoutMs, `the peer at ${address}:${port}`,
      Promise.race([evicted, runResponder(reader, this.me, {
        lookup: (user) => this.pinnedKey(user, address),
        beforeSign: () => this.signing.acquire(address, () => done || socket.destroyed),
      }, `${address}:${port}`)]))
      .then((session) => {
        // A 'link' listener that throws is a bug of the caller's and surfaces as such.
        finished();
        release();
        if (this.isClosing || socket.destroyed) {
          socket.destroy();
          return;
        }
        reader.handshakeLimit = undefined; // authenticated: full-size frames from now on
        const link = new PeerLink(reader, session, this.opts);
        this.links.add(link);
        link.once('close', () => this.links.delete(link));
        this.emit('link', link);
      }, (err: unknown) => {
        finished();
        reader.stop();
        abandon(socket, err, this.opts.closeGraceMs);
        const e = isCoded(err) && areaOf(err.code) === 'link' ? err : linkError('link.protocol', String(err), { cause: err });
        this.emit('refused', { address, port, code: e.code as LinkErrorCode, message: e.message, ...(e.details?.evicted ? { evicted: true } : {}) });
      });
  }
}
