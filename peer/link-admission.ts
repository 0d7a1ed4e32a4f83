// Admission control for inbound peer links, before the peer has proven who it is (DESIGN.md
// "Peer links"): caps on handshakes under way per address and in total, token buckets for the
// work a stranger can ask for (tracker lookups of names we have not pinned, handshake
// signatures), and a bounded cache of names the tracker did not know. Everything a stranger can
// grow here has a bound; nothing here does I/O except through the lookups it is given.

import type { KeyObject } from 'node:crypto';
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

/** Handshakes under way, per remote address and in total. */
export class PendingHandshakes {
  private readonly perAddress = new Map<string, number>();
  private count = 0;

  constructor(private readonly perAddressCap: number, private readonly totalCap: number) {}

  get total(): number {
    return this.count;
  }

  of(address: string): number {
    return this.perAddress.get(address) ?? 0;
  }

  /** Counts one more from `address`, or returns false (nothing counted) when a cap is reached. */
  admit(address: string): boolean {
    const n = this.of(address);
    if (this.count >= this.totalCap || n >= this.perAddressCap) return false;
    this.perAddress.set(address, n + 1);
    this.count += 1;
    return true;
  }

  release(address: string): void {
    const n = this.of(address);
    if (n <= 0) return;
    if (n === 1) this.perAddress.delete(address);
    else this.perAddress.set(address, n - 1);
    this.count -= 1;
  }
}

/** Thrown by a gated lookup when the budget is spent; the handshake is refused with `link.busy`. */
export class LookupBudgetError extends Error {
  readonly code = 'link.busy';
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
   * LookupBudgetError when a tracker lookup would be needed but the budget is spent, and
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
      throw new LookupBudgetError(`too many lookups of unknown users from ${address} or in total; try again in a few seconds`);
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
