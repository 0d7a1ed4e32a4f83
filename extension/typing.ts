// Who is typing in each conversation, as the view shows it ("bob is typing"). Each user's mark
// fades on its own timer if their client goes quiet without saying it stopped; this file owns
// those timers and says when a conversation's typing users change.

import type { ConversationId } from '../protocol/peer.ts';

/** "bob is typing" fades if bob's client goes quiet without saying it stopped. */
export const TYPING_TIMEOUT_MS = 6000;

export class TypingUsers {
  private readonly byConversation = new Map<ConversationId, Map<string, ReturnType<typeof setTimeout>>>();

  constructor(
    /** Called with a conversation's typing users whenever they change. */
    private readonly changed: (key: ConversationId, users: string[]) => void,
    private readonly timeoutMs = TYPING_TIMEOUT_MS,
  ) {}

  /** `user` started (or is still) typing in `key`, or stopped. */
  set(key: ConversationId, user: string, active: boolean): void {
    if (!active) return this.clear(key, user);
    const users = this.byConversation.get(key) ?? new Map<string, ReturnType<typeof setTimeout>>();
    clearTimeout(users.get(user));
    users.set(user, setTimeout(() => this.clear(key, user), this.timeoutMs));
    this.byConversation.set(key, users);
    this.changed(key, this.users(key));
  }

  /** `user` is no longer typing in `key` (they sent a message, or their mark faded). */
  clear(key: ConversationId, user: string): void {
    const users = this.byConversation.get(key);
    if (!users?.has(user)) return;
    clearTimeout(users.get(user));
    users.delete(user);
    if (!users.size) this.byConversation.delete(key);
    this.changed(key, this.users(key));
  }

  users(key: ConversationId): string[] {
    return [...(this.byConversation.get(key)?.keys() ?? [])];
  }

  /** Stops every timer (sign-out, dispose); nothing is reported. */
  reset(): void {
    for (const users of this.byConversation.values()) for (const timer of users.values()) clearTimeout(timer);
    this.byConversation.clear();
  }
}
