// A message changed (`message/updated`): the places outside the timeline that show its text
// follow, so a deleted message's text leaves the view at once and an edit shows everywhere.
// Pure functions: receive.ts applies them to the store.

import type { ConversationId, TimelineMessage } from '../protocol/view.ts';
import type { ReplyDraft, SearchState } from './state.ts';
import { excerptOf } from './timeline-window.ts';

/**
 * Search results after message `m` of `key` changed: its hit is dropped when it was deleted and
 * shows the new text when edited. The same object when no hit is that message (nothing to redraw).
 */
export function searchAfterUpdate(search: SearchState, key: ConversationId, m: TimelineMessage): SearchState {
  const i = search.results.findIndex((hit) => hit.key === key && hit.id === m.id);
  if (i < 0) return search;
  const hit = search.results[i]!;
  if (m.deleted) {
    const results = search.results.filter((_, j) => j !== i);
    // The chosen result stays the same message when it was after the dropped one.
    const active = search.active > i ? search.active - 1 : Math.min(search.active, Math.max(0, results.length - 1));
    return { ...search, results, active };
  }
  if (hit.text === m.text) return search;
  const results = search.results.slice();
  results[i] = { ...hit, text: m.text };
  return { ...search, results };
}

/**
 * Reply drafts after message `m` of `key` changed: a draft answering it shows its new text, or
 * that it was deleted (and then cannot be sent, see actions.ts send). The same map when none answers it.
 */
export function repliesAfterUpdate(replies: ReadonlyMap<ConversationId, ReplyDraft>, key: ConversationId, m: TimelineMessage): ReadonlyMap<ConversationId, ReplyDraft> {
  const draft = replies.get(key);
  if (!draft || draft.id !== m.id) return replies;
  const next: ReplyDraft = m.deleted ? { id: m.id, from: draft.from, excerpt: '', deleted: true } : { id: m.id, from: draft.from, excerpt: excerptOf(m.text) };
  if (next.excerpt === draft.excerpt && Boolean(next.deleted) === Boolean(draft.deleted)) return replies;
  return new Map(replies).set(key, next);
}
