// Turns a conversation's timeline into the rows the timeline shows: a separator at each new day,
// and messages grouped by sender (a group's first row shows the name and time; the rest only the
// text), as chat clients do; first, while older pages exist, the row that loads them. Pure and
// linear: it runs on every new message of a 10,000-item log. The "New messages" line goes above
// the first message I had not read when the conversation opened.

import { itemTime, type TimelineItem, type TimelineMessage, type TimelineNotice } from '../protocol/view.ts';
import { visible } from '../protocol/text.ts';

/** Consecutive messages from one sender this close together share one header. */
export const GROUP_WINDOW_MS = 5 * 60_000;

export type Row =
  | { kind: 'day'; key: string; label: string; time: number }
  | { kind: 'message'; key: string; item: TimelineMessage; head: boolean }
  | { kind: 'notice'; key: string; item: TimelineNotice }
  /** Older messages exist: where they load (scrolling up to it, or its button). */
  | { kind: 'older'; key: typeof OLDER_KEY }
  /** Newer messages exist (a window jumped back to a message): where they load, at the end. */
  | { kind: 'newer'; key: typeof NEWER_KEY }
  /** The "New messages" line, above the first unread message. */
  | { kind: 'unread'; key: typeof UNREAD_KEY };

export const OLDER_KEY = 'older';
export const NEWER_KEY = 'newer';
export const UNREAD_KEY = 'unread';

const DAY_MS = 86_400_000;
const dateFormat = new Intl.DateTimeFormat(undefined, { weekday: 'long', year: 'numeric', month: 'long', day: 'numeric' });
const timeFormat = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit' });
const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'short' });

// Intl formatting costs tens of microseconds a call, and a scrolled timeline formats every row it
// shows: remember the strings per minute (what both formats resolve to).
const FORMAT_CACHE_MAX = 5000;
const timeCache = new Map<number, string>();
const fullCache = new Map<number, string>();

function cached(cache: Map<number, string>, format: Intl.DateTimeFormat, t: number): string {
  const minute = Math.floor(t / 60_000);
  let text = cache.get(minute);
  if (text === undefined) {
    text = format.format(minute * 60_000);
    if (cache.size >= FORMAT_CACHE_MAX) cache.clear();
    cache.set(minute, text);
  }
  return text;
}

export const formatTime = (t: number): string => cached(timeCache, timeFormat, t);
export const formatFull = (t: number): string => cached(fullCache, fullFormat, t);

function startOfDay(t: number): number {
  const d = new Date(t);
  d.setHours(0, 0, 0, 0);
  return d.getTime();
}

export function dayLabel(dayStart: number, now: number): string {
  const today = startOfDay(now);
  if (dayStart === today) return 'Today';
  // Not today - DAY_MS: days are 23 or 25 hours long at daylight-saving changes.
  if (dayStart === startOfDay(today - 1)) return 'Yesterday';
  return dateFormat.format(dayStart);
}

const timeOf = itemTime;

/**
 * Where a row list left off, so rows for new items can be appended without rebuilding the list
 * (a new message in a 10,000-item conversation costs one row, not 10,000).
 */
interface Cursor {
  dayStart: number;
  dayEnd: number;
  previous: TimelineMessage | undefined;
  /** The message the "New messages" line goes above. */
  firstUnread: string | undefined;
}

function push(rows: Row[], item: TimelineItem, c: Cursor, now: number): void {
  const t = timeOf(item);
  if (!(t >= c.dayStart && t < c.dayEnd)) {
    // Only compute a new day when an item falls outside the current one (a Date per item is slow).
    c.dayStart = startOfDay(t);
    c.dayEnd = startOfDay(c.dayStart + DAY_MS + DAY_MS / 2);
    rows.push({ kind: 'day', key: `day:${c.dayStart}:${rows.length}`, label: dayLabel(c.dayStart, now), time: c.dayStart });
    c.previous = undefined;
  }
  if (item.kind === 'notice') {
    rows.push({ kind: 'notice', key: `n:${item.id}`, item });
    c.previous = undefined;
    return;
  }
  if (item.id === c.firstUnread) {
    rows.push({ kind: 'unread', key: UNREAD_KEY });
    c.previous = undefined;
  }
  const p = c.previous;
  // A late message shows its sender and its "late" mark on its own header.
  const head = !p || p.from !== item.from || item.sentAt - p.sentAt > GROUP_WINDOW_MS || item.sentAt < p.sentAt || Boolean(item.late) || Boolean(p.late);
  rows.push({ kind: 'message', key: `m:${item.id}`, item, head });
  c.previous = item;
}

/**
 * The rows of `items`; led by the loading row when older pages exist (`more`), ended by the newer
 * one when newer pages exist (`newer`); the "New messages" line above message `firstUnread` when given.
 */
export function buildRows(items: readonly TimelineItem[], now: number = Date.now(), more = false, firstUnread?: string, newer = false): Row[] {
  const rows: Row[] = more ? [{ kind: 'older', key: OLDER_KEY }] : [];
  const cursor: Cursor = { dayStart: Number.NaN, dayEnd: Number.NaN, previous: undefined, firstUnread };
  for (const item of items) push(rows, item, cursor, now);
  if (newer) rows.push({ kind: 'newer', key: NEWER_KEY });
  return rows;
}

/** `rows` (built from `items`) plus the rows for `added`, as buildRows(items.concat(added)) would give. */
export function appendRows(rows: readonly Row[], items: readonly TimelineItem[], added: readonly TimelineItem[], now: number = Date.now(), firstUnread?: string): Row[] {
  const last = items[items.length - 1];
  const cursor: Cursor = { dayStart: Number.NaN, dayEnd: Number.NaN, previous: undefined, firstUnread };
  if (last) {
    cursor.dayStart = startOfDay(timeOf(last));
    cursor.dayEnd = startOfDay(cursor.dayStart + DAY_MS + DAY_MS / 2);
    if (last.kind === 'message') cursor.previous = last;
  }
  const next = rows.slice();
  for (const item of added) push(next, item, cursor, now);
  return next;
}

/** The rows with the message `id` replaced by `item` (a delivery update); the same array if absent. */
export function replaceMessage(rows: Row[], item: TimelineMessage): Row[] {
  for (let i = rows.length - 1; i >= 0; i--) {
    const row = rows[i]!;
    if (row.kind !== 'message' || row.item.id !== item.id) continue;
    const next = rows.slice();
    next[i] = { ...row, item };
    return next;
  }
  return rows;
}

/** "bob", "bob and carol", "bob, carol and dave", "bob, carol, dave and 2 more" (names made visible). */
export function namesText(names: readonly string[]): string {
  const shown = names.slice(0, 3).map(visible);
  const rest = names.length - shown.length;
  if (rest > 0) return `${shown.join(', ')} and ${rest} more`;
  if (shown.length <= 1) return shown[0] ?? '';
  return `${shown.slice(0, -1).join(', ')} and ${shown[shown.length - 1]}`;
}

/** "bob is typing…", "bob and carol are typing…", "bob, carol and dave are typing…". */
export function typingText(names: readonly string[]): string {
  const users = names.map(visible);
  if (users.length === 0) return '';
  if (users.length === 1) return `${users[0]} is typing…`;
  if (users.length <= 3) return `${users.slice(0, -1).join(', ')} and ${users[users.length - 1]} are typing…`;
  return `${users.length} people are typing…`;
}
