// The sidebar's conversations: the rooms the engine has joined and the direct conversations kept
// here (the engine keeps no list of those: they are saved per user through ModelHooks.directs),
// each with its unread counts, in the sidebar's order. Titles come from here too, so the
// sidebar, notifications and code threads name a conversation the same way.

import { isDmRoom, type ConversationId } from '../protocol/peer.ts';
import type { RoomItem } from '../protocol/view.ts';
import type { ChatEngine } from '../peer/engine.ts';
import type { ReadMarks } from './read-state.ts';

/** Where the direct conversations of a user are kept across reloads (ModelHooks.directs). */
export interface DirectsStore {
  load(user: string): string[];
  save(user: string, keys: string[]): void;
}

/**
 * The next conversation with unread messages after `openKey` in `items` (the sidebar's order: the
 * holder's items(), or the rooms it posted to an attached window), round again from the top, the
 * open one last (it has unread messages when the view was hidden); from the top when `openKey` is
 * not listed; undefined when none has any.
 */
export function nextUnreadIn(items: readonly Pick<RoomItem, 'key' | 'unread'>[], openKey: ConversationId | undefined): ConversationId | undefined {
  const at = items.findIndex((r) => r.key === openKey);
  for (let i = 1; i <= items.length; i++) {
    const item = items[(at + i + items.length) % items.length]!;
    if (item.unread > 0) return item.key;
  }
  return undefined;
}

export class ConversationList {
  private readonly dms = new Set<ConversationId>();

  constructor(
    private readonly engine: () => ChatEngine | undefined,
    private readonly marks: ReadMarks,
    private readonly directs: () => DirectsStore | undefined,
  ) {}

  /** After sign-in: the direct conversations `user` kept here before. */
  load(user: string): void {
    for (const key of this.directs()?.load(user) ?? []) this.dms.add(key);
  }

  clear(): void {
    this.dms.clear();
  }

  /** Lists the direct conversation `key` from now on (saved for the signed-in user); false if it was listed. */
  keep(key: ConversationId): boolean {
    if (this.dms.has(key)) return false;
    this.dms.add(key);
    const user = this.engine()?.user;
    if (user) this.directs()?.save(user, [...this.dms]);
    return true;
  }

  /** The direct conversation kept here with `user`, if any. */
  directWith(user: string): ConversationId | undefined {
    return [...this.dms].find((k) => k.split(':').slice(1).includes(user));
  }

  /** Joined rooms, then direct conversations; empty when signed out. */
  items(): RoomItem[] {
    const engine = this.engine();
    if (!engine?.user) return [];
    const rooms: RoomItem[] = engine.joinedRooms().map((r) => ({
      key: r.id,
      title: r.name,
      direct: false,
      private: r.private,
      ...this.marks.counts(r.id),
      ...(r.owner ? { owner: r.owner } : {}),
      members: r.members,
      forked: r.forked,
    }));
    const dms: RoomItem[] = [...this.dms].map((key) => ({ key, title: this.directTitle(key), direct: true, private: true, ...this.marks.counts(key), members: 2, forked: false }));
    return [...rooms, ...dms];
  }

  /** The next conversation with unread messages after `openKey` (nextUnreadIn over items()). */
  nextUnread(openKey: ConversationId | undefined): ConversationId | undefined {
    return nextUnreadIn(this.items(), openKey);
  }

  /** Unread messages in the conversations listed now (a room left keeps no count). */
  totalUnread(): number {
    let n = 0;
    for (const item of this.items()) n += item.unread;
    return n;
  }

  /** A room's name, the other person's for a direct conversation; the key itself for a room no longer joined. */
  title(key: ConversationId): string {
    if (isDmRoom(key)) return this.directTitle(key);
    return this.engine()?.joinedRooms().find((r) => r.id === key)?.name ?? key;
  }

  private directTitle(key: ConversationId): string {
    return key.split(':').slice(1).find((u) => u !== this.engine()?.user) ?? key;
  }
}
