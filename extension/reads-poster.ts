// Members' read positions ("seen by", `reads/changed`) of the conversation the view has open,
// posted at most once per READS_EVERY_MS however many receipts arrive. Each post reads every
// member's receipt from the store (History.reads: 1-90 ms with 20-250 members), and receipts are
// not rate limited at receivers; a conversation not open shows nothing, and gets its reads when it
// opens (ChatModel.opened).

import type { ConversationId } from '../protocol/peer.ts';

/** The least time between two `reads/changed` posts, in ms (the last receipt's state always follows). */
export const READS_EVERY_MS = 250;

export class ReadsPoster {
  /** When the last post went (ms, `now`'s clock); -Infinity: none yet. */
  private lastAt = -Infinity;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** The conversation the pending timer posts for (the last one a receipt came for while open). */
  private pending: ConversationId | undefined;

  /**
   * @param post reads `key`'s positions from the store and posts them to the view.
   * @param open the conversation the view has open now (undefined: none).
   */
  constructor(
    private readonly post: (key: ConversationId) => void,
    private readonly open: () => ConversationId | undefined,
    private readonly now: () => number = Date.now,
  ) {}

  /** A member's receipt of `key` arrived: posted now, or once the interval is over (the state then). */
  changed(key: ConversationId): void {
    if (key !== this.open()) return;
    if (this.timer !== undefined) {
      this.pending = key;
      return;
    }
    const wait = this.lastAt + READS_EVERY_MS - this.now();
    if (wait <= 0) {
      this.send(key);
      return;
    }
    this.pending = key;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const next = this.pending;
      this.pending = undefined;
      // Closed or switched away meanwhile: it is read again when it opens.
      if (next !== undefined && next === this.open()) this.send(next);
    }, wait);
  }

  /** Signed out or a new engine: nothing pending. */
  reset(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = undefined;
    this.lastAt = -Infinity;
  }

  private send(key: ConversationId): void {
    this.lastAt = this.now();
    this.post(key);
  }
}
