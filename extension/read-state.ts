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
  /**
   * The unread messages by arrival (oldest arrival first, the newest MAX_ARRIVED): a late one sits
   * above `lastRead` in the timeline and is still unread. `unread` beyond these (an older save, or
   * more than MAX_ARRIVED) are counted by position: after `lastRead`.
   */
  arrived?: Arrived[];
}

/** An unread message as it arrived: its id, its place in the timeline (`sentAt`, ms), whether it mentions me. */
export interface Arrived {
  id: string;
  sentAt: number;
  mention?: true;
}

/** At most this many unread messages of a conversation are kept by id (ReadMark.arrived). */
export const MAX_ARRIVED = 100;

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
    const arrived = parseArrived(m.arrived, unread);
    marks.set(entry[0], { unread, mentions: Math.min(mentions, unread), ...(lastRead ? { lastRead } : {}), ...(arrived.length ? { arrived } : {}) });
  }
  return marks;
}

/** Saved ReadMark.arrived: the well-formed entries, the newest at most `unread` (and MAX_ARRIVED). */
function parseArrived(raw: unknown, unread: number): Arrived[] {
  if (!Array.isArray(raw) || unread === 0) return [];
  const out: Arrived[] = [];
  for (const a of raw.slice(-MAX_ARRIVED * 2)) {
    const e = a as Record<string, unknown> | null;
    if (!e || typeof e.id !== 'string' || e.id.length > 200 || typeof e.sentAt !== 'number' || !Number.isFinite(e.sentAt)) continue;
    out.push({ id: e.id, sentAt: e.sentAt, ...(e.mention === true ? { mention: true as const } : {}) });
  }
  return out.slice(-Math.min(unread, MAX_ARRIVED));
}

/** Unread messages of `mark` not kept by id (counted by position instead). */
function untracked(mark: ReadMark): { unread: number; mentions: number } {
  const arrived = mark.arrived ?? [];
  return { unread: Math.max(0, mark.unread - arrived.length), mentions: Math.max(0, mark.mentions - arrived.filter((a) => a.mention).length) };
}

/**
 * The first unread message of `items` (oldest first) under `mark`: the "New messages" line goes
 * above it. The earliest in the timeline of those kept by arrival (mark.arrived) and, for the
 * unread counted by position, of the first after my read position (without a position, the
 * `unread`-th newest of other people's messages). Undefined when nothing shown is unread.
 */
export function firstUnread(items: readonly TimelineItem[], mark: ReadMark | undefined): string | undefined {
  if (!mark) return undefined;
  const ids = new Set((mark.arrived ?? []).map((a) => a.id));
  const byArrival = items.find((i) => i.kind === 'message' && ids.has(i.id) && !i.mine && !i.deleted);
  // Every unread one kept by arrival: my read position says nothing more (a late one sits above it).
  const byPosition = mark.arrived?.length && untracked(mark).unread === 0 ? undefined : firstByPosition(items, { ...mark, unread: untracked(mark).unread });
  if (!byArrival || byPosition === undefined) return byArrival?.id ?? byPosition;
  return items.indexOf(byArrival) <= items.findIndex((i) => i.kind === 'message' && i.id === byPosition) ? byArrival.id : byPosition;
}

/** The first message of `items` after my read position `mark`, not mine (firstUnread, by position only). */
function firstByPosition(items: readonly TimelineItem[], mark: ReadMark): string | undefined {
  // A deleted message is not counted unread (ReadMarks.unreadGone), so it is not counted back here either.
  const others = items.filter((i) => i.kind === 'message' && !i.mine && !i.deleted);
  if (mark.unread === 0 && !mark.lastRead) return undefined;
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
 * not deleted, and kept by arrival (mark.arrived) or, for those counted by position, at or after
 * the first unread message. False when `items` does not hold it.
 */
export function countedUnread(items: readonly TimelineItem[], mark: ReadMark | undefined, id: string): boolean {
  const at = items.findIndex((i) => i.kind === 'message' && i.id === id);
  const m = items[at];
  if (!m || m.kind !== 'message' || m.mine || m.deleted || !mark || mark.unread === 0) return false;
  if (mark.arrived?.some((a) => a.id === id)) return true;
  if (mark.arrived?.length && untracked(mark).unread === 0) return false;
  const first = firstByPosition(items, { ...mark, unread: untracked(mark).unread });
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

/** Sender -> the index in `items` of the newest of `ids` (a receipt's `had`) that is theirs there. */
function newestBySender(items: readonly TimelineItem[], ids: readonly string[]): Map<string, number> {
  const wanted = new Set(ids);
  const at = new Map<string, number>();
  items.forEach((item, i) => {
    if (item.kind === 'message' && wanted.has(item.id)) at.set(item.from, Math.max(i, at.get(item.from) ?? -1));
  });
  return at;
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
   * first unread. Opened again with nothing new (the view shown again), the line stays where it was;
   * with unread messages none of `items` holds (older than the window), it goes.
   */
  placeLine(key: ConversationId, items: readonly TimelineItem[], before: ReadMark | undefined): void {
    const id = firstUnread(items, before);
    if (id !== undefined) this.unreadLine = { key, id };
    else if (this.unreadLine?.key !== key || (before?.unread ?? 0) > 0) this.unreadLine = undefined;
  }

  /**
   * My read receipt from another device: read there up to `upTo`, so read here too: what is
   * after it in the timeline stays unread (kept by arrival: after it in `items`, or sent after it;
   * counted by position: what `items` shows after it), never more than before. `items` are the
   * window, or messages from the store from `upTo` on when the window does not hold it; all is read
   * when neither holds it (it is newer than what is here). With the receipt's `had` (each sender's
   * newest message that device held up to `upTo`): one kept by arrival that sorts before `upTo`
   * but after its sender's newest there (it reached that device later, or not yet) stays unread;
   * one not in `items` goes by position. False when nothing changed.
   */
  readElsewhere(key: ConversationId, items: readonly TimelineItem[], upTo: string, had?: readonly string[]): boolean {
    const now = this.counts(key);
    const index = items.findIndex((i) => i.kind === 'message' && i.id === upTo);
    const at = items[index];
    const last = this.marks.get(key)?.lastRead;
    // The position only moves forward (an older receipt says nothing new), in the timeline's
    // order: messages sent in the same millisecond are still one after the other.
    const lastIndex = last ? items.findIndex((i) => i.kind === 'message' && i.id === last.id) : -1;
    const forward = !last || (lastIndex >= 0 ? index > lastIndex : at !== undefined && at.kind === 'message' && at.sentAt > last.sentAt);
    const position = at && at.kind === 'message' && forward ? { id: at.id, sentAt: at.sentAt } : undefined;
    const mark = this.marks.get(key);
    if (!mark || !at || at.kind !== 'message') return this.setCounts(key, 0, 0, position, []);
    const arrived = mark.arrived ?? [];
    const ids = new Set(arrived.map((a) => a.id));
    const newestHad = had && newestBySender(items, had);
    const still = arrived.filter((a) => {
      const i = items.findIndex((x) => x.kind === 'message' && x.id === a.id);
      if (i < 0) return a.sentAt > at.sentAt;
      const item = items[i]!;
      return i > index || (newestHad !== undefined && item.kind === 'message' && (newestHad.get(item.from) ?? -1) < i);
    });
    // Counted by position: what is shown after it, not kept by arrival.
    const rest = items.slice(index + 1).filter((i) => i.kind === 'message' && !i.mine && !i.deleted && !ids.has(i.id));
    const byPosition = untracked(mark);
    const unread = still.length + Math.min(byPosition.unread, rest.length);
    const mentions = still.filter((a) => a.mention).length + Math.min(byPosition.mentions, rest.filter((i) => i.kind === 'message' && i.mentionsMe).length);
    return this.setCounts(key, Math.min(now.unread, unread), Math.min(now.mentions, mentions), position, still);
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

  /** One more unread message in `key` (a mention of me if `mention`): `message`, kept by arrival when given. */
  unreadOne(key: ConversationId, mention: boolean, message?: { id: string; sentAt: number }): void {
    const c = this.marks.get(key) ?? { unread: 0, mentions: 0 };
    const arrived = message ? [...(c.arrived ?? []), { id: message.id, sentAt: message.sentAt, ...(mention ? { mention: true as const } : {}) }].slice(-MAX_ARRIVED) : c.arrived;
    this.put(key, { ...c, unread: c.unread + 1, mentions: c.mentions + (mention ? 1 : 0), ...(arrived?.length ? { arrived } : {}) });
  }

  /** Whether message `id` of `key` is unread, kept by arrival (ReadMark.arrived). */
  arrivedUnread(key: ConversationId, id: string): boolean {
    return this.marks.get(key)?.arrived?.some((a) => a.id === id) ?? false;
  }

  /**
   * An unread message of `key` (a mention of me if `mention`; `id`, when kept by arrival, says so
   * itself) was deleted: one fewer, never below 0; false when nothing changed.
   */
  unreadGone(key: ConversationId, mention: boolean, id?: string): boolean {
    const c = this.marks.get(key);
    if (!c || c.unread === 0) return false;
    const kept = c.arrived?.find((a) => a.id === id);
    if (kept) mention = Boolean(kept.mention);
    const arrived = (c.arrived ?? []).filter((a) => a !== kept).slice(1 - c.unread);
    const next: ReadMark = { unread: c.unread - 1, mentions: Math.max(0, Math.min(c.mentions - (mention ? 1 : 0), c.unread - 1)), ...(c.lastRead ? { lastRead: c.lastRead } : {}) };
    this.put(key, c.unread > 1 && arrived.length ? { ...next, arrived } : next);
    return true;
  }

  /** An unread message of `key` (`id`) was edited to mention me (`mentions`) or no longer to: one more or one fewer mention, within the unread count; false when nothing changed. */
  mentionChanged(key: ConversationId, mentions: boolean, id?: string): boolean {
    const c = this.marks.get(key);
    if (!c) return false;
    const next = Math.max(0, Math.min(c.unread, c.mentions + (mentions ? 1 : -1)));
    if (next === c.mentions) return false;
    const arrived = c.arrived?.map((a) => (a.id !== id ? a : { id: a.id, sentAt: a.sentAt, ...(mentions ? { mention: true as const } : {}) }));
    this.put(key, { ...c, mentions: next, ...(arrived ? { arrived } : {}) });
    return true;
  }

  /**
   * Sets `key`'s counts (a read receipt of mine from another device), and the unread kept by
   * arrival when `arrived` is given; false when nothing changed.
   */
  setCounts(key: ConversationId, unread: number, mentions: number, lastRead?: { id: string; sentAt: number }, arrived?: Arrived[]): boolean {
    const before = this.marks.get(key);
    const position = lastRead ?? before?.lastRead;
    const kept = unread === 0 ? [] : (arrived ?? before?.arrived ?? []).slice(-unread);
    if (before && before.unread === unread && before.mentions === mentions && before.lastRead?.id === position?.id && (before.arrived?.length ?? 0) === kept.length) return false;
    this.put(key, { unread, mentions: Math.min(mentions, unread), ...(position ? { lastRead: position } : {}), ...(kept.length ? { arrived: kept } : {}) });
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
