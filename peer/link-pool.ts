// The engine's peer links: one listening server, and links to other users opened lazily on the
// first message and re-opened when they drop (DESIGN.md "Peer links"). Messages to one user go
// out in the order they were given, even while the link is still being opened. Hellos naming users
// not pinned here cost tracker lookups only within a budget (link-admission.ts), and refused
// handshakes are reported a few at a time plus one summary per interval (link-refusals.ts).

import type { KeyObject } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { PeerMessage } from '../protocol/peer.ts';
import { KeyLookupGate, resolveLimits, type LinkLimits } from './link-admission.ts';
import { RefusalReporter, type RefusalDetail, type RefusalSummary } from './link-refusals.ts';
import { LinkServer, connectLink, type LinkIdentity, type PeerLink, type PinnedKeyLookup } from './link.ts';
import { SerialInbox } from './serial-inbox.ts';

interface QueuedSend {
  write: (link: PeerLink) => boolean;
  done: (sent: boolean) => void;
}

function safeWrite(write: (link: PeerLink) => boolean, link: PeerLink): boolean {
  try {
    return write(link);
  } catch {
    return false;
  }
}

export interface PeerAddress {
  host: string;
  port: number;
}

export interface LinkPoolOptions {
  /**
   * The key pinned for a user here, without asking anyone (undefined: not pinned). A hello from
   * a name not pinned costs a `pinnedKey` lookup (the tracker), within the lookup budget.
   */
  localKey?: (user: string) => KeyObject | undefined;
  /**
   * The user's address as the tracker has it now, not as last heard: asked when `addressOf`
   * knows none (the peer went offline and may be back already: its new presence can still be on
   * the way) or when dialling the known one failed (a restart at a new port). Undefined: offline.
   */
  freshAddress?: (user: string) => Promise<PeerAddress | undefined>;
  /** Caps and budgets; defaults LINK_LIMITS (protocol/peer.ts). Tests set them lower. */
  limits?: Partial<LinkLimits>;
  now?: () => number;
}

type Events = {
  message: [user: string, message: PeerMessage, link: PeerLink];
  linked: [user: string, link: PeerLink];
  /** A refused inbound handshake; at most `refusalReportsPerInterval` per interval. */
  refused: [detail: RefusalDetail];
  /** The refusals of an interval beyond those reported one by one: at most one per interval. */
  refused_summary: [summary: RefusalSummary];
  /** A peer's frame was dropped (user set), or the listening socket failed (no user). */
  warning: [user: string | undefined, error: Error];
};

export class LinkPool extends EventEmitter<Events> {
  private server?: LinkServer;
  private readonly links = new Map<string, PeerLink[]>();
  private readonly opening = new Map<string, Promise<PeerLink>>();
  /** Sends to one user leave in the order given, also while the link is opening. */
  private readonly sends = new SerialInbox<string, QueuedSend>({ handle: (user, send) => this.sendNow(user, send), cap: Infinity, failed: () => {} });
  private readonly limits: LinkLimits;
  private readonly gate: KeyLookupGate;
  private readonly refusals: RefusalReporter;
  private closed = false;

  constructor(
    private readonly me: LinkIdentity,
    private readonly pinnedKey: PinnedKeyLookup,
    private readonly addressOf: (user: string) => PeerAddress | undefined,
    private readonly options: LinkPoolOptions = {},
  ) {
    super();
    this.limits = resolveLimits(options.limits);
    this.gate = new KeyLookupGate(options.localKey ?? (() => undefined), (user) => pinnedKey(user), this.limits, options.now);
    this.refusals = new RefusalReporter(this.limits.refusalReportsPerInterval, this.limits.refusalIntervalMs,
      (detail) => this.emit('refused', detail), (summary) => this.emit('refused_summary', summary));
  }

  async listen(port: number, host = '0.0.0.0'): Promise<number> {
    this.server = await LinkServer.listen({
      host, port, me: this.me, limits: this.limits,
      pinnedKey: (user, address) => this.gate.lookup(user, address ?? '?'),
      ...(this.options.now ? { now: this.options.now } : {}),
    });
    this.server.on('link', (link: PeerLink) => this.adopt(link));
    this.server.on('warning', (err: Error) => this.emit('warning', undefined, err));
    this.server.on('refused', ({ address, code, message, evicted }) => this.refusals.report({ address, code, message, ...(evicted ? { evicted } : {}) }));
    return this.server.port;
  }

  get port(): number {
    return this.server?.port ?? 0;
  }

  /**
   * Counters of the listening side: handshakes under way, links accepted and open, connections
   * closed at once over a cap, handshakes evicted to make room for another address, tracker
   * lookups made for hellos, and open sockets as the OS sees them.
   */
  async stats(): Promise<{ pending: number; accepted: number; busyRefusals: number; evictions: number; lookups: number; sockets: number }> {
    const s = this.server;
    return {
      pending: s?.pendingCount ?? 0,
      accepted: s?.linkCount ?? 0,
      busyRefusals: s?.busyRefusals ?? 0,
      evictions: s?.evictions ?? 0,
      lookups: this.gate.remoteLookups,
      sockets: s ? await s.connections() : 0,
    };
  }

  /**
   * Runs `write` with the user's current link (opened if needed), in the user's send order.
   * Resolves false (never throws) when the user cannot be reached. The engine uses the link
   * itself to know whether this link has carried a session key yet.
   */
  sendWith(user: string, write: (link: PeerLink) => boolean): Promise<boolean> {
    return new Promise((done) => this.sends.push(user, { write, done }));
  }

  /** One queued send: with an open link it is written in the caller's turn. */
  private sendNow(user: string, send: QueuedSend): void | Promise<void> {
    const link = this.current(user);
    if (link) return send.done(safeWrite(send.write, link));
    return this.open(user).then((opened) => send.done(safeWrite(send.write, opened)), () => send.done(false));
  }

  /** Sends only over a link that is already open (for ephemeral things like typing). */
  sendIfLinked(user: string, message: PeerMessage): boolean {
    return this.current(user)?.send(message) ?? false;
  }

  isLinked(user: string): boolean {
    return this.current(user) !== undefined;
  }

  list(): { user: string; address: string; initiator: boolean }[] {
    return [...this.links.entries()].flatMap(([user, list]) =>
      list.filter((l) => !l.closed).map((l) => ({ user, address: l.remoteAddress, initiator: l.initiator })),
    );
  }

  /** Drops links to a user (their address changed, or they went offline). */
  drop(user: string): void {
    for (const link of this.links.get(user) ?? []) link.close();
    this.links.delete(user);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.refusals.close();
    for (const user of [...this.links.keys()]) this.drop(user);
    await this.server?.close();
  }

  private current(user: string): PeerLink | undefined {
    const list = this.links.get(user);
    if (!list) return undefined;
    for (let i = list.length - 1; i >= 0; i--) if (!list[i].closed) return list[i];
    return undefined;
  }

  private open(user: string): Promise<PeerLink> {
    const pending = this.opening.get(user);
    if (pending) return pending;
    if (this.closed) return Promise.reject(new Error(`${user} is offline`));
    const attempt = this.dial(user).finally(() => this.opening.delete(user));
    this.opening.set(user, attempt);
    return attempt;
  }

  /**
   * Opens a link to the user's address. The address last heard may be stale when a peer has just
   * restarted: its "offline" may have arrived and its new "online" not yet (the tracker tells us
   * and answers the peer's sign-in on different connections, so a send made right after the
   * peer's sign-in can come first), or the old port is still listed. Then the tracker's current
   * address is asked for (`freshAddress`) rather than the send being lost.
   */
  private async dial(user: string): Promise<PeerLink> {
    const known = this.addressOf(user);
    const address = known ?? (await this.options.freshAddress?.(user));
    if (!address) throw new Error(`${user} is offline`);
    try {
      return await this.connect(user, address);
    } catch (err) {
      if (!known || !this.options.freshAddress || this.closed) throw err;
      const fresh = await this.options.freshAddress(user);
      if (!fresh || (fresh.host === address.host && fresh.port === address.port)) throw err;
      return this.connect(user, fresh);
    }
  }

  private async connect(user: string, address: PeerAddress): Promise<PeerLink> {
    if (this.closed) throw new Error(`${user} is offline`);
    const link = await connectLink({
      host: address.host, port: address.port, me: this.me, remoteUser: user, pinnedKey: this.pinnedKey,
      handshakeTimeoutMs: this.limits.handshakeTimeoutMs,
    });
    this.adopt(link);
    return link;
  }

  private adopt(link: PeerLink): void {
    if (this.closed) {
      link.close();
      return;
    }
    const user = link.remoteUser;
    const list = (this.links.get(user) ?? []).filter((l) => !l.closed);
    list.push(link);
    // A few links per user cover both sides dialling at once and restarts whose old links are
    // not yet known dead; many more is a peer opening links in a loop, each holding buffers
    // here: the oldest go.
    while (list.length > this.limits.linksPerUser) list.shift()!.close();
    this.links.set(user, list);
    link.on('message', (msg: PeerMessage) => this.emit('message', user, msg, link));
    link.on('warning', (err: Error) => this.emit('warning', user, err));
    link.on('close', () => {
      const rest = (this.links.get(user) ?? []).filter((l) => l !== link && !l.closed);
      if (rest.length) this.links.set(user, rest);
      else this.links.delete(user);
    });
    this.emit('linked', user, link);
  }
}
