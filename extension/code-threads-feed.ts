// Wiring of the code threads in the editor (extension/code-threads.ts, the Comments API): the
// window running the engine creates them at sign-in, tells them every message (live, and the
// newest page of each conversation so existing snippets get threads), every change, and what
// they ask back (a reply, "show in chat").

import type * as vscode from 'vscode';
import type { ChatEngine } from '../peer/engine.ts';
import type { ConversationId } from '../protocol/peer.ts';
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

/** The code threads as the chat sees them (code-threads.ts CodeThreads). */
export type CodeThreadsLike = ThreadSink & vscode.Disposable;
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
