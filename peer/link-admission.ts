// Admission control for inbound peer links, before the peer has proven who it is (DESIGN.md
// "Peer links"): caps on handshakes under way per address and in total, token buckets for the
// work a stranger can ask for (tracker lookups of names we have not pinned, handshake
// signatures), and a bounded cache of names the tracker did not know. Everything a stranger can
// grow here has a bound; nothing here does I/O except through the lookups it is given.

import type { KeyObject } from 'node:crypto';
import { ProtocolError } from '../protocol/errors.ts';
import { LINK_LIMITS, type LinkLimits } from '../protocol/peer.ts';

export type { LinkLimits };
export function resolveLimits(partial: Partial<LinkLimits> = {}): LinkLimits {
  return { ...LINK_LIMITS, ...partial };
}

/** Per-key entries kept at most; beyond this the least recently used go (they restart full). */
const MAX_KEYS = 4096;

/**
 * A token bucket per key (a remote address) and one for all keys together. A token is taken
 * only when both have one. `burst` tokens at most; `perSecond` come back each second.
 */
export class TokenBuckets {
  private readonly perKey = new Map<string, { tokens: number; at: number }>();
  private readonly total: { tokens: number; at: number };

  constructor(
    private readonly keyBurst: number,
    private readonly keyPerSecond: number,
    private readonly totalBurst: number,
    private readonly totalPerSecond: number,
    private readonly now: () => number = Date.now,
  ) {
    this.total = { tokens: totalBurst, at: now() };
  }

  /** Takes a token for `key` if both buckets have one; false (nothing taken) otherwise. */
  take(key: string): boolean {
    return this.waitMs(key) === 0 && (this.consume(key), true);
  }

  /** Milliseconds until a token for `key` could be taken (0: now; Infinity: never, a zero rate). */
  waitMs(key: string): number {
    const k = this.refill(this.bucket(key), this.keyBurst, this.keyPerSecond);
    const t = this.refill(this.total, this.totalBurst, this.totalPerSecond);
    const need = (b: { tokens: number }, rate: number) => (b.tokens >= 1 ? 0 : rate > 0 ? Math.ceil(((1 - b.tokens) * 1000) / rate) : Infinity);
    return Math.max(need(k, this.keyPerSecond), need(t, this.totalPerSecond));
  }

  /**
   * Waits for a token for `key` and takes it. Resolves false without taking one if `cancelled()`
   * turns true meanwhile (the handshake ended) or the rate is zero.
   */
  async acquire(key: string, cancelled: () => boolean): Promise<boolean> {
    for (;;) {
      if (cancelled()) return false;
      const ms = this.waitMs(key);
      if (ms === 0) {
        this.consume(key);
        return true;
      }
      if (!Number.isFinite(ms)) return false;
      await new Promise((resolve) => setTimeout(resolve, Math.min(ms, 1000)));
    }
  }

  private consume(key: string): void {
    this.bucket(key).tokens -= 1;
    this.total.tokens -= 1;
  }

  private bucket(key: string): { tokens: number; at: number } {
    let b = this.perKey.get(key);
    if (b) {
      this.perKey.delete(key); // re-inserted below: Map order is recency
    } else {
      b = { tokens: this.keyBurst, at: this.now() };
      if (this.perKey.size >= MAX_KEYS) this.perKey.delete(this.perKey.keys().next().value!);
    }
    this.perKey.set(key, b);
    return b;
  }

  private refill(b: { tokens: number; at: number }, burst: number, perSecond: number): { tokens: number; at: number } {
    const now = this.now();
    b.tokens = Math.min(burst, b.tokens + (Math.max(0, now - b.at) * perSecond) / 1000);
    b.at = now;
    return b;
  }
}

/** One handshake under way, counted by PendingHandshakes until released or evicted. */
export interface PendingTicket {
  readonly address: string;
  /** Admission order: lower is older. */
  readonly seq: number;
  /** Stops counting it; idempotent, and nothing after an eviction (that already stopped it). */
  release(): void;
}

/** Why a handshake was evicted: to make room for one from `by`; its address held `held` (itself included). */
export interface Eviction {
  by: string;
  held: number;
}

class Ticket implements PendingTicket {
  counted = true;
  constructor(
    readonly address: string,
    readonly seq: number,
    readonly onEvicted: (why: Eviction) => void,
    private readonly owner: PendingHandshakes,
  ) {}

  release(): void {
    this.owner.remove(this);
  }
}

/**
 * Handshakes under way, per remote address and in total. An address at its cap is refused. When
 * the total is full, a newcomer is not simply refused (a flood from a few addresses would then
 * lock every real peer out): the oldest handshake of the address holding the most is evicted to
 * make room, as long as that address would still hold at least as many as the newcomer's after
 * the swap. A flood from k addresses (k < the total cap) thus shares the cap among them, and
 * floods never evict each other back and forth. A newcomer from an address holding none always
 * gets a slot: if no address holds two or more, the oldest handshake overall is evicted, so a
 * flood from more addresses than the total cap (one idle connection each, reconnecting) pays
 * nothing, while a real peer's handshake, done in tens of milliseconds, is never the oldest for
 * long and survives.
 */
export class PendingHandshakes {
  private readonly perAddress = new Map<string, Set<Ticket>>();
  private count = 0;
  private seq = 0;
  /** Handshakes evicted to make room for a newcomer from a lighter address. */
  evictions = 0;

  constructor(private readonly perAddressCap: number, private readonly totalCap: number) {}

  get total(): number {
    return this.count;
  }

  of(address: string): number {
    return this.perAddress.get(address)?.size ?? 0;
  }

  /**
   * Counts one more from `address`, evicting another handshake if the total is full (its
   * `onEvicted` is called, already uncounted, before this returns); undefined (nothing counted,
   * nothing evicted) when `address` is at its cap or no handshake may be evicted for it.
   */
  admit(address: string, onEvicted: (why: Eviction) => void = () => {}): PendingTicket | undefined {
    if (this.of(address) >= this.perAddressCap) return undefined;
    if (this.count >= this.totalCap) {
      const victim = this.victimFor(address) as Ticket | undefined;
      if (!victim) return undefined;
      const held = this.of(victim.address);
      this.remove(victim);
      this.evictions += 1;
      victim.onEvicted({ by: address, held });
    }
    const ticket = new Ticket(address, this.seq++, onEvicted, this);
    let set = this.perAddress.get(address);
    if (!set) this.perAddress.set(address, (set = new Set()));
    set.add(ticket);
    this.count += 1;
    return ticket;
  }

  /**
   * The handshake a newcomer from `address` would evict if the total were full: the oldest of the
   * address holding the most (of those tied, the one whose oldest is the oldest overall), provided
   * that address holds at least two more than `address` does; failing that, if `address` holds
   * none, the oldest handshake overall (every address then holds one: evicting it leaves its
   * address as light as the newcomer's). A scan of the addresses, at most the total cap of them.
   */
  victimFor(address: string): PendingTicket | undefined {
    let heaviest: Ticket | undefined;
    let most = 0;
    let oldestOverall: Ticket | undefined;
    for (const set of this.perAddress.values()) {
      const oldest: Ticket = set.values().next().value!;
      if (set.size > most || (set.size === most && oldest.seq < heaviest!.seq)) {
        heaviest = oldest;
        most = set.size;
      }
      if (!oldestOverall || oldest.seq < oldestOverall.seq) oldestOverall = oldest;
    }
    const held = this.of(address);
    if (heaviest && most >= held + 2) return heaviest;
    return held === 0 ? oldestOverall : undefined;
  }

  /** @internal Uncounts `ticket` (PendingTicket.release). */
  remove(ticket: Ticket): void {
    if (!ticket.counted) return;
    ticket.counted = false;
    const set = this.perAddress.get(ticket.address)!;
    set.delete(ticket);
    if (set.size === 0) this.perAddress.delete(ticket.address);
    this.count -= 1;
  }
}


/**
 * The responder's key lookup for the name in a hello. A pinned name is answered locally and
 * free. Otherwise the tracker is asked, at most within the lookup budget (per address and in
 * total): concurrent hellos naming the same user share one lookup, and a name the tracker did
 * not know is answered "unknown" from a bounded cache for `unknownNameTtlMs`.
 */
export class KeyLookupGate {
  private readonly budget: TokenBuckets;
  private readonly unknown = new Map<string, number>();
  private readonly inFlight = new Map<string, Promise<KeyObject | undefined>>();
  /** Lookups that went to `remote` (for tests and diagnostics). */
  remoteLookups = 0;

  constructor(
    private readonly local: (user: string) => KeyObject | undefined,
    private readonly remote: (user: string) => Promise<KeyObject | undefined>,
    private readonly limits: LinkLimits,
    private readonly now: () => number = Date.now,
  ) {
    this.budget = new TokenBuckets(limits.lookupBurstPerAddress, limits.lookupPerSecondPerAddress,
      limits.lookupBurstTotal, limits.lookupPerSecondTotal, now);
  }

  /**
   * The pinned signing key of `user`, or undefined if the tracker does not know them. Throws
   * ProtocolError `link.busy` when a tracker lookup would be needed but the budget is spent, and
   * whatever `remote` throws (a tracker error is not cached).
   */
  async lookup(user: string, address: string): Promise<KeyObject | undefined> {
    const known = this.local(user);
    if (known) return known;
    const until = this.unknown.get(user);
    if (until !== undefined) {
      if (until > this.now()) return undefined;
      this.unknown.delete(user);
    }
    const pending = this.inFlight.get(user);
    if (pending) return pending;
    if (!this.budget.take(address)) {
      throw new ProtocolError('link.busy', `too many lookups of unknown users from ${address} or in total; try again in a few seconds`);
    }
    this.remoteLookups += 1;
    const run = this.remote(user).then((key) => {
      if (!key) this.rememberUnknown(user);
      return key;
    }).finally(() => this.inFlight.delete(user));
    this.inFlight.set(user, run);
    return run;
  }

  private rememberUnknown(user: string): void {
    this.unknown.delete(user);
    while (this.unknown.size >= this.limits.unknownNamesMax) this.unknown.delete(this.unknown.keys().next().value!);
    this.unknown.set(user, this.now() + this.limits.unknownNameTtlMs);
  }
}
