// The code threads of a window attached to another window's engine (extension/window-link.ts):
// the holder passes on what its threads are told (code-thread-link.ts), and this window shows the
// threads of the files in ITS workspace folders. A reply typed in one of them is a view request
// sent through the link (the holder's engine sends it; it comes back like any message, to the
// chat and to the threads of every window); "show in chat" opens it in this window's view.

import * as vscode from 'vscode';
import type { ConversationId } from '../protocol/peer.ts';
import type { HostToView, ViewRequestParams, WindowToHost } from '../protocol/view.ts';
import { CodeThreads } from './code-threads.ts';
import type { ThreadSink } from './message-updates.ts';
import { openSnippetLink, type SnippetLink } from './snippet-open.ts';

/** What the threads need of the attached window (extension.ts's AttachedWindow). */
export interface ThreadsWindow {
  /** My user name while the holder says I am signed in. */
  user(): string | undefined;
  send(message: WindowToHost): boolean;
  request(params: ViewRequestParams): Promise<Extract<HostToView, { type: 'request/completed' }>>;
  reveal(): Promise<void>;
}

const CHANGING = 'the window running the chat is changing; try again in a moment';

export class AttachedThreads implements ThreadSink, vscode.Disposable {
  private readonly threads: CodeThreads;
  private disposed = false;

  constructor(w: ThreadsWindow) {
    this.threads = new CodeThreads({
      reply: async (key, id, text) => {
        await w.request({ type: 'message/send', key, text, replyTo: id });
      },
      showInChat: (key, id) => {
        const failed = (why: string) => void vscode.window.showWarningMessage(`P2P Chat could not show the message in the chat: ${why}.`);
        w.reveal().then(() => {
          if (!w.send({ type: 'search/open', key, id })) failed(CHANGING);
        }, (err: unknown) => failed((err as Error).message));
      },
      me: () => w.user(),
      enabled: () => vscode.workspace.getConfiguration('p2pChat').get<boolean>('codeThreads') ?? true,
    });
  }

  message(key: ConversationId, title: string, m: Parameters<ThreadSink['message']>[2]): void {
    this.threads.message(key, title, m);
  }

  updated(key: ConversationId, m: Parameters<ThreadSink['updated']>[1]): void {
    this.threads.updated(key, m);
  }

  forget(key: ConversationId): void {
    this.threads.forget(key);
  }

  clear(): void {
    this.threads.clear();
  }

  /** The threads shown in this window (tests read them). */
  shown(): ReturnType<CodeThreads['shown']> {
    return this.threads.shown();
  }

  /** Resolves when every thread told so far is placed (tests). */
  idle(): Promise<void> {
    return this.threads.idle();
  }

  /** A path link clicked in this window's timeline: opens where this window's thread of its message found the code. */
  openSnippet(link: SnippetLink): Promise<void> {
    return openSnippetLink(link, this.threads);
  }

  /** Once (the link's close and the window's shutdown both end them). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.threads.dispose();
  }
}
