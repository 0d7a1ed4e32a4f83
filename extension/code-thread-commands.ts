// The code threads' commands (package.json: p2pChat.threadReply in the thread's reply box,
// p2pChat.threadShowInChat and p2pChat.threadShowOriginal in its title) and the read-only
// `p2p-chat-snippet:` documents the compare view shows. A command id and a URI scheme are one per
// extension host, but more than one CodeThreads may live in it at a time (the extension's, and an
// extension-host test's next to it, each bundled with its own copy of this module): so they are
// registered once for the process, while any owner is alive, and each call goes to the owner of
// the thread it names. Arguments come from VS Code or from any extension running a command: only a
// thread object an owner created is acted on, anything else is ignored.

import * as vscode from 'vscode';

export const SNIPPET_SCHEME = 'p2p-chat-snippet';
export const THREAD_COMMANDS = {
  reply: 'p2pChat.threadReply',
  showInChat: 'p2pChat.threadShowInChat',
  showOriginal: 'p2pChat.threadShowOriginal',
} as const;

/** What an owner does for one of its threads. */
export interface ThreadTarget {
  reply(text: string): Promise<void>;
  showInChat(): void;
  showOriginal(): Promise<void>;
}

/** A CodeThreads as the shared registration sees it. */
export interface ThreadOwner {
  /** The target for a thread this owner created, else undefined. */
  target(thread: vscode.CommentThread): ThreadTarget | undefined;
  /** The text of a `p2p-chat-snippet:` document this owner made (by the URI's query), else undefined. */
  snippetDocument(uri: vscode.Uri): string | undefined;
}

interface Registration {
  owners: Set<ThreadOwner>;
  disposables: vscode.Disposable[];
  changed: vscode.EventEmitter<vscode.Uri> | undefined;
}

const KEY = Symbol.for('p2p-chat.code-threads.registration');

function registration(): Registration {
  const g = globalThis as unknown as Record<symbol, Registration | undefined>;
  return (g[KEY] ??= { owners: new Set(), disposables: [], changed: undefined });
}

function threadOf(arg: unknown): vscode.CommentThread | undefined {
  return typeof arg === 'object' && arg !== null ? (arg as vscode.CommentThread) : undefined;
}

function targetFor(arg: unknown): ThreadTarget | undefined {
  const thread = threadOf(arg);
  if (!thread) return undefined;
  for (const owner of registration().owners) {
    const target = owner.target(thread);
    if (target) return target;
  }
  return undefined;
}

/**
 * Adds `owner`; the first one alive registers the commands and the snippet documents' provider.
 * The returned Disposable removes it (the last one out unregisters them).
 */
export function addThreadOwner(owner: ThreadOwner): vscode.Disposable {
  const reg = registration();
  reg.owners.add(owner);
  if (reg.owners.size === 1) {
    const changed = new vscode.EventEmitter<vscode.Uri>();
    reg.changed = changed;
    reg.disposables = [
      changed,
      vscode.commands.registerCommand(THREAD_COMMANDS.reply, async (reply: unknown) => {
        const text = typeof reply === 'object' && reply !== null ? (reply as { text?: unknown }).text : undefined;
        const target = targetFor((reply as { thread?: unknown } | undefined)?.thread);
        if (target && typeof text === 'string' && text.trim() !== '') await target.reply(text);
      }),
      vscode.commands.registerCommand(THREAD_COMMANDS.showInChat, (thread: unknown) => targetFor(thread)?.showInChat()),
      vscode.commands.registerCommand(THREAD_COMMANDS.showOriginal, async (thread: unknown) => targetFor(thread)?.showOriginal()),
      vscode.workspace.registerTextDocumentContentProvider(SNIPPET_SCHEME, {
        onDidChange: changed.event,
        provideTextDocumentContent: (uri) => {
          for (const o of registration().owners) {
            const text = o.snippetDocument(uri);
            if (text !== undefined) return text;
          }
          return 'This shared snippet is no longer shown here (its message was deleted, its conversation was closed, or you signed out).';
        },
      }),
    ];
  }
  return new vscode.Disposable(() => {
    if (!reg.owners.delete(owner) || reg.owners.size > 0) return;
    for (const d of reg.disposables.splice(0)) d.dispose();
    reg.changed = undefined;
  });
}

/** Tells an open compare view that a snippet document's text changed (the file it is made from moved on). */
export function snippetDocumentChanged(uri: vscode.Uri): void {
  registration().changed?.fire(uri);
}
