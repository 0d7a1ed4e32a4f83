// Search over every conversation's stored history (issue 12). Interface fixed for the engine;
// the implementation is being built (see the helper owning this file).

import type { ConversationId } from '../protocol/peer.ts';

/** One message as the index sees it: `text` its current text (a snippet's path and code appended). */
export interface IndexedMessage {
  conversation: ConversationId;
  id: string;
  from: string;
  sentAt: number;
  text: string;
}

/** A hit: the message, `text` cut to its context around the first match. */
export type SearchHitRow = IndexedMessage;

export class SearchIndex {
  /** `load` yields every stored message (deleted ones not); called once, on the first search or warm(). */
  constructor(private readonly load: () => Iterable<IndexedMessage>) {}

  /** Builds the index now (in slices, yielding to the event loop), so the first search is fast. */
  async warm(): Promise<void> {}

  /** Adds `m`, or replaces it (an edit) when (conversation, id) is indexed already. */
  put(m: IndexedMessage): void {
    void m;
  }

  /** Removes one message (deleted). */
  remove(conversation: ConversationId, id: string): void {
    void conversation; void id;
  }

  /** Removes a conversation's messages (left or closed). */
  forget(conversation: ConversationId): void {
    void conversation;
  }

  /** Messages whose text contains every word of `query`, newest first, at most `limit`. */
  search(query: string, opts: { conversation?: ConversationId; limit: number }): SearchHitRow[] {
    void query; void opts; void this.load;
    return [];
  }
}
