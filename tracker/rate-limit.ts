// Rate limits. FailureLimiter: a token bucket per key (accounts created per address, room events
// and joins per user); a key with no token left is refused until one refills. GrowingDelay: the
// per-(name, address) delays of failed logins. FairSlots: bcrypt work shared in turn between
// addresses. LogThrottle: a few log lines per key per interval, with a count of the rest. The
// clock is passed in, so tests and the bench control time.

export interface Clock {
  now(): number;
}

interface Bucket {
  tokens: number;
  updated: number;
}

export class FailureLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly capacity: number,
    private readonly refillMs: number,
    private readonly clock: Clock = Date,
  ) {}

  /** Milliseconds until `key` may try again; 0 when it may try now. */
  retryAfter(key: string): number {
    const bucket = this.refill(key);
    if (!bucket || bucket.tokens >= 1) return 0;
    return Math.ceil((1 - bucket.tokens) * this.refillMs);
  }

  fail(key: string): void {
    const bucket = this.refill(key) ?? { tokens: this.capacity, updated: this.clock.now() };
    bucket.tokens = Math.max(0, bucket.tokens - 1);
    this.buckets.set(key, bucket);
  }

  /** A success forgets the key's failures. */
  succeed(key: string): void {
    this.buckets.delete(key);
  }

  private refill(key: string): Bucket | undefined {
    const bucket = this.buckets.get(key);
    if (!bucket) return undefined;
    const now = this.clock.now();
    bucket.tokens = Math.min(this.capacity, bucket.tokens + (now - bucket.updated) / this.refillMs);
    bucket.updated = now;
    if (bucket.tokens >= this.capacity) this.buckets.delete(key);
    return bucket;
  }
}

export interface GrowingDelayOptions {
  /** Failures allowed before the first delay. */
  free: number;
  /** The first delay; each further failure doubles it. */
  baseMs: number;
  /** No delay is longer than this. */
  maxMs: number;
  /** Keys remembered at most (the oldest are forgotten first), so strangers cannot grow the map. */
  maxKeys?: number;
}

/**
 * Growing delays per key (a user name at an address): after `free` failures the next attempt
 * waits `baseMs`, then twice that after each further failure, up to `maxMs`. A success forgets
 * the key, and so does a quiet spell of twice `maxMs`. Nothing here ever locks: the delay only
 * slows the key that keeps failing.
 */
export class GrowingDelay {
  private readonly entries = new Map<string, { failures: number; last: number }>();

  constructor(
    private readonly opts: GrowingDelayOptions,
    private readonly clock: Clock = Date,
  ) {}

  /** Milliseconds until `key` may try again; 0 when it may try now. */
  retryAfter(key: string): number {
    const entry = this.current(key);
    if (!entry || entry.failures < this.opts.free) return 0;
    return Math.max(0, entry.last + this.delayAfter(entry.failures) - this.clock.now());
  }

  fail(key: string): void {
    const entry = this.current(key) ?? { failures: 0, last: 0 };
    entry.failures++;
    entry.last = this.clock.now();
    // Re-inserted, so the Map's order is least recently failed first.
    this.entries.delete(key);
    this.entries.set(key, entry);
    const max = this.opts.maxKeys ?? 100_000;
    while (this.entries.size > max) this.entries.delete(this.entries.keys().next().value!);
  }

  succeed(key: string): void {
    this.entries.delete(key);
  }

  private delayAfter(failures: number): number {
    const doublings = Math.min(40, failures - this.opts.free);
    return Math.min(this.opts.maxMs, this.opts.baseMs * 2 ** doublings);
  }

  private current(key: string) {
    const entry = this.entries.get(key);
    if (entry && this.clock.now() - entry.last > 2 * this.opts.maxMs) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }
}

/**
 * Shares a few slots of costly work (bcrypt) fairly between keys (client addresses): each key has
 * its own queue, and a freed slot goes to the next key in turn, so one address guessing names gets
 * its share of the work and no more, while a newcomer at another address waits for one turn, not
 * behind the whole flood. Within a key, `urgent` work (a name that has logged in from that address
 * before) goes ahead of the rest. Nothing is refused until a key's own queue holds `maxWaiting`.
 */
export class FairSlots {
  private running = 0;
  private readonly queues = new Map<string, { urgent: (() => void)[]; normal: (() => void)[] }>();

  constructor(
    private readonly slots: number,
    private readonly maxWaiting: number,
  ) {}

  /** Work waiting for `key` now. */
  waiting(key: string): number {
    const q = this.queues.get(key);
    return q ? q.urgent.length + q.normal.length : 0;
  }

  /** Runs `work` in a slot; `full()` is thrown (not waited) when `key` already has maxWaiting queued. */
  async run<T>(key: string, work: () => Promise<T>, opts: { urgent?: boolean; full: () => Error }): Promise<T> {
    if (this.running >= this.slots || this.queues.size) {
      if (this.waiting(key) >= this.maxWaiting) throw opts.full();
      let q = this.queues.get(key);
      if (!q) this.queues.set(key, (q = { urgent: [], normal: [] }));
      await new Promise<void>((resolve) => (opts.urgent ? q.urgent : q.normal).push(resolve));
    } else {
      this.running++;
    }
    try {
      return await work();
    } finally {
      this.next();
    }
  }

  /** Hands the freed slot to the first key in turn (that key then goes to the back). */
  private next(): void {
    const first = this.queues.entries().next();
    if (first.done) {
      this.running--;
      return;
    }
    const [key, q] = first.value;
    const resolve = q.urgent.shift() ?? q.normal.shift()!;
    this.queues.delete(key);
    if (q.urgent.length || q.normal.length) this.queues.set(key, q);
    resolve();
  }
}

/**
 * At most `burst` log lines per key per interval: the events after those within the interval are
 * counted and reported with the next line (`suppressed`), so a flood cannot flood the log, and
 * nothing is hidden either.
 */
export class LogThrottle {
  private readonly seen = new Map<string, { start: number; lines: number; suppressed: number }>();

  constructor(
    private readonly intervalMs: number,
    private readonly burst = 1,
    private readonly maxKeys = 10_000,
    private readonly clock: Clock = Date,
  ) {}

  /** When this event should be logged: the number suppressed before it (to report); else null. */
  take(key: string): number | null {
    const now = this.clock.now();
    let entry = this.seen.get(key);
    if (!entry || now - entry.start >= this.intervalMs) {
      const suppressed = entry?.suppressed ?? 0;
      this.seen.delete(key);
      entry = { start: now, lines: 0, suppressed };
      this.seen.set(key, entry);
      while (this.seen.size > this.maxKeys) this.seen.delete(this.seen.keys().next().value!);
    }
    if (entry.lines >= this.burst) {
      entry.suppressed++;
      return null;
    }
    entry.lines++;
    const suppressed = entry.suppressed;
    entry.suppressed = 0;
    return suppressed;
  }
}
