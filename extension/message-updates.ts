// What happens to messages already shown (issue 12): reactions, edits and deletes from the engine
// (and my own, which the engine does not echo), replies' quotes, and members' read receipts. Each
// change posts the whole message as it is now (`message/updated`; reactions at most once per
// message per REACTION_WINDOW_MS, the latest state), recomputed from the store
// (engine.message) when it has it, else from the event; for messages outside the loaded window
// too (the view may hold them in an older page; the host keeps nothing of them, later pages come
// from the store, which has the change). A deleted message's text, snippet and quotes of it leave
// the window at once.

import type { HistoryMessage } from '../protocol/client.ts';
import type { ConversationId } from '../protocol/peer.ts';
import type { HostToView, ReadMark, TimelineMessage } from '../protocol/view.ts';
import { fromHistory, mentions, QuoteCache, quoteOf, reactionsFor, withQuote, withStored } from './message-state.ts';
import type { TimelineStore } from './timelines.ts';

/** A change to message `id`, as the engine's events (or my own action's answer) tell it. */
export type MessageChange = { t: 'reaction'; user: string; emoji: string; on: boolean } | { t: 'edited'; text: string } | { t: 'deleted' };

/** What the code threads are told (extension/code-threads.ts CodeThreads, see code-threads-feed.ts). */
export interface ThreadSink {
  message(key: ConversationId, title: string, m: TimelineMessage): void;
  updated(key: ConversationId, m: TimelineMessage): void;
  forget(key: ConversationId): void;
  clear(): void;
}

/** What MessageUpdates needs of the engine (peer/engine.ts). */
export interface StoredMessages {
  readonly user?: string;
  message(target: { room: string }, id: string): HistoryMessage | undefined;
  reads(target: { room: string }): { user: string; upTo: string; mine?: string | null }[];
}

/** Messages changed before they arrived here, kept to look them up when they do (`key\nid`). */
const MAX_EARLY = 1_000;
/** Originals quoted before they arrived here, kept to re-quote their replies when they do (`key\nid`). */
const MAX_AWAITED = 1_000;
/**
 * Reactions and edits of one message are posted at most once per this many ms (the first at
 * once, then the state at the end of each window that had more): each post is the whole message
 * (up to 64 KiB of text), and anyone can toggle an emoji as fast as they like (200 toggles on a
 * 60 KB message were 200 posts, 12 MB, 3.3 s), an author edit as fast (300 edits: 18 MB).
 * Deletes are posted at once.
 */
export const REACTION_WINDOW_MS = 100;

/** A message whose reaction posts are being coalesced: whether more came in its window (the store has them). */
interface Window {
  timer: ReturnType<typeof setTimeout>;
  changed: boolean;
}

export class MessageUpdates {
  readonly quotes = new QuoteCache();
  private readonly early = new Set<string>();
  /** Originals that replies quote but this store does not hold yet (a reply can come first: catch-up, forwarding). */
  private readonly awaited = new Set<string>();
  /** `key\nid\nkind` -> its open window (reactions, edits). */
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly timelines: TimelineStore,
    private readonly engine: () => StoredMessages | undefined,
    private readonly post: (m: HostToView) => void,
    private readonly threads: () => ThreadSink | undefined,
  ) {}

  clear(): void {
    this.quotes.clear();
    this.early.clear();
    this.awaited.clear();
    for (const w of this.windows.values()) clearTimeout(w.timer);
    this.windows.clear();
  }

  /** The quote of message `id` of `key` that a reply shows (cached; `{id}` alone when it is not stored here). */
  quote(key: ConversationId, id: string): TimelineMessage['replyTo'] {
    const quote = this.quotes.get(key, id, () => this.stored(key, id));
    if (quote.from === undefined) {
      // Not here yet ("original not loaded"): its replies are quoted again when it arrives (added).
      const slot = `${key}\n${id}`;
      this.awaited.delete(slot);
      this.awaited.add(slot);
      if (this.awaited.size > MAX_AWAITED) this.awaited.delete(this.awaited.values().next().value!);
    }
    return quote;
  }

  /** Message `m` was added to `key`'s window: replies there that quoted it before it arrived show it now. */
  added(key: ConversationId, m: TimelineMessage): void {
    if (!this.awaited.delete(`${key}\n${m.id}`)) return;
    this.requote(key, m.id, this.stored(key, m.id), m);
  }

  /** A message about to be added: with what changed before it arrived (reactions first, then the message). */
  arrived(key: ConversationId, m: TimelineMessage): TimelineMessage {
    const slot = `${key}\n${m.id}`;
    if (!this.early.delete(slot)) return m;
    const stored = this.stored(key, m.id);
    const me = this.engine()?.user;
    return stored && me ? withStored(m, stored, me) : m;
  }

  /**
   * Message `id` of `key` changed: the window's copy, the view, quotes of it and the code threads
   * follow. A reaction or edit within REACTION_WINDOW_MS of the last one posted for that message waits for
   * the window's end, where the message is read from the store once and posted (the state then).
   */
  changed(key: ConversationId, id: string, change: MessageChange): void {
    if (change.t !== 'deleted') {
      // One window per kind: an edit right after a reaction is still posted at once.
      const slot = `${key}\n${id}\n${change.t}`;
      const open = this.windows.get(slot);
      if (open) {
        open.changed = true;
        return;
      }
      this.windows.set(slot, { timer: this.windowEnd(slot, key, id), changed: false });
    }
    this.apply(key, id, change);
  }

  /** The end of a reaction window: when reactions came in it, the message is posted and a new window opens; else none. */
  private windowEnd(slot: string, key: ConversationId, id: string): ReturnType<typeof setTimeout> {
    return setTimeout(() => {
      const w = this.windows.get(slot);
      if (!w) return;
      if (!w.changed) {
        this.windows.delete(slot);
        return;
      }
      this.windows.set(slot, { timer: this.windowEnd(slot, key, id), changed: false });
      this.apply(key, id);
    }, REACTION_WINDOW_MS);
  }

  /**
   * Message `id` of `key` posted as it is now, after `change` (none: reactions that came in a
   * window): from the store when it has it, else `change` applied to the window's copy.
   */
  private apply(key: ConversationId, id: string, change?: MessageChange): void {
    const me = this.engine()?.user;
    if (!me) return;
    if (change?.t === 'deleted') this.quotes.deleted(key, id);
    const stored = this.stored(key, id);
    // A window's reactions are known from the store only; it no longer answers (the conversation
    // was left within the window): nothing more to show.
    if (!change && !stored) return;
    const shown = this.timelines.message(key, id);
    let next: TimelineMessage | undefined;
    if (shown && stored) next = withStored(shown, stored, me);
    else if (shown) next = applied(shown, change!, me);
    else if (stored) next = fromHistory(stored, me, stored.replyTo !== undefined ? this.quote(key, stored.replyTo) : undefined);
    if (!next) {
      // Not here yet (a reaction can come before its message): looked up again when it arrives.
      this.early.add(`${key}\n${id}`);
      if (this.early.size > MAX_EARLY) this.early.delete(this.early.values().next().value!);
      return;
    }
    if (shown) this.timelines.replace(key, next);
    this.post({ type: 'message/updated', key, message: next });
    this.threads()?.updated(key, next);
    if (change && change.t !== 'reaction') this.requote(key, id, stored, next);
  }

  /** Members' read receipts of `key`, mine left out. */
  reads(key: ConversationId): ReadMark[] {
    const engine = this.engine();
    if (!engine?.user) return [];
    try {
      return engine.reads({ room: key }).filter((r) => r.user !== engine.user).map((r) => ({ user: r.user, upTo: r.upTo, ...(r.mine !== undefined ? { mine: r.mine } : {}) }));
    } catch {
      // A conversation this session no longer holds (left a moment ago, a stale key): no receipts to show.
      return [];
    }
  }

  /** The original `id` arrived, was edited or deleted: replies in the window show its new quote. */
  private requote(key: ConversationId, id: string, stored: HistoryMessage | undefined, now: TimelineMessage): void {
    const original: HistoryMessage = stored ?? { id, from: now.from, text: now.text, sentAt: now.sentAt, ...(now.deleted ? { deleted: true } : {}) };
    const quote = quoteOf(id, original);
    this.quotes.replace(key, id, original);
    for (const reply of this.timelines.repliesTo(key, id)) {
      const next = withQuote(reply, quote);
      this.timelines.replace(key, next);
      this.post({ type: 'message/updated', key, message: next });
      this.threads()?.updated(key, next);
    }
  }

  private stored(key: ConversationId, id: string): HistoryMessage | undefined {
    try {
      return this.engine()?.message({ room: key }, id);
    } catch {
      // A conversation this session no longer holds: nothing stored to show.
      return undefined;
    }
  }
}

/** `m` with `change` applied from the event alone (the store did not answer). */
function applied(m: TimelineMessage, change: MessageChange, me: string): TimelineMessage {
  if (change.t === 'deleted') {
    return { kind: 'message', id: m.id, from: m.from, text: '', sentAt: m.sentAt, mine: m.mine, mentionsMe: false, deleted: true, ...(m.late ? { late: true } : {}), ...(m.delivered ? { delivered: m.delivered } : {}) };
  }
  if (m.deleted) return m;
  if (change.t === 'edited') return { ...m, text: change.text, edited: true, mentionsMe: !m.mine && mentions(me, change.text) };
  const reactions = (m.reactions ?? []).map((r) => ({ emoji: r.emoji, users: [...r.users] }));
  let entry = reactions.find((r) => r.emoji === change.emoji);
  if (!entry && change.on) reactions.push((entry = { emoji: change.emoji, users: [] }));
  if (entry) entry.users = change.on ? (entry.users.includes(change.user) ? entry.users : [...entry.users, change.user]) : entry.users.filter((u) => u !== change.user);
  const shown = reactionsFor(reactions, me);
  const next: TimelineMessage = { ...m };
  if (shown) next.reactions = shown;
  else delete next.reactions;
  return next;
}
