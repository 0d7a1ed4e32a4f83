// Wiring of the code threads in the editor (extension/code-threads.ts, the Comments API): the
// window running the engine creates them at sign-in, tells them every message (live, and the
// newest snippet messages of each conversation, however far back, so existing snippets get
// threads, and its newest page for the replies), every change, and what
// they ask back (a reply, "show in chat"); the windows attached to it are told the same
// (code-thread-link.ts). A timeline's path link opens where its message's thread found the code now.

import type * as vscode from 'vscode';
import type { ChatEngine } from '../peer/engine.ts';
import type { HistoryMessage } from '../protocol/client.ts';
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

/** Messages of each conversation read at sign-in for the threads (the newest): replies to snippets. */
export const THREAD_FEED_MESSAGES = 200;
/**
 * Snippet messages of each conversation read at sign-in, however far back (code-threads.ts
 * MAX_THREADS: not imported, that module needs vscode): a snippet shared 200 messages ago keeps its thread.
 */
export const THREAD_FEED_SNIPPETS = 200;

/** A sink that may fall behind (another window's socket): `drained()` is awaited when it returns a promise. */
export type PacedSink = ThreadSink & { drained?(): Promise<void> | undefined };

/**
 * Tells `threads`, for every conversation listed, its newest THREAD_FEED_SNIPPETS messages carrying
 * a snippet (however far back: each makes a thread), then its newest THREAD_FEED_MESSAGES messages
 * (replies to them; a message told twice is told once, code-threads.ts). An unreadable conversation
 * is skipped and reported through `failed`. A batch goes out in one go (nothing told meanwhile can
 * come between its reading and its messages) unless `threads` falls behind.
 */
export async function feedNewest(engine: ChatEngine, model: ChatModel, threads: PacedSink, failed: (key: ConversationId, err: unknown) => void): Promise<void> {
  const me = engine.user;
  if (!me) return;
  for (const room of model.roomItems()) {
    try {
      const snippets = await engine.snippetMessages({ room: room.key }, THREAD_FEED_SNIPPETS);
      if (engine.user !== me) return; // signed out meanwhile
      if (!(await tell(engine, me, model, threads, room, snippets))) return;
      const page = await engine.history({ room: room.key }, { limit: THREAD_FEED_MESSAGES });
      if (engine.user !== me) return;
      if (!(await tell(engine, me, model, threads, room, page.messages))) return;
    } catch (err) {
      failed(room.key, err);
    }
  }
}

/** Tells `threads` the shown messages of `messages`, waiting while it is behind; false when `me` signed out meanwhile. */
async function tell(engine: ChatEngine, me: string, model: ChatModel, threads: PacedSink, room: { key: ConversationId; title: string }, messages: readonly HistoryMessage[]): Promise<boolean> {
  for (const m of messages) {
    if (m.deleted) continue;
    threads.message(room.key, room.title, fromHistory(m, me, m.replyTo !== undefined ? model.updates.quote(room.key, m.replyTo) : undefined));
    const behind = threads.drained?.();
    if (behind) {
      await behind;
      if (engine.user !== me) return false;
    }
  }
  return true;
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
