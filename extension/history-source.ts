// The timelines' history pages, read from the engine's store (one store for the terminal client
// and VS Code) and turned into what the view shows. Every message read also goes to the code
// threads, when this window has them.

import { HISTORY_PAGE_DEFAULT } from '../protocol/client.ts';
import type { ConversationId } from '../protocol/peer.ts';
import type { TimelineMessage } from '../protocol/view.ts';
import type { ChatEngine } from '../peer/engine.ts';
import { fromHistory } from './message-state.ts';
import type { ThreadSink } from './message-updates.ts';
import type { HistorySource } from './timelines.ts';

export interface HistoryParts {
  /** The quote shown for a reply to message `id` of `key`. */
  quote(key: ConversationId, id: string): TimelineMessage['replyTo'];
  threads(): ThreadSink | undefined;
  title(key: ConversationId): string;
}

/**
 * Pages of up to HISTORY_PAGE_DEFAULT messages of `engine`'s store: the newest, or those next to a
 * message (`cursor`: before, after or around it). Rejects as engine.history does.
 */
export function historyOf(engine: ChatEngine, parts: HistoryParts): HistorySource {
  return {
    page: async (key, cursor) => {
      const page = await engine.history({ room: key }, { limit: HISTORY_PAGE_DEFAULT, ...cursor });
      const me = engine.user!;
      const items = page.messages.map((m) => fromHistory(m, me, m.replyTo !== undefined && !m.deleted ? parts.quote(key, m.replyTo) : undefined));
      const threads = parts.threads();
      if (threads) for (const m of items) threads.message(key, parts.title(key), m);
      return { items, more: page.more, newer: page.newer, ...(page.gaps ? { gaps: page.gaps } : {}) };
    },
  };
}
