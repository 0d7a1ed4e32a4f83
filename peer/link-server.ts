// Accepting links (the responder's side). Before a peer has proven who it is, a server holds little
// for it (link-admission.ts): handshakes under way are capped per address and in total (more are
// closed at once, or with the total full the oldest of the heaviest address makes room for a
// lighter one), cut at a deadline, and buffer at most HANDSHAKE_FRAME_LIMIT; signing waits for a
// budget. A failed handshake or a broken link never stops the server.

import { EventEmitter } from 'node:events';
import * as net from 'node:net';
import { ProtocolError, areaOf, isCoded, type LinkErrorCode } from '../protocol/errors.ts';
import { HANDSHAKE_FRAME_LIMIT } from '../protocol/peer.ts';
import { PendingHandshakes, TokenBuckets, resolveLimits, type LinkLimits } from './link-admission.ts';
import { abandon, withDeadline } from './link-deadline.ts';
import { PeerLink } from './link-established.ts';
import { FrameReader, linkError, resolveOptions, runResponder, type LinkIdentity, type LinkOptions, type PinnedKeyLookup, type ResolvedLinkOptions } from './link-handshake.ts';
import { evictionMessage } from './link-refusals.ts';

export interface LinkServerEvents {
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
        if (isCoded(err) && err.details?.gaveUp) return; // the peer stopped, not us: nothing refused
        const e = isCoded(err) && areaOf(err.code) === 'link' ? err : linkError('link.protocol', String(err), { cause: err });
        this.emit('refused', { address, port, code: e.code as LinkErrorCode, message: e.message, ...(e.details?.evicted ? { evicted: true } : {}) });
      });
  }
}
