// The open conversation's window of items, as pure steps from one (conversation, rows) pair to the
// next: a live item inserted where it belongs (protocol/view.ts compareItems), a delivery state
// applied, an older page put in front, a window around a message far back (a jump: `newer` until
// newer pages reach the newest again) and its newer pages put behind, and far older items dropped
// so the view's memory stays bounded however far back someone has scrolled. receive.ts applies the host's notifications with
// them, actions.ts the view's own trimming; neither keeps any state here.

import { QUOTE_CHARS } from '../protocol/message-actions.ts';
import { compareItems, insertionIndex, withStatus, type HistoryPage, type MessageStatus, type OpenedConversation, type QuotedMessage, type TimelineItem, type TimelineMessage } from '../protocol/view.ts';
import { appendRows, buildRows, replaceMessage, type Row } from './rows.ts';

/** Past this many items, a view back at the bottom drops its oldest down to VIEW_KEEP_ITEMS. */
export const VIEW_MAX_ITEMS = 500;
export const VIEW_KEEP_ITEMS = 200;

export interface TimelineWindow {
  open: OpenedConversation;
  rows: Row[];
}

/** The rows of a whole conversation window (the loading row first while older pages exist). */
export function rowsOf(open: OpenedConversation | undefined): Row[] {
  return open ? buildRows(open.timeline, Date.now(), Boolean(open.more), open.firstUnread, Boolean(open.newer)) : [];
}

/**
 * `item` inserted where it belongs; undefined when nothing changes: a message already there, one
 * older than the window while older pages exist, or one newer than it while newer pages exist (a
 * window jumped back: each arrives with its page).
 */
export function addItem(w: TimelineWindow, item: TimelineItem): TimelineWindow | undefined {
  const items = w.open.timeline;
  if (item.kind === 'message') {
    // Duplicates are recent (a message and its echo): look from the end.
    for (let i = items.length - 1; i >= 0; i--) {
      const other = items[i]!;
      if (other.kind === 'message' && other.id === item.id) return undefined;
    }
  }
  const first = items[0];
  const last = items[items.length - 1];
  if (w.open.more && first && compareItems(item, first) < 0) return undefined;
  if (w.open.newer && last && compareItems(item, last) > 0) return undefined;
  const at = insertionIndex(items, item);
  const timeline = items.slice();
  timeline.splice(at, 0, item);
  const open = { ...w.open, timeline };
  // At the end (nearly always): one new row. Elsewhere (a late arrival): rows again.
  return { open, rows: at === items.length ? appendRows(w.rows, items, [item], Date.now(), w.open.firstUnread) : rowsOf(open) };
}

/** A delivery state change of message `id`; undefined when the window does not hold it. */
export function applyStatus(w: TimelineWindow, id: string, status: MessageStatus): TimelineWindow | undefined {
  const items = w.open.timeline;
  // Recent messages change state: look from the end.
  for (let i = items.length - 1; i >= 0; i--) {
    const item = items[i]!;
    if (item.kind !== 'message' || item.id !== id) continue;
    const updated = withStatus(item, status);
    const timeline = items.slice();
    timeline[i] = updated;
    return { open: { ...w.open, timeline }, rows: replaceMessage(w.rows, updated) };
  }
  return undefined;
}

/**
 * Message `message.id` replaced by `message` as it is now (reactions, edited, deleted), and the
 * quotes of replies to it brought up to date; undefined when the window does not hold it nor any
 * reply to it.
 */
export function updateMessage(w: TimelineWindow, message: TimelineMessage): TimelineWindow | undefined {
  let rows = w.rows;
  let timeline: TimelineItem[] | undefined;
  const items = w.open.timeline;
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    if (item.kind !== 'message') continue;
    let next: TimelineMessage | undefined;
    if (item.id === message.id) next = message;
    else if (item.replyTo?.id === message.id) next = { ...item, replyTo: quoteOf(message) };
    if (!next) continue;
    timeline ??= items.slice();
    timeline[i] = next;
    rows = replaceMessage(rows, next);
  }
  return timeline ? { open: { ...w.open, timeline }, rows } : undefined;
}

/** How a reply quotes `m`: its sender and the start of its text, or that it was deleted. */
export function quoteOf(m: TimelineMessage): QuotedMessage {
  return m.deleted ? { id: m.id, from: m.from, deleted: true } : { id: m.id, from: m.from, excerpt: excerptOf(m.text) };
}

/** The start of `text` as a quote shows it: one line, at most QUOTE_CHARS characters. */
export function excerptOf(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > QUOTE_CHARS ? `${line.slice(0, QUOTE_CHARS - 1)}…` : line;
}

/** Whether the window holds message `id`. */
export function holds(open: OpenedConversation, id: string): boolean {
  return open.timeline.some((item) => item.kind === 'message' && item.id === id);
}

/** The id of the oldest message held: what the next older page is asked before. */
export function oldestMessageId(open: OpenedConversation): string | undefined {
  for (const item of open.timeline) if (item.kind === 'message') return item.id;
  return undefined;
}

/** `page` put in front; undefined when it no longer fits (another conversation, or the window moved on). */
export function prependPage(w: TimelineWindow, page: HistoryPage): TimelineWindow | undefined {
  if (page.key !== w.open.key || oldestMessageId(w.open) !== page.before) return undefined;
  const held = new Set<string>();
  for (const item of w.open.timeline) if (item.kind === 'message') held.add(item.id);
  const fresh = page.items.filter((m) => !held.has(m.id));
  const timeline: TimelineItem[] = [...fresh, ...w.open.timeline];
  // A notice older than the page's newest message belongs among it.
  const last = fresh[fresh.length - 1];
  const next = w.open.timeline[0];
  if (last && next && compareItems(last, next) > 0) timeline.sort(compareItems);
  const open = { ...w.open, timeline, more: page.more };
  return { open, rows: rowsOf(open) };
}

/** The id of the newest message held: what the next newer page is asked after. */
export function newestMessageId(open: OpenedConversation): string | undefined {
  for (let i = open.timeline.length - 1; i >= 0; i--) {
    const item = open.timeline[i]!;
    if (item.kind === 'message') return item.id;
  }
  return undefined;
}

/**
 * A window around message `page.around` in place of the open one (a jump to it): away from the
 * newest while `page.newer`; undefined when it is for another conversation.
 */
export function aroundWindow(w: TimelineWindow, page: HistoryPage): TimelineWindow | undefined {
  if (page.key !== w.open.key || page.around === undefined) return undefined;
  const open: OpenedConversation = { ...w.open, timeline: page.items, more: page.more, newer: page.newer === true };
  return { open, rows: rowsOf(open) };
}

/**
 * `page` (newer messages) put behind a window away from the newest; once it has no newer after it,
 * the window is back at the newest (live items are added again). Far older items are let go past
 * VIEW_MAX_ITEMS. Undefined when it no longer fits (another conversation, or the window moved on).
 */
export function appendPage(w: TimelineWindow, page: HistoryPage): TimelineWindow | undefined {
  if (page.key !== w.open.key || page.after === undefined || !w.open.newer || newestMessageId(w.open) !== page.after) return undefined;
  const held = new Set(w.open.timeline.map((item) => `${item.kind}:${item.id}`));
  const fresh = page.items.filter((item) => !held.has(`${item.kind}:${item.id}`));
  const open: OpenedConversation = { ...w.open, timeline: [...w.open.timeline, ...fresh], newer: page.newer === true };
  return trimmedTo(open) ?? { open, rows: rowsOf(open) };
}

/**
 * The newest VIEW_KEEP_ITEMS items once the window holds more than VIEW_MAX_ITEMS; undefined when
 * it does not, or when the host pages nothing (`more` absent: nothing could bring them back).
 */
export function trimmed(w: TimelineWindow): TimelineWindow | undefined {
  return trimmedTo(w.open);
}

function trimmedTo(o: OpenedConversation): TimelineWindow | undefined {
  if (o.more === undefined || o.timeline.length <= VIEW_MAX_ITEMS) return undefined;
  const kept = o.timeline.slice(-VIEW_KEEP_ITEMS);
  const dropped = o.timeline.length - kept.length;
  const anyMessage = o.timeline.slice(0, dropped).some((item) => item.kind === 'message');
  const open = { ...o, timeline: kept, more: o.more || anyMessage };
  return { open, rows: rowsOf(open) };
}
