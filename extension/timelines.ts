// Each conversation's timeline (messages and notices), loaded from its history file the first
// time it is needed and saved through the history store after each change. Message ids are
// indexed per conversation, so a duplicate (a message delivered twice, an echo after a reload)
// and a delivery receipt are found without scanning up to MAX_HISTORY_ITEMS items.

import type { ConversationId } from '../protocol/peer.ts';
import type { TimelineItem, TimelineMessage } from '../protocol/view.ts';
import type { History } from './history-store.ts';

interface Timeline {
  items: TimelineItem[];
  messages: Map<string, TimelineMessage>;
}

export class TimelineStore {
  private readonly timelines = new Map<ConversationId, Timeline>();
  private history?: History;

  /** Signed in: timelines load from and save to `history`. Signed out (undefined): all is forgotten. */
  use(history: History | undefined): void {
    this.history?.flush();
    this.history = history;
    this.timelines.clear();
  }

  /** The items of `key`, oldest first (the store's own array: read it, do not change it). */
  items(key: ConversationId): readonly TimelineItem[] {
    return this.get(key).items;
  }

  /** Adds `item` to `key`'s timeline; false (and nothing changes) for a message id already there. */
  append(key: ConversationId, item: TimelineItem): boolean {
    const timeline = this.get(key);
    if (item.kind === 'message') {
      if (timeline.messages.has(item.id)) return false;
      timeline.messages.set(item.id, item);
    }
    timeline.items.push(item);
    this.history?.changed(key, timeline.items);
    return true;
  }

  /** Records how many recipients acknowledged message `id`; false when `key` has no such message. */
  delivered(key: ConversationId, id: string, count: number, of: number): boolean {
    const timeline = this.get(key);
    const message = timeline.messages.get(id);
    if (!message) return false;
    message.delivered = { count, of };
    this.history?.changed(key, timeline.items);
    return true;
  }

  flush(): void {
    this.history?.flush();
  }

  private get(key: ConversationId): Timeline {
    let timeline = this.timelines.get(key);
    if (!timeline) {
      const items = this.history?.load(key) ?? [];
      const messages = new Map<string, TimelineMessage>();
      for (const item of items) if (item.kind === 'message') messages.set(item.id, item);
      timeline = { items, messages };
      this.timelines.set(key, timeline);
    }
    return timeline;
  }
}
