// What the view asks of the host about messages (issue 12): reply, react, edit, delete, reveal a
// message (a window around it when the timeline does not hold it), and search. Posts only through
// actions.ts's `request`/`post`, like every other action; the state it keeps is in state.ts.

import { batch } from '@preact/signals';
import { SEARCH_LIMITS, isEmoji } from '../protocol/message-actions.ts';
import { VIEW_LIMITS, type ConversationId, type SearchHit, type TimelineMessage } from '../protocol/view.ts';
import { visible } from '../protocol/text.ts';
import { expectReveal, post, request } from './actions.ts';
import { focusComposer } from './focus.ts';
import { store } from './state.ts';
import { excerptOf, holds } from './timeline-window.ts';

/** Search runs this long after the last keystroke (one request per pause, not per key). */
export const SEARCH_DEBOUNCE_MS = 200;
/** A revealed message stays marked this long. */
export const MARK_MS = 2500;

const utf8 = new TextEncoder();
let searchTimer: ReturnType<typeof setTimeout> | undefined;
let markTimer: ReturnType<typeof setTimeout> | undefined;

/** Why `text` cannot be a message (an edit), or undefined when it can. */
export function textProblem(text: string): string | undefined {
  if (!text.trim()) return 'A message cannot be empty. To remove it, delete it instead.';
  const bytes = utf8.encode(text).length;
  if (bytes > VIEW_LIMITS.messageBytes) return `This text is ${Math.ceil(bytes / 1024)} KiB; the limit is ${VIEW_LIMITS.messageBytes / 1024} KiB. Shorten it.`;
  return undefined;
}

/** Why `emoji` cannot be a reaction, or undefined when it can (protocol/message-actions.ts isEmoji). */
export function emojiProblem(emoji: string): string | undefined {
  const e = emoji.trim();
  if (!e) return 'Type or paste an emoji.';
  if (isEmoji(e)) return undefined;
  return `"${visible(e)}" is not one emoji: a reaction is a single emoji (a flag, a skin tone or a family counts as one), with no text.`;
}

/**
 * Message `target.id` of the open conversation is wanted on screen: when the timeline does not hold
 * it, asks once for a window around it (`history/around`: however far back it is), which replaces
 * the timeline (away from the newest until scrolled or jumped back). Gives up with words in the
 * error bar when the answer does not hold it. Called after every host message (receive.ts) and
 * when a reveal starts; cheap when there is nothing to do.
 */
export function continueReveal(): void {
  const target = store.reveal.value;
  const open = store.open.value;
  if (!target || open?.key !== target.key || holds(open, target.id)) return;
  const key = open.key;
  if ([...store.pending.value.values()].some((r) => r.place.kind === 'around' && r.place.key === key)) return;
  if (target.asked) {
    batch(() => {
      store.reveal.value = undefined;
      store.error.value = { message: "That message is not in this conversation's history on this device (it may be older than what is kept here, or was never received)." };
    });
    return;
  }
  batch(() => {
    store.reveal.value = { ...target, asked: true };
    request({ type: 'history/around', key, id: target.id }, { kind: 'around', key, id: target.id });
  });
}

export const messageActions = {
  /** The composer of the open conversation answers `m` (shown above it; Escape cancels). */
  startReply(m: TimelineMessage): void {
    const key = store.open.value?.key;
    if (key === undefined || m.deleted) return;
    store.replies.value = new Map(store.replies.value).set(key, { id: m.id, from: m.from, excerpt: excerptOf(m.text) });
    focusComposer();
  },

  cancelReply(key: ConversationId): void {
    const next = new Map(store.replies.value);
    if (!next.delete(key)) return;
    store.replies.value = next;
  },

  /**
   * Adds (`on`) or takes back my reaction `emoji` on message `id`. Returns why not, or undefined;
   * with `say`, why not is shown in the error bar too (a chip has no place of its own for it).
   */
  react(id: string, emoji: string, on: boolean, say = false): string | undefined {
    const key = store.open.value?.key;
    const e = emoji.trim();
    const problem = emojiProblem(e) ?? (key === undefined ? 'No conversation is open.' : undefined);
    if (problem || key === undefined) {
      if (say) store.error.value = { message: problem ?? 'No conversation is open.' };
      return problem;
    }
    request({ type: 'message/react', key, id, emoji: e, on }, { kind: 'bar' });
    return undefined;
  },

  /** Replaces my message `id`'s text. Returns why not, or undefined when asked. */
  edit(id: string, text: string): string | undefined {
    const key = store.open.value?.key;
    const problem = textProblem(text);
    if (problem || key === undefined) return problem ?? 'No conversation is open.';
    request({ type: 'message/edit', key, id, text }, { kind: 'bar' });
    return undefined;
  },

  /** Deletes my message `id` for everyone (the caller confirmed). */
  remove(id: string): void {
    const key = store.open.value?.key;
    if (key !== undefined) request({ type: 'message/delete', key, id }, { kind: 'bar' });
  },

  /** Scrolls to message `id` of the open conversation and marks it (a quote followed). */
  reveal(id: string): void {
    const key = store.open.value?.key;
    if (key === undefined) return;
    store.reveal.value = { key, id };
    continueReveal();
  },

  /** The timeline scrolled to the revealed message: it is marked for a moment. */
  revealed(id: string): void {
    clearTimeout(markTimer);
    batch(() => {
      store.reveal.value = undefined;
      store.marked.value = id;
    });
    markTimer = setTimeout(() => {
      if (store.marked.value === id) store.marked.value = undefined;
    }, MARK_MS);
  },

  openSearch(): void {
    if (!store.search.value.open) store.search.value = { ...store.search.value, open: true };
  },

  closeSearch(): void {
    clearTimeout(searchTimer);
    store.search.value = { ...store.search.value, open: false };
  },

  /** The search box changed: the query runs once typing pauses (SEARCH_DEBOUNCE_MS). */
  setSearchQuery(query: string): void {
    clearTimeout(searchTimer);
    const q = query.trim();
    const tooLong = q.length > SEARCH_LIMITS.queryChars ? `A search is at most ${SEARCH_LIMITS.queryChars} characters.` : undefined;
    // Cleared or too long: no answer in flight is shown any more.
    if (!q || tooLong) {
      store.search.value = { ...store.search.value, query, latest: undefined, results: [], answered: undefined, error: tooLong, active: 0 };
      return;
    }
    store.search.value = { ...store.search.value, query };
    searchTimer = setTimeout(() => {
      const requestId = request({ type: 'search/run', query: q }, { kind: 'search' });
      store.search.value = { ...store.search.value, latest: requestId, asked: q };
    }, SEARCH_DEBOUNCE_MS);
  },

  /** Moves the chosen result by `delta` (wrapping). */
  moveSearch(delta: number): void {
    const s = store.search.value;
    const n = s.results.length;
    if (n) store.search.value = { ...s, active: (s.active + delta + n) % n };
  },

  /** Opens a result: the host opens its conversation and answers with `message/revealed`. */
  openResult(hit: SearchHit): void {
    clearTimeout(searchTimer);
    store.search.value = { ...store.search.value, open: false };
    expectReveal(hit.key);
    post({ type: 'search/open', key: hit.key, id: hit.id });
  },
};
