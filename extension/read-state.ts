// Read state (issue 12): how far I have read each conversation (unread counts, the last message
// seen, kept across reloads), where the "New messages" line goes when a conversation opens, and
// the read receipts this device sends (engine.markRead), debounced and only when they advance.

import type { ConversationId } from '../protocol/peer.ts';
import type { TimelineItem } from '../protocol/view.ts';

/** Where I stopped reading a conversation, and what came after it. */
export interface ReadMark {
  unread: number;
  mentions: number;
  /** The newest message seen in it (shown while the view was on screen), if any. */
  lastRead?: { id: string; sentAt: number };
}

/** At most this many conversations' marks are kept (the most recently changed). */
export const MAX_READ_MARKS = 2_000;
/** An unread count read back from disk above this is damage (the badge shows "99+" long before). */
const MAX_UNREAD = 1_000_000;
/** A conversation's read receipts go out at most once per this many milliseconds. */
export const RECEIPT_INTERVAL_MS = 2_000;

/** Marks as saved: anything else (an older format, a damaged entry) is dropped, never trusted. */
export function parseReadMarks(raw: unknown): Map<ConversationId, ReadMark> {
  const marks = new Map<ConversationId, ReadMark>();
  if (!Array.isArray(raw)) return marks;
  // A count beyond what any conversation could hold is damage, not data.
  const count = (n: unknown) => (Number.isSafeInteger(n) && (n as number) >= 0 && (n as number) <= MAX_UNREAD ? (n as number) : undefined);
  for (const entry of raw.slice(-MAX_READ_MARKS)) {
    if (!Array.isArray(entry) || typeof entry[0] !== 'string' || entry[0].length > 200 || typeof entry[1] !== 'object' || entry[1] === null) continue;
    const m = entry[1] as Record<string, unknown>;
    const unread = count(m.unread);
    const mentions = count(m.mentions);
    if (unread === undefined || mentions === undefined) continue;
    const last = m.lastRead as Record<string, unknown> | undefined;
    const lastRead = last && typeof last.id === 'string' && last.id.length <= 200 && typeof last.sentAt === 'number' && Number.isFinite(last.sentAt) ? { id: last.id, sentAt: last.sentAt } : undefined;
    marks.set(entry[0], { unread, mentions: Math.min(mentions, unread), ...(lastRead ? { lastRead } : {}) });
  }
  return marks;
}

/**
 * The first message of `items` (oldest first) after my read position `mark`, not mine: the
 * "New messages" line goes above it. Without a position, the `unread`-th newest of other people's
 * messages. Undefined when nothing shown is unread.
 */
export function firstUnread(items: readonly TimelineItem[], mark: ReadMark | undefined): string | undefined {
  // A deleted message is not counted unread (ReadMarks.unreadGone), so it is not counted back here either.
  const others = items.filter((i) => i.kind === 'message' && !i.mine && !i.deleted);
  if (!mark || (mark.unread === 0 && !mark.lastRead)) return undefined;
  const last = mark.lastRead;
  if (last) {
    const at = items.findIndex((i) => i.kind === 'message' && i.id === last.id);
    const after = at >= 0 ? items.slice(at + 1) : items.filter((i) => i.kind === 'message' && i.sentAt > last.sentAt);
    const next = after.find((i) => i.kind === 'message' && !i.mine);
    if (next) return next.id;
    if (at >= 0 || mark.unread === 0) return undefined;
  }
  if (mark.unread === 0 || others.length === 0) return undefined;
  return others[Math.max(0, others.length - mark.unread)]!.id;
}

/**
 * Whether message `id` of `items` (oldest first) is counted unread under `mark`: someone else's,
 * not deleted, and at or after the first unread message (firstUnread). False when `items` does not hold it.
 */
export function countedUnread(items: readonly TimelineItem[], mark: ReadMark | undefined, id: string): boolean {
  const at = items.findIndex((i) => i.kind === 'message' && i.id === id);
  const m = items[at];
  if (!m || m.kind !== 'message' || m.mine || m.deleted || !mark || mark.unread === 0) return false;
  const first = firstUnread(items, mark);
  const from = first === undefined ? -1 : items.findIndex((i) => i.kind === 'message' && i.id === first);
  return from >= 0 && at >= from;
}

/**
 * Unread counts after a read receipt of mine from another device, read up to `upTo`: what the
 * window shows after it (all read when `upTo` is not in the window: it is newer than what is here).
 */
export function unreadAfter(items: readonly TimelineItem[], upTo: string, mentionsOnly = false): number {
  const at = items.findIndex((i) => i.kind === 'message' && i.id === upTo);
  if (at < 0) return 0;
  return items.slice(at + 1).filter((i) => i.kind === 'message' && !i.mine && !i.deleted && (!mentionsOnly || i.mentionsMe)).length;
}

/**
 * Read receipts of this device: `seen(key, id)` when I have read `key` up to message `id`. Sent
 * when it advanced (not the id sent last), at most once per RECEIPT_INTERVAL_MS per conversation
 * (the newest id of the interval goes at its end), never while `enabled()` is false.
 */
export class ReceiptSender {
  private readonly sent = new Map<ConversationId, { id: string; at: number }>();
  private readonly pending = new Map<ConversationId, { id: string; timer: NodeJS.Timeout }>();

  constructor(
    private readonly send: (key: ConversationId, upTo: string) => Promise<unknown>,
    private readonly enabled: () => boolean,
    private readonly failed: (err: unknown) => void,
  ) {}

  seen(key: ConversationId, id: string): void {
    if (!this.enabled()) return;
    const last = this.sent.get(key);
    const waiting = this.pending.get(key);
    if (waiting) {
      waiting.id = id;
      return;
    }
    if (last?.id === id) return;
    const wait = last ? last.at + RECEIPT_INTERVAL_MS - Date.now() : 0;
    if (wait <= 0) return this.fire(key, id);
    const timer = setTimeout(() => {
      const p = this.pending.get(key);
      this.pending.delete(key);
      if (p && this.enabled() && this.sent.get(key)?.id !== p.id) this.fire(key, p.id);
    }, wait);
    this.pending.set(key, { id, timer });
  }

  /** Signed out, or receipts turned off: nothing more goes out (what was sent is remembered until reset). */
  cancel(): void {
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
  }

  reset(): void {
    this.cancel();
    this.sent.clear();
  }

  private fire(key: ConversationId, id: string): void {
    this.sent.delete(key);
    this.sent.set(key, { id, at: Date.now() });
    if (this.sent.size > MAX_READ_MARKS) this.sent.delete(this.sent.keys().next().value!);
    this.send(key, id).catch((err: unknown) => {
      // Not sent: the next read tries again.
      if (this.sent.get(key)?.id === id) this.sent.delete(key);
      this.failed(err);
    });
  }
}

/** Read marks by conversation, saved (through `save`) whenever they change, most recently changed last. */
export class ReadMarks {
  private readonly marks = new Map<ConversationId, ReadMark>();
  /** The "New messages" line of the conversation last opened: above this message, as it was when opened. */
  private unreadLine?: { key: ConversationId; id: string };

  constructor(private readonly save: (marks: [ConversationId, ReadMark][]) => void) {}

  /** Replaces every mark with those read back from disk (checked by parseReadMarks). */
  load(raw: unknown): void {
    this.clear();
    for (const [key, mark] of parseReadMarks(raw)) this.marks.set(key, mark);
  }

  clear(): void {
    this.marks.clear();
    this.unreadLine = undefined;
  }

  /** Where the "New messages" line of `key` goes (set when it was opened), if anywhere. */
  line(key: ConversationId): string | undefined {
    return this.unreadLine?.key === key ? this.unreadLine.id : undefined;
  }

  /**
   * `key` was opened with `items` loaded, read up to `before` until then: the line goes above the
   * first unread. Opened again with nothing new (the view shown again), the line stays where it was.
   */
  placeLine(key: ConversationId, items: readonly TimelineItem[], before: ReadMark | undefined): void {
    const id = firstUnread(items, before);
    if (id !== undefined) this.unreadLine = { key, id };
    else if (this.unreadLine?.key !== key) this.unreadLine = undefined;
  }

  /**
   * My read receipt from another device: read there up to `upTo`, so read here too (what the
   * window `items` shows after it stays unread; never more than before). False when nothing changed.
   */
  readElsewhere(key: ConversationId, items: readonly TimelineItem[], upTo: string): boolean {
    const now = this.counts(key);
    const index = items.findIndex((i) => i.kind === 'message' && i.id === upTo);
    const at = items[index];
    const last = this.marks.get(key)?.lastRead;
    // The position only moves forward (an older receipt says nothing new), in the timeline's
    // order: messages sent in the same millisecond are still one after the other.
    const lastIndex = last ? items.findIndex((i) => i.kind === 'message' && i.id === last.id) : -1;
    const forward = !last || (lastIndex >= 0 ? index > lastIndex : at !== undefined && at.kind === 'message' && at.sentAt > last.sentAt);
    const position = at && at.kind === 'message' && forward ? { id: at.id, sentAt: at.sentAt } : undefined;
    return this.setCounts(key, Math.min(now.unread, unreadAfter(items, upTo)), Math.min(now.mentions, unreadAfter(items, upTo, true)), position);
  }

  get(key: ConversationId): ReadMark | undefined {
    return this.marks.get(key);
  }

  counts(key: ConversationId): { unread: number; mentions: number } {
    const mark = this.marks.get(key);
    return { unread: mark?.unread ?? 0, mentions: mark?.mentions ?? 0 };
  }

  /** All of `key` is read, up to `lastRead` (undefined: the position stays); false when nothing changed. */
  read(key: ConversationId, lastRead: { id: string; sentAt: number } | undefined): boolean {
    const before = this.marks.get(key);
    const position = lastRead ?? before?.lastRead;
    if (before && before.unread === 0 && before.lastRead?.id === position?.id) return false;
    this.put(key, { unread: 0, mentions: 0, ...(position ? { lastRead: position } : {}) });
    return true;
  }

  /** One more unread message in `key` (a mention of me if `mention`). */
  unreadOne(key: ConversationId, mention: boolean): void {
    const c = this.marks.get(key) ?? { unread: 0, mentions: 0 };
    this.put(key, { ...c, unread: c.unread + 1, mentions: c.mentions + (mention ? 1 : 0) });
  }

  /** An unread message of `key` (a mention of me if `mention`) was deleted: one fewer, never below 0; false when nothing changed. */
  unreadGone(key: ConversationId, mention: boolean): boolean {
    const c = this.marks.get(key);
    if (!c || c.unread === 0) return false;
    this.put(key, { ...c, unread: c.unread - 1, mentions: Math.max(0, Math.min(c.mentions - (mention ? 1 : 0), c.unread - 1)) });
    return true;
  }

  /** An unread message of `key` was edited to mention me (`mentions`) or no longer to: one more or one fewer mention, within the unread count; false when nothing changed. */
  mentionChanged(key: ConversationId, mentions: boolean): boolean {
    const c = this.marks.get(key);
    if (!c) return false;
    const next = Math.max(0, Math.min(c.unread, c.mentions + (mentions ? 1 : -1)));
    if (next === c.mentions) return false;
    this.put(key, { ...c, mentions: next });
    return true;
  }

  /** Sets `key`'s counts (a read receipt of mine from another device); false when nothing changed. */
  setCounts(key: ConversationId, unread: number, mentions: number, lastRead?: { id: string; sentAt: number }): boolean {
    const before = this.marks.get(key);
    const position = lastRead ?? before?.lastRead;
    if (before && before.unread === unread && before.mentions === mentions && before.lastRead?.id === position?.id) return false;
    this.put(key, { unread, mentions: Math.min(mentions, unread), ...(position ? { lastRead: position } : {}) });
    return true;
  }

  delete(key: ConversationId): void {
    if (this.marks.delete(key)) this.persist();
  }

  private put(key: ConversationId, mark: ReadMark): void {
    // Map order is insertion order: the most recently changed are last, and kept when trimmed.
    this.marks.delete(key);
    this.marks.set(key, mark);
    this.persist();
  }

  private persist(): void {
    this.save([...this.marks].slice(-MAX_READ_MARKS));
  }
}
