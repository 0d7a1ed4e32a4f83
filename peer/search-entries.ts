// The search index's entries (peer/search-index.ts): what one message holds and is charged, one
// conversation's entries (and each sender's in it), their order, and which conversations, and which
// senders in them, give up messages when the index is full (a max-min fair share of its budget).

import type { ConversationId } from '../protocol/peer.ts';

/**
 * What one message costs the index besides its characters, in characters: its entry object, its
 * map and array slots, its id and the strings' headers (about 240 bytes measured,
 * test/bench/search-bench.ts). Charged so that short messages cannot hold memory the budget does not see.
 */
export const ENTRY_CHARS = 128;

export class Entry {
  constructor(
    readonly conversation: ConversationId,
    readonly id: string,
    readonly from: string,
    readonly sentAt: number,
    /** The message's text, up to maxCharsPerMessage, and up to where its folding fits in as many. */
    readonly text: string,
    readonly folded: string,
    /** The text was longer than what is kept. */
    readonly cut: boolean,
  ) {}

  /** What it is charged: text, folded text (when not the same string), the entry itself. */
  get chars(): number {
    return this.text.length + (this.folded === this.text ? 0 : this.folded.length) + this.id.length + ENTRY_CHARS;
  }
}

/** One sender's entries in one conversation: their charge, how many, and (once built) oldest first. */
export class Sent {
  chars = 0;
  count = 0;
  /** Oldest first, valid once the index is built (the oldest of the sender holding the most leaves first). */
  list: Entry[] = [];
}

/** One conversation's entries: by id, their charge, and by sender (keyed by the sender's name). */
export class Held {
  readonly ids = new Map<string, Entry>();
  chars = 0;
  readonly senders = new Map<string, Sent>();
}

/** Oldest first: sentAt, then conversation and id (a stable order for equal times). */
export function compare(a: Entry, b: Entry): number {
  return a.sentAt - b.sentAt || (a.conversation < b.conversation ? -1 : a.conversation > b.conversation ? 1 : 0) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/**
 * The holders (conversations, or senders in one) over their fair share when `total` is over `max`
 * (characters), largest first, each with the share it is cut to: the most one may hold so that all
 * fit, the others keeping all they hold (`total`: the sum of their chars). The usual case (the
 * largest alone gives up the excess) is found in one pass.
 */
export function overShare<K, H extends { chars: number }>(byHolder: Map<K, H>, total: number, max: number): [K, H, number][] {
  const excess = total - max;
  let first: [K, H] | undefined;
  let second = 0;
  for (const [holder, held] of byHolder) {
    if (!first || held.chars > first[1].chars) {
      if (first) second = first[1].chars;
      first = [holder, held];
    } else if (held.chars > second) second = held.chars;
  }
  if (!first) return [];
  if (first[1].chars - excess >= second) return [[...first, first[1].chars - excess]];
  const all = [...byHolder].sort((a, b) => b[1].chars - a[1].chars);
  let rest = total;
  let share = 0;
  let k = 0;
  while (k < all.length) {
    rest -= all[k]![1].chars;
    k++;
    share = Math.max(0, Math.floor((max - rest) / k));
    if (k === all.length || share >= all[k]![1].chars) break;
  }
  return all.slice(0, k).map(([holder, held]) => [holder, held, share]);
}

/** Puts `e` in `list` (oldest first): new messages are the newest almost always, so the end is tried first. */
export function insert(list: Entry[], e: Entry): void {
  let lo = 0;
  let hi = list.length;
  if (hi === 0 || compare(list[hi - 1]!, e) < 0) {
    list.push(e);
    return;
  }
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compare(list[mid]!, e) < 0) lo = mid + 1;
    else hi = mid;
  }
  list.splice(lo, 0, e);
}

/** Takes `e` out of `list` (oldest first), when it is there. */
export function unsort(list: Entry[], e: Entry): void {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compare(list[mid]!, e) < 0) lo = mid + 1;
    else hi = mid;
  }
  if (list[lo] === e) list.splice(lo, 1);
}
