// "Seen by" under my messages: each member's read receipt (ReadMark.upTo, a message id) counts for
// every message up to it, so a member is listed once, under the newest of MY messages they have
// read. Marks naming a message not loaded in the view are not shown (nothing to put them under).
// A mark with `mine` (the receipt said what the reader had) goes no further than that message of
// mine: one that reached them after they read sorts before `upTo` but was not seen; `mine` null
// (none of mine) or not loaded: not shown.

import type { OpenedConversation } from '../protocol/view.ts';

/**
 * Message id -> the members (in the order of `open.reads`) whose newest read message of mine it
 * is. Linear in the timeline's length plus log per mark. Empty without reads.
 */
export function seenBy(open: OpenedConversation | undefined, me: string | undefined): ReadonlyMap<string, readonly string[]> {
  const out = new Map<string, string[]>();
  const reads = open?.reads;
  if (!open || !reads?.length) return out;
  const position = new Map<string, number>();
  /** My messages' positions (ascending) and ids. */
  const mine: number[] = [];
  const mineIds: string[] = [];
  open.timeline.forEach((item, i) => {
    if (item.kind !== 'message') return;
    position.set(item.id, i);
    if (item.mine && !item.deleted) {
      mine.push(i);
      mineIds.push(item.id);
    }
  });
  for (const mark of reads) {
    if (mark.user === me) continue;
    let upTo = position.get(mark.upTo);
    if (upTo === undefined || mark.mine === null) continue;
    if (mark.mine !== undefined) {
      const had = position.get(mark.mine);
      if (had === undefined) continue;
      upTo = Math.min(upTo, had);
    }
    // The last of my positions <= upTo.
    let lo = 0;
    let hi = mine.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (mine[mid]! <= upTo) lo = mid + 1;
      else hi = mid;
    }
    if (lo === 0) continue;
    const id = mineIds[lo - 1]!;
    const users = out.get(id) ?? [];
    users.push(mark.user);
    out.set(id, users);
  }
  return out;
}
