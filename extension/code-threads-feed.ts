// Wiring of the code threads in the editor (extension/code-threads.ts, the Comments API): the
// window running the engine creates them at sign-in, tells them every message (live, and the
// newest page of each conversation so existing snippets get threads), every change, and what
// they ask back (a reply, "show in chat"); the windows attached to it are told the same
// (code-thread-link.ts). A timeline's path link opens where its message's thread found the code now.

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

/** Where the thread of a snippet message found its code now (1-based lines), if it has a thread (code-threads.ts anchorOf). */
export interface ThreadAnchors {
  anchorOf?(key: ConversationId, id: string): { startLine: number; endLine: number } | undefined;
}

/** The code threads as the chat sees them (code-threads.ts CodeThreads). */
export type CodeThreadsLike = ThreadSink & vscode.Disposable & ThreadAnchors;
export type CodeThreadsFactory = (host: CodeThreadsHost) => CodeThreadsLike;

/** Messages of each conversation read at sign-in for the threads (the newest). */
export const THREAD_FEED_MESSAGES = 200;

/** A sink that may fall behind (another window's socket): `drained()` is awaited when it returns a promise. */
export type PacedSink = ThreadSink & { drained?(): Promise<void> | undefined };

/**
 * Tells `threads` the newest THREAD_FEED_MESSAGES messages of every conversation listed (an
 * unreadable one is skipped and reported through `failed`). A page goes out in one go (nothing
 * told meanwhile can come between its reading and its messages) unless `threads` falls behind.
 */
export async function feedNewest(engine: ChatEngine, model: ChatModel, threads: PacedSink, failed: (key: ConversationId, err: unknown) => void): Promise<void> {
  const me = engine.user;
  if (!me) return;
  for (const room of model.roomItems()) {
    try {
      const page = await engine.history({ room: room.key }, { limit: THREAD_FEED_MESSAGES });
      if (engine.user !== me) return; // signed out meanwhile
      for (const m of page.messages) {
        if (m.deleted) continue;
        threads.message(room.key, room.title, fromHistory(m, me, m.replyTo !== undefined ? model.updates.quote(room.key, m.replyTo) : undefined));
        const behind = threads.drained?.();
        if (behind) {
          await behind;
          if (engine.user !== me) return;
        }
      }
    } catch (err) {
      failed(room.key, err);
    }
  }
}

/**
 * What the code threads are told, passed on to each of `sinks()`: this window's threads and the
 * windows attached to it (code-thread-link.ts ThreadRelay), each showing the threads of files in
 * its own workspace folders.
 */
export class ThreadFeed implements ThreadSink {
  constructor(private readonly sinks: () => readonly (ThreadSink | undefined)[]) {}

  message(key: ConversationId, title: string, m: TimelineMessage): void {
    for (const s of this.sinks()) s?.message(key, title, m);
  }

  updated(key: ConversationId, m: TimelineMessage): void {
    for (const s of this.sinks()) s?.updated(key, m);
  }

  forget(key: ConversationId): void {
    for (const s of this.sinks()) s?.forget(key);
  }

  clear(): void {
    for (const s of this.sinks()) s?.clear();
  }
}
