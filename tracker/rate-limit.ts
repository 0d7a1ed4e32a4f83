// Failed-login limiter: a token bucket per key (a user name, an address). Each failure takes a
// token; a key with none left is refused before bcrypt runs, even with the right password, until
// a token refills. The clock is passed in, so tests and the bench control time.

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
