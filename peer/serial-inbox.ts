// Work handled one item at a time per key, in order: a peer's messages (a session key must be in
// place before the envelopes that need it) and the sends to one user (they leave in the order
// they were given, also while the link is still opening). A lane holds at most `cap` items; a
// key that exceeds it is flooding, and the caller decides what that costs (the engine drops the
// link). The fast path runs an item at once, in the caller's turn, without a promise per item.

export interface SerialInboxOptions<K, T> {
  /** Handles one item; the next item of the same key waits for a returned promise. */
  handle: (key: K, item: T) => void | Promise<void>;
  /** Items one key may have waiting (including the one being handled). */
  cap: number;
  /** A handler threw or rejected; the lane goes on with the next item. */
  failed: (err: unknown, key: K) => void;
}

/** Handled slots a busy lane keeps before it cuts them (when they are also over half of it). */
const COMPACT_AFTER = 1024;

interface Lane<T> {
  items: (T | undefined)[];
  /** Index of the next item to handle. */
  next: number;
  running: boolean;
}

export class SerialInbox<K, T> {
  private readonly lanes = new Map<K, Lane<T>>();

  constructor(private readonly opts: SerialInboxOptions<K, T>) {}

  /** Items of `key` not yet handled to the end (0 when idle). */
  waiting(key: K): number {
    const lane = this.lanes.get(key);
    return lane ? lane.items.length - lane.next + (lane.running ? 1 : 0) : 0;
  }

  /** Queues an item after the key's earlier ones. False (nothing queued) when the lane is full. */
  push(key: K, item: T): boolean {
    const lane = this.lane(key);
    if (this.waiting(key) + 1 > this.opts.cap) return false;
    lane.items.push(item);
    if (!lane.running) void this.drain(key, lane);
    return true;
  }

  /**
   * Queues items ahead of what the key has waiting, after its first `skip` waiting items (they
   * arrived before the rest: messages that waited for room events). All or nothing: false when
   * they would overfill the lane.
   */
  pushFront(key: K, items: T[], skip = 0): boolean {
    if (!items.length) return true;
    const lane = this.lane(key);
    if (this.waiting(key) + items.length > this.opts.cap) return false;
    lane.items.splice(Math.min(lane.next + skip, lane.items.length), 0, ...items);
    if (!lane.running) void this.drain(key, lane);
    return true;
  }

  /** Forgets what waits (items being handled finish). */
  clear(): void {
    for (const lane of this.lanes.values()) lane.items.length = lane.next = 0;
    this.lanes.clear();
  }

  private lane(key: K): Lane<T> {
    let lane = this.lanes.get(key);
    if (!lane) {
      lane = { items: [], next: 0, running: false };
      this.lanes.set(key, lane);
    }
    return lane;
  }

  private async drain(key: K, lane: Lane<T>): Promise<void> {
    lane.running = true;
    while (lane.next < lane.items.length) {
      const item = lane.items[lane.next] as T;
      lane.items[lane.next++] = undefined;
      // A lane that never goes idle would keep its handled slots for ever: cut them now and then.
      if (lane.next > COMPACT_AFTER && lane.next * 2 > lane.items.length) {
        lane.items.splice(0, lane.next);
        lane.next = 0;
      }
      try {
        const done = this.opts.handle(key, item);
        if (done) await done;
      } catch (err) {
        this.opts.failed(err, key);
      }
    }
    lane.items.length = lane.next = 0;
    lane.running = false;
    if (this.lanes.get(key) === lane) this.lanes.delete(key);
  }
}
