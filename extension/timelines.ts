// Each conversation's timeline as the extension host holds it: a bounded window of the newest
// items, in the one timeline order (protocol/view.ts compareItems). Messages come from the
// engine's history store (peer/, one store for every client): the newest page when a
// conversation is first needed, then live events inserted where they belong. Older pages are read
// from the store when the view asks and handed straight on, never kept here, so memory does not
// grow with a conversation's length. Notices (joins, key changes) live in memory only.

import { HISTORY_PAGE_DEFAULT } from '../protocol/client.ts';
import type { ConversationId } from '../protocol/peer.ts';
import { compareItems, insertionIndex, withStatus, type GapItem, type MessageStatus, type TimelineItem, type TimelineMessage } from '../protocol/view.ts';

/** A window past this many items drops its oldest down to KEEP_ITEMS (they stay in the store). */
export const MAX_ITEMS = 600;
export const KEEP_ITEMS = 400;
/**
 * Items before the one a view jumps to (`around`), so what led to it shows above it: half a page,
 * as the store's own around page (peer/history.ts page), whichever of the two answers.
 */
export const AROUND_BEFORE = Math.floor((HISTORY_PAGE_DEFAULT - 1) / 2);
/** Items a view away from the newest gets per newer page (the window held here can be 600). */
export const VIEW_PAGE_ITEMS = 50;

/** `page` cut to its first `n` items (`newer` then, since the rest comes next). */
function paged(page: ViewPage, n: number): ViewPage {
  return page.items.length <= n ? page : { ...page, items: page.items.slice(0, n), newer: true };
}
/** State changes kept for messages not in a window yet (my send's answer may come after its first `waiting`). */
const EARLY_MAX = 100;

/** Where a page is read: the newest page without one; else before, after or around one message. */
export type PageCursor = { before: string } | { after: string } | { around: string };

/** A page read from the store, oldest first: `more` older exist before it, `newer` newer after it. */
export interface SourcePage {
  items: TimelineMessage[];
  more: boolean;
  newer: boolean;
  gaps?: { from: string; missing: number }[];
}

/** Where pages come from (the engine's store; tests may pass their own). */
export interface HistorySource {
  /** The page at `cursor` (the newest page without it), oldest first. */
  page(key: ConversationId, cursor?: PageCursor): Promise<SourcePage>;
}

/** A window of a conversation for the view away from the newest (a jump), or up to it. */
export interface ViewPage {
  /** Oldest first; reaching the newest, they end with the notices and live messages held here. */
  items: TimelineItem[];
  more: boolean;
  /** Newer messages exist after the last item: the view is away from the newest. */
  newer: boolean;
}

interface Timeline {
  items: TimelineItem[];
  messages: Map<string, TimelineMessage>;
  /** Older messages exist in the store before items[0]. */
  more: boolean;
  loaded: boolean;
  loading?: Promise<void>;
  /** Unfilled gaps by sender (a Map: sender names come from peers). */
  gaps: Map<string, number>;
}

export class TimelineStore {
  private readonly timelines = new Map<ConversationId, Timeline>();
  private source?: HistorySource;
  /** By conversation and message id (`key\nid`): changes that came before their message. */
  private readonly early = new Map<string, MessageStatus[]>();

  /** Signed in: pages come from `source`. Signed out (undefined): all is forgotten. */
  use(source: HistorySource | undefined): void {
    this.source = source;
    this.timelines.clear();
    this.early.clear();
  }

  /** The items of `key`, oldest first (the store's own array: read it, do not change it). */
  items(key: ConversationId): readonly TimelineItem[] {
    return this.get(key).items;
  }

  /** Whether older messages than the first item exist in the store. */
  more(key: ConversationId): boolean {
    return this.get(key).more;
  }

  loaded(key: ConversationId): boolean {
    return this.get(key).loaded;
  }

  /**
   * Reads the newest page of `key` once (later calls share it). Items that arrived meanwhile are
   * kept; a message already there is not added twice. A failed read leaves it unloaded (retried
   * on the next open) and throws.
   */
  load(key: ConversationId): Promise<void> {
    const timeline = this.get(key);
    if (timeline.loaded || !this.source) return Promise.resolve();
    const source = this.source;
    timeline.loading ??= (async () => {
      try {
        const page = await source.page(key);
        if (this.timelines.get(key) !== timeline) return; // signed out meanwhile
        for (const item of page.items) this.insert(timeline, item);
        // What the store still misses, as of this read (later `gap` events update it).
        timeline.gaps.clear();
        for (const g of page.gaps ?? []) timeline.gaps.set(g.from, g.missing);
        timeline.more = page.more;
        timeline.loaded = true;
        this.trim(timeline);
      } finally {
        timeline.loading = undefined;
      }
    })();
    return timeline.loading;
  }

  /** An older page of `key` for the view, read from the store and not kept here. */
  async older(key: ConversationId, before: string): Promise<{ items: TimelineMessage[]; more: boolean }> {
    const page = await this.read(key, { before });
    return { items: page.items, more: page.more };
  }

  /**
   * The view's window of `key` around message `id` (a search result or quote far back): from a
   * few messages before it. Held here (among the newest): up to the newest, with the notices and
   * live messages, `newer` false. Else read from the store, `newer` true while the store has newer
   * ones. Throws as the store does for a message it does not hold ('request.invalid').
   */
  async around(key: ConversationId, id: string): Promise<ViewPage> {
    await this.load(key);
    const timeline = this.get(key);
    const at = timeline.messages.has(id) ? timeline.items.findIndex((i) => i.kind === 'message' && i.id === id) : -1;
    if (at >= 0) {
      const from = Math.max(0, at - AROUND_BEFORE);
      return paged({ items: timeline.items.slice(from), more: from > 0 || timeline.more, newer: false }, AROUND_BEFORE + VIEW_PAGE_ITEMS);
    }
    return paged(this.joined(key, await this.read(key, { around: id })), AROUND_BEFORE + VIEW_PAGE_ITEMS);
  }

  /**
   * The messages of `key` after message `after` for a view away from the newest: a page from the
   * store, or, once it meets what is held here, everything up to the newest (`newer` false).
   */
  async newer(key: ConversationId, after: string): Promise<ViewPage> {
    await this.load(key);
    const timeline = this.get(key);
    if (timeline.messages.has(after)) {
      const at = timeline.items.findIndex((i) => i.kind === 'message' && i.id === after);
      return paged({ items: timeline.items.slice(at + 1), more: true, newer: false }, VIEW_PAGE_ITEMS);
    }
    return paged(this.joined(key, await this.read(key, { after })), VIEW_PAGE_ITEMS);
  }

  /**
   * `page` from the store, joined to the window held here where they meet: a store page that
   * reaches what is held (or the newest) goes on with the held items, so nothing that arrived
   * while the page was read is missed (live items came to the window first).
   */
  private joined(key: ConversationId, page: SourcePage): ViewPage {
    const timeline = this.get(key);
    const meet = page.items.findIndex((m) => timeline.messages.has(m.id));
    if (meet < 0 && page.newer) return { items: page.items, more: page.more, newer: true };
    const mine = meet < 0 ? page.items : page.items.slice(0, meet);
    const last = mine[mine.length - 1];
    let from: number;
    if (meet >= 0) {
      from = timeline.items.indexOf(timeline.messages.get(page.items[meet]!.id)!);
      // Notices (joins, key changes, gaps) held between the page's own part and the meeting message.
      while (from > 0 && timeline.items[from - 1]!.kind !== 'message' && (!last || compareItems(timeline.items[from - 1]!, last) > 0)) from--;
    } else {
      // None of the page is held: everything held from its last message's place on (a message
      // of the same millisecond and sender is not the page's, so it is kept).
      from = last ? timeline.items.findIndex((i) => compareItems(i, last) >= 0) : 0;
      if (from < 0) from = timeline.items.length;
    }
    const held = timeline.items.slice(from);
    return { items: [...mine, ...held], more: page.more, newer: false };
  }

  private read(key: ConversationId, cursor: PageCursor): Promise<SourcePage> {
    if (!this.source) throw new Error('You are not logged in. Run "P2P Chat: Login" first.');
    return this.source.page(key, cursor);
  }

  /**
   * Adds `item` where it belongs; false (and nothing changes) for a message id already there.
   * An item older than the window while older pages exist is left to those pages.
   */
  add(key: ConversationId, item: TimelineItem): boolean {
    const timeline = this.get(key);
    if (item.kind === 'message' && timeline.messages.has(item.id)) return false;
    if (item.kind === 'message') item = this.withEarly(key, item);
    const first = timeline.items[0];
    if (timeline.more && first && compareItems(item, first) < 0) return true;
    this.insert(timeline, item);
    this.trim(timeline);
    return true;
  }

  /**
   * Applies a delivery state change to my message `id`; false when the window has no such message
   * (the change is kept a while, and applied if it is added: see add).
   */
  status(key: ConversationId, id: string, status: MessageStatus): boolean {
    const timeline = this.get(key);
    const message = timeline.messages.get(id);
    if (!message) {
      const slot = `${key}\n${id}`;
      this.early.set(slot, [...(this.early.get(slot) ?? []), status]);
      if (this.early.size > EARLY_MAX) this.early.delete(this.early.keys().next().value!);
      return false;
    }
    const updated = withStatus(message, status);
    timeline.messages.set(id, updated);
    const at = timeline.items.lastIndexOf(message);
    if (at >= 0) timeline.items[at] = updated;
    return true;
  }

  /** Message `id` of `key`'s window, if it is there. */
  message(key: ConversationId, id: string): TimelineMessage | undefined {
    return this.timelines.get(key)?.messages.get(id);
  }

  /**
   * Puts `message` in place of the message with its id (a reaction, an edit, a delete); false when
   * the window does not hold it (older pages are read from the store, which has the change).
   */
  replace(key: ConversationId, message: TimelineMessage): boolean {
    const timeline = this.timelines.get(key);
    const before = timeline?.messages.get(message.id);
    if (!timeline || !before) return false;
    timeline.messages.set(message.id, message);
    const at = timeline.items.lastIndexOf(before);
    if (at >= 0) timeline.items[at] = message;
    return true;
  }

  /** The messages of `key`'s window that answer message `id` (their quotes show it). */
  repliesTo(key: ConversationId, id: string): TimelineMessage[] {
    const timeline = this.timelines.get(key);
    if (!timeline) return [];
    return [...timeline.messages.values()].filter((m) => m.replyTo?.id === id);
  }

  /** Records a gap of `from` (0: filled); returns the conversation's gaps now. */
  gap(key: ConversationId, from: string, missing: number): GapItem[] {
    const gaps = this.get(key).gaps;
    if (missing > 0) gaps.set(from, missing);
    else gaps.delete(from);
    return this.gaps(key);
  }

  gaps(key: ConversationId): GapItem[] {
    return [...this.get(key).gaps].map(([from, missing]) => ({ from, missing }));
  }

  /** `message` with the state changes that came before it. */
  private withEarly(key: ConversationId, message: TimelineMessage): TimelineMessage {
    const slot = `${key}\n${message.id}`;
    const changes = this.early.get(slot);
    if (!changes) return message;
    this.early.delete(slot);
    return changes.reduce(withStatus, message);
  }

  private insert(timeline: Timeline, item: TimelineItem): void {
    if (item.kind === 'message') {
      if (timeline.messages.has(item.id)) return;
      timeline.messages.set(item.id, item);
    }
    timeline.items.splice(insertionIndex(timeline.items, item), 0, item);
  }

  private trim(timeline: Timeline): void {
    if (timeline.items.length <= MAX_ITEMS) return;
    const dropped = timeline.items.splice(0, timeline.items.length - KEEP_ITEMS);
    for (const item of dropped) if (item.kind === 'message') timeline.messages.delete(item.id);
    if (dropped.some((item) => item.kind === 'message')) timeline.more = true;
  }

  private get(key: ConversationId): Timeline {
    let timeline = this.timelines.get(key);
    if (!timeline) {
      timeline = { items: [], messages: new Map(), more: false, loaded: false, gaps: new Map() };
      this.timelines.set(key, timeline);
    }
    return timeline;
  }
}
