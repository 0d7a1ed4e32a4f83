// Wiring of the code threads in the editor (extension/code-threads.ts, the Comments API): the
// window running the engine creates them at sign-in, tells them every message (live, and the
// newest page of each conversation so existing snippets get threads), every change, and what
// they ask back (a reply, "show in chat"); a timeline's path link opens where a thread's code is now.

import type * as vscode from 'vscode';
import type { ChatEngine } from '../peer/engine.ts';
import type { ConversationId } from '../protocol/peer.ts';
import type { TimelineMessage } from '../protocol/view.ts';
import type { ChatModel } from './chat-model.ts';
import { fromHistory } from './message-state.ts';
import type { ThreadSink } from './message-updates.ts';

/** What the code threads ask of the chat (code-threads.ts CodeThreadsHost). */
export interface CodeThreadsHost {
  reply(key: ConversationId, id: string, text: string): Promise<void>;
  showInChat(key: ConversationId, id: string): void;
  me(): string | undefined;
  enabled(): boolean;
}

/** The code threads as the chat sees them (code-threads.ts CodeThreads); `anchorOf`: where a snippet's code is now (1-based lines). */
export type CodeThreadsLike = ThreadSink & vscode.Disposable & { anchorOf?(key: ConversationId, id: string): { startLine: number; endLine: number } | undefined };
export type CodeThreadsFactory = (host: CodeThreadsHost) => CodeThreadsLike;

/** Messages of each conversation read at sign-in for the threads (the newest). */
export const THREAD_FEED_MESSAGES = 200;

/**
 * Tells `threads` the newest THREAD_FEED_MESSAGES messages of every conversation listed (an
 * unreadable one is skipped and reported through `failed`).
 */
export async function feedNewest(engine: ChatEngine, model: ChatModel, threads: ThreadSink, failed: (key: ConversationId, err: unknown) => void): Promise<void> {
  const me = engine.user;
  if (!me) return;
  for (const room of model.roomItems()) {
    try {
      const page = await engine.history({ room: room.key }, { limit: THREAD_FEED_MESSAGES });
      if (engine.user !== me) return; // signed out meanwhile
      for (const m of page.messages) {
        if (m.deleted) continue;
        threads.message(room.key, room.title, fromHistory(m, me, m.replyTo !== undefined ? model.updates.quote(room.key, m.replyTo) : undefined));
      }
    } catch (err) {
      failed(room.key, err);
    }
  }
}

/** Snippet messages remembered for their path links (the newest per place). */
const MAX_PLACES = 2_000;

/**
 * What the code threads are told, passed on, with the snippet messages remembered by where they
 * were shared (path and lines): a timeline's path link names only those, and opens where the
 * thread's code is now (anchored) instead of the lines as shared.
 */
export class ThreadFeed implements ThreadSink {
  /** By JSON [path, startLine, endLine] (a Map: paths come from peers). */
  private readonly places = new Map<string, { key: ConversationId; id: string; sentAt: number }>();

  constructor(private readonly threads: CodeThreadsLike) {}

  message(key: ConversationId, title: string, m: TimelineMessage): void {
    if (m.snippet && !m.deleted) {
      const place = JSON.stringify([m.snippet.path, m.snippet.startLine, m.snippet.endLine]);
      const before = this.places.get(place);
      if (!before || before.sentAt <= m.sentAt) {
        this.places.delete(place);
        this.places.set(place, { key, id: m.id, sentAt: m.sentAt });
        if (this.places.size > MAX_PLACES) this.places.delete(this.places.keys().next().value!);
      }
    }
    this.threads.message(key, title, m);
  }

  updated(key: ConversationId, m: TimelineMessage): void {
    if (m.deleted) this.drop((p) => p.key === key && p.id === m.id);
    this.threads.updated(key, m);
  }

  forget(key: ConversationId): void {
    this.drop((p) => p.key === key);
    this.threads.forget(key);
  }

  clear(): void {
    this.places.clear();
    this.threads.clear();
  }

  /** Where the code of the newest snippet shared at `path` lines `startLine`-`endLine` is now, if a thread placed it. */
  anchor(path: string, startLine: number, endLine: number): { startLine: number; endLine: number } | undefined {
    const place = this.places.get(JSON.stringify([path, startLine, endLine]));
    const at = place ? this.threads.anchorOf?.(place.key, place.id) : undefined;
    return at ? { startLine: at.startLine, endLine: at.endLine } : undefined;
  }

  private drop(match: (p: { key: ConversationId; id: string }) => boolean): void {
    for (const [place, p] of this.places) if (match(p)) this.places.delete(place);
  }
}
