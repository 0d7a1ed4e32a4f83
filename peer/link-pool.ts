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
  user: string;
  /** The device it goes to; undefined: whichever device is linked or listed last. */
  device: string | undefined;
  write: (link: PeerLink) => boolean;
  done: (sent: boolean) => void;
}

/** Devices of one user linked at once at most (each with up to linksPerUser links). */
const MAX_DEVICES_LINKED = 4;
/** A device whose dial failed is not dialled again for this long (ms), unless its address changes. */
const DIAL_RETRY_MS = 3_000;
/** Failed dials remembered at most (the oldest forgotten first). */
const MAX_FAILED_DIALS = 1_000;

/** One device of a user (its sends queue in order, its links are counted apart). */
const endpoint = (user: string, device: string | undefined): string => `${user} ${device ?? ''}`;

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

/** Where one device of a user listens; `device` undefined for a peer older than devices. */
export interface DeviceAddress extends PeerAddress {
  device?: string;
}

/** What an address lookup answers: one address (a peer older than devices), a device list, or nothing (offline). */
export type Addresses = PeerAddress | readonly DeviceAddress[] | undefined;

function listOf(a: Addresses): readonly DeviceAddress[] {
  return a === undefined ? [] : 'host' in a ? [a] : a;
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
  freshAddress?: (user: string) => Promise<Addresses>;
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
  /** When a dial to an endpoint last failed (ms), by endpoint. */
  private readonly failedDials = new Map<string, number>();
  /** Sends to one user leave in the order given, also while the link is opening. */
  private readonly sends = new SerialInbox<string, QueuedSend>({ handle: (_endpoint, send) => this.sendNow(send), cap: Infinity, failed: () => {} });
  private readonly limits: LinkLimits;
  private readonly gate: KeyLookupGate;
  private readonly refusals: RefusalReporter;
  private closed = false;

  constructor(
    private readonly me: LinkIdentity,
    private readonly pinnedKey: PinnedKeyLookup,
    private readonly addressOf: (user: string) => Addresses,
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
   * Runs `write` with a link to every device of the user (opened if needed), in the order sends
   * to that device were given: the devices the tracker lists and those linked now, never this
   * device itself. Resolves true when at least one device took it, false (never throws) when none
   * could be reached. The engine uses the link itself to know whether it has carried a session key.
   */
  sendWith(user: string, write: (link: PeerLink) => boolean): Promise<boolean> {
    const devices = this.devicesOf(user);
    if (!devices.length) {
      // My own other devices are only ever the listed or linked ones; anyone else may be dialled
      // from a fresh lookup (a restart whose presence has not reached us yet).
      if (user === this.me.user) return Promise.resolve(false);
      devices.push(undefined);
    }
    const sent = devices.map((device) => new Promise<boolean>((done) => this.sends.push(endpoint(user, device), { user, device, write, done })));
    return Promise.all(sent).then((results) => results.includes(true));
  }

  /** The user's devices to send to: listed by the tracker or linked now, without this device. */
  private devicesOf(user: string): (string | undefined)[] {
    const out = new Set<string | undefined>();
    const listed = listOf(this.addressOf(user));
    for (const a of listed) out.add(a.device);
    // Linked devices the tracker does not list count only while it lists none of the user's (it
    // may be the one in trouble); a device it dropped from a live list (logged out, everywhere
    // included) gets nothing more.
    if (!listed.some((a) => a.device !== undefined)) for (const l of this.links.get(user) ?? []) if (!l.closed) out.add(l.remoteDevice);
    if (user === this.me.user) {
      out.delete(this.me.device);
      out.delete(undefined);
    }
    // A device-less entry (a peer older than devices) is the same peer as any named one of it.
    if (out.size > 1) out.delete(undefined);
    return [...out];
  }

  /** One queued send: with an open link it is written in the caller's turn. */
  private sendNow(send: QueuedSend): void | Promise<void> {
    const link = this.current(send.user, send.device);
    if (link) return send.done(safeWrite(send.write, link));
    // A device that just could not be dialled is not dialled again for every message meanwhile
    // (the outbox retries; a new address clears this: drop()).
    const key = endpoint(send.user, send.device);
    const failed = this.failedDials.get(key);
    if (failed !== undefined && this.now() - failed < DIAL_RETRY_MS) return send.done(false);
    return this.open(send.user, send.device).then((opened) => {
      this.failedDials.delete(key);
      send.done(safeWrite(send.write, opened));
    }, (err) => {
      if (process.env.P2P_TRACE) console.error(`[trace] ${this.me.user} dial ${send.user} ${send.device}: ${(err as Error).message}`);
      this.failedDials.delete(key);
      this.failedDials.set(key, this.now());
      if (this.failedDials.size > MAX_FAILED_DIALS) this.failedDials.delete(this.failedDials.keys().next().value!);
      send.done(false);
    });
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  /** Sends only over a link that is already open (for ephemeral things like typing). */
  sendIfLinked(user: string, message: PeerMessage): boolean {
    let sent = false;
    for (const device of new Set((this.links.get(user) ?? []).filter((l) => !l.closed).map((l) => l.remoteDevice))) {
      if (this.current(user, device)?.send(message)) sent = true;
    }
    return sent;
  }

  isLinked(user: string): boolean {
    return this.current(user) !== undefined;
  }

  list(): { user: string; device?: string; address: string; initiator: boolean }[] {
    return [...this.links.entries()].flatMap(([user, list]) =>
      list.filter((l) => !l.closed).map((l) => ({ user, ...(l.remoteDevice ? { device: l.remoteDevice } : {}), address: l.remoteAddress, initiator: l.initiator })),
    );
  }

  /** Drops links to a user, or to one device of theirs (its address changed, or it went offline). */
  drop(user: string, device?: string): void {
    for (const key of [...this.failedDials.keys()]) if (key === endpoint(user, device) || (device === undefined && key.startsWith(`${user} `))) this.failedDials.delete(key);
    const list = this.links.get(user) ?? [];
    const gone = device === undefined ? list : list.filter((l) => l.remoteDevice === device);
    for (const link of gone) link.close();
    const rest = list.filter((l) => !gone.includes(l));
    if (rest.length) this.links.set(user, rest);
    else this.links.delete(user);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.refusals.close();
    for (const user of [...this.links.keys()]) this.drop(user);
    await this.server?.close();
  }

  /** The newest open link to the device (any device of the user when undefined). */
  private current(user: string, device?: string): PeerLink | undefined {
    const list = this.links.get(user);
    if (!list) return undefined;
    for (let i = list.length - 1; i >= 0; i--) if (!list[i].closed && (device === undefined || list[i].remoteDevice === device)) return list[i];
    return undefined;
  }

  private open(user: string, device: string | undefined): Promise<PeerLink> {
    const key = endpoint(user, device);
    const pending = this.opening.get(key);
    if (pending) return pending;
    if (this.closed) return Promise.reject(new Error(`${user} is offline`));
    const attempt = this.dial(user, device).finally(() => this.opening.delete(key));
    this.opening.set(key, attempt);
    return attempt;
  }

  /**
   * Opens a link to the device's address (the newest listed when `device` is undefined). The
   * address last heard may be stale when a peer has just restarted: its "offline" may have
   * arrived and its new "online" not yet (the tracker tells us and answers the peer's sign-in on
   * different connections, so a send made right after the peer's sign-in can come first), or the
   * old port is still listed. Then the tracker's current address is asked for (`freshAddress`)
   * rather than the send being lost.
   */
  private async dial(user: string, device: string | undefined): Promise<PeerLink> {
    const pick = (a: Addresses): DeviceAddress | undefined => {
      const list = listOf(a);
      return device === undefined ? list[list.length - 1] : list.find((d) => d.device === device);
    };
    const known = pick(this.addressOf(user));
    const address = known ?? pick(await this.options.freshAddress?.(user));
    if (!address) throw new Error(`${user} is offline`);
    try {
      return await this.connect(user, address);
    } catch (err) {
      if (!known || !this.options.freshAddress || this.closed) throw err;
      const fresh = pick(await this.options.freshAddress(user));
      if (!fresh || (fresh.host === address.host && fresh.port === address.port)) throw err;
      return this.connect(user, fresh);
    }
  }

  private async connect(user: string, address: DeviceAddress): Promise<PeerLink> {
    if (this.closed) throw new Error(`${user} is offline`);
    const link = await connectLink({
      host: address.host, port: address.port, me: this.me, remoteUser: user, pinnedKey: this.pinnedKey,
      ...(address.device !== undefined ? { remoteDevice: address.device } : {}),
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
    let list = (this.links.get(user) ?? []).filter((l) => !l.closed);
    list.push(link);
    // A few links per device cover both sides dialling at once and restarts whose old links are
    // not yet known dead; many more is a peer opening links in a loop, each holding buffers
    // here: the oldest go.
    const same = list.filter((l) => l.remoteDevice === link.remoteDevice);
    for (const old of same.slice(0, Math.max(0, same.length - this.limits.linksPerUser))) old.close();
    list = list.filter((l) => !l.closed);
    // A device id is the peer's claim: a hostile one naming a new device in every hello is still
    // bounded, by user.
    while (list.length > this.limits.linksPerUser * MAX_DEVICES_LINKED) list.shift()!.close();
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
