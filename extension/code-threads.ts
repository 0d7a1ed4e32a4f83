// Shared snippets as comment threads in the editor (VS Code's Comments API). A message that carries
// a snippet of a file this workspace has becomes a thread on those lines: the snippet message is
// its first comment, the replies to it follow. Replying in the thread's box sends a reply to the
// snippet message (the host's engine.reply), which comes back as a message like any other: the
// chat and the editor then show it once each. The thread follows the code (snippet-anchor.ts) as
// the file is edited, and says so when the code changed, with a compare view of the snippet as
// shared beside the file now.
//
// Bounded: MAX_THREADS snippet messages (the newest, each member's share kept: evictable), MAX_COMMENTS replies each, MAX_WAITING replies
// whose snippet message has not come yet. Files are only ever looked up inside the workspace
// folders (code-thread-files.ts).

import { randomUUID } from 'node:crypto';
import * as vscode from 'vscode';
import type { ConversationId } from '../protocol/peer.ts';
import type { Snippet, TimelineMessage } from '../protocol/view.ts';
import { conversationLabel, messageComment, threadContext, threadLabel } from './code-thread-comments.ts';
import { addThreadOwner, snippetDocumentChanged, type ThreadTarget } from './code-thread-commands.ts';
import { currentLines, findSnippetFile, type SnippetFile } from './code-thread-files.ts';
import { noticeText } from './labels.ts';
import { compareWithShared, snippetText, snippetUri } from './code-thread-original.ts';
import { anchorSnippet, DocumentLines, type Anchor } from './snippet-anchor.ts';

/** Snippet messages kept as threads: the newest by time sent. */
export const MAX_THREADS = 200;
/** Replies shown in one thread: the newest (the chat has them all). */
export const MAX_COMMENTS = 500;
/** Replies kept until their snippet message comes (history pages may bring a reply first). */
export const MAX_WAITING = 1000;
/** Snippet messages remembered as "no such file here", so their replies are not kept waiting. */
const MAX_ABSENT = 2000;
/** Quiet time after the last keystroke before the threads of a document find their code again, in ms. */
export const REANCHOR_DELAY_MS = 300;
/** Wait after a thread's file is found before placing it, so that the threads of one file are placed together, in ms. */
const PLACE_DELAY_MS = 50;
/** Longest stretch of placing threads in one extension-host task before typing and painting get a turn, in ms. */
const ANCHOR_SLICE_MS = 8;

export interface CodeThreadsHost {
  /** Sends `text` as a reply to message `id` of conversation `key` (engine.reply). */
  reply(key: ConversationId, id: string, text: string): Promise<void>;
  /** Opens the chat view at message `id` of `key`. */
  showInChat(key: ConversationId, id: string): void;
  /** My user name while signed in. */
  me(): string | undefined;
  /** The setting p2pChat.codeThreads. */
  enabled(): boolean;
}

/** One snippet message and what hangs on it. */
interface Root {
  /** Its key in `roots` (conversation and message id). */
  readonly ref: string;
  readonly key: ConversationId;
  title: string;
  message: TimelineMessage;
  readonly snippet: Snippet;
  /** Replies by message id (and replies to those replies). */
  readonly replies: Map<string, TimelineMessage>;
  file?: SnippetFile;
  anchor?: Anchor;
  thread?: vscode.CommentThread;
  /** The query of its `p2p-chat-snippet:` document. */
  readonly token: string;
}

/** A Map key for one message of one conversation (both strings from outside: never object keys). */
const refOf = (key: ConversationId, id: string) => JSON.stringify([key, id]);

export class CodeThreads implements vscode.Disposable {
  private readonly controller = vscode.comments.createCommentController('p2pChat.codeThreads', 'P2P Chat');
  /** Snippet messages by ref. */
  private readonly roots = new Map<string, Root>();
  /** Every message a thread holds (the snippet message and its replies) by ref: where a reply goes. */
  private readonly members = new Map<string, Root>();
  /** Replies whose snippet message has not come, by the reply's ref, oldest first. */
  private readonly waiting = new Map<string, { parent: string; key: ConversationId; m: TimelineMessage }>();
  /** Snippet messages whose file this workspace does not have (their replies are dropped). */
  private readonly absent = new Set<string>();
  private readonly threads = new WeakMap<vscode.CommentThread, Root>();
  private readonly byToken = new Map<string, Root>();
  /** Roots by their file's URI (toString()). */
  private readonly byFile = new Map<string, Set<Root>>();
  /** Anchorings waiting for a quiet moment, per file: a burst of edits or of new threads is one anchoring. */
  private readonly timers = new Map<string, { timer: NodeJS.Timeout; done: () => void }>();
  /** Per file, the number of the latest anchoring: an older one that finishes later is dropped. */
  private readonly anchoring = new Map<string, number>();
  /** Anchorings begun so far: each gets the next number, never reused. */
  private anchorings = 0;
  private readonly disposables: vscode.Disposable[] = [];
  /** File look-ups and anchorings under way (idle() waits for them). */
  private readonly busy = new Set<Promise<void>>();

  constructor(private readonly host: CodeThreadsHost) {
    this.controller.options = { prompt: 'Reply in the chat…', placeHolder: 'Your reply goes to the conversation the snippet was shared in' };
    this.disposables.push(
      addThreadOwner({ target: (t) => this.target(t), snippetDocument: (uri) => this.snippetDocument(uri) }),
      vscode.workspace.onDidChangeTextDocument((e) => e.contentChanges.length > 0 && this.schedule(e.document.uri, REANCHOR_DELAY_MS)),
      vscode.workspace.onDidOpenTextDocument((d) => this.schedule(d.uri, 0)),
      vscode.workspace.onDidCloseTextDocument((d) => this.schedule(d.uri, 0)),
      vscode.workspace.onDidChangeWorkspaceFolders(() => this.relocateAll()),
      vscode.workspace.onDidChangeConfiguration((e) => e.affectsConfiguration('p2pChat.codeThreads') && this.renderAll()),
    );
  }

  /** Every message, live or from history: one with a snippet makes a thread; a reply (m.replyTo.id) to one adds a comment to it. Idempotent per (key, m.id). */
  message(key: ConversationId, title: string, m: TimelineMessage): void {
    const ref = refOf(key, m.id);
    const known = this.roots.get(ref) ?? this.members.get(ref);
    if (known) {
      known.title = title;
      return this.updated(key, m);
    }
    if (m.snippet && !m.deleted) return this.addRoot(key, title, m, m.snippet);
    if (m.replyTo) this.addReply(key, m, refOf(key, m.replyTo.id));
  }

  /** A message changed (edited, deleted, reactions): its comment or thread follows. */
  updated(key: ConversationId, m: TimelineMessage): void {
    const ref = refOf(key, m.id);
    const root = this.roots.get(ref);
    if (root) {
      // Deleted: its snippet is gone from every store, so its thread goes too (and replies to it stay in the chat).
      if (m.deleted) {
        this.remove(root);
        return this.markAbsent(ref);
      }
      root.message = m;
      return this.render(root);
    }
    const holder = this.members.get(ref);
    if (holder) {
      holder.replies.set(m.id, m);
      return this.render(holder);
    }
    const waiting = this.waiting.get(ref);
    if (waiting) waiting.m = m;
  }

  /** A conversation left or closed: its threads go. */
  forget(key: ConversationId): void {
    for (const root of [...this.roots.values()]) if (root.key === key) this.remove(root);
    for (const [ref, w] of this.waiting) if (w.key === key) this.waiting.delete(ref);
    for (const ref of this.absent) if ((JSON.parse(ref) as string[])[0] === key) this.absent.delete(ref);
  }

  /** Signed out: every thread goes. */
  clear(): void {
    for (const root of [...this.roots.values()]) this.remove(root);
    this.waiting.clear();
    this.absent.clear();
  }

  dispose(): void {
    this.clear();
    for (const t of this.timers.values()) {
      clearTimeout(t.timer);
      t.done();
    }
    this.timers.clear();
    for (const d of this.disposables.splice(0)) d.dispose();
    this.controller.dispose();
  }

  /** The threads shown now, newest snippet first: the thread objects VS Code shows, as they are. */
  shown(): { key: ConversationId; id: string; thread: vscode.CommentThread }[] {
    return [...this.roots.values()]
      .filter((r) => r.thread)
      .sort((a, b) => b.message.sentAt - a.message.sentAt)
      .map((r) => ({ key: r.key, id: r.message.id, thread: r.thread! }));
  }

  /**
   * Where the snippet of message `id` of `key` is in its file now (1-based lines), when it has a
   * thread: what the timeline's path link should open instead of the lines as shared.
   */
  anchorOf(key: ConversationId, id: string): { uri: vscode.Uri; startLine: number; endLine: number; changed: boolean } | undefined {
    const root = this.roots.get(refOf(key, id));
    if (!root?.file || !root.anchor) return undefined;
    return { uri: root.file.uri, startLine: root.anchor.startLine, endLine: root.anchor.endLine, changed: root.anchor.state === 'changed' };
  }

  /** Resolves when no file look-up or anchoring is under way (every message told so far is placed, or has no file here). */
  async idle(): Promise<void> {
    while (this.busy.size > 0) await Promise.all(this.busy);
  }

  private track(work: Promise<void>): void {
    // Look-ups catch their own file errors; anything else is a bug, logged where the extension host logs.
    const p = work.catch((err: unknown) => console.error('P2P Chat: a code thread could not be placed', err)).finally(() => this.busy.delete(p));
    this.busy.add(p);
  }

  private addRoot(key: ConversationId, title: string, m: TimelineMessage, snippet: Snippet): void {
    const ref = refOf(key, m.id);
    if (this.absent.has(ref)) return;
    if (this.roots.size >= MAX_THREADS) {
      const victim = this.evictable(m);
      if (!victim) return;
      this.remove(victim);
    }
    const root: Root = { ref, key, title, message: m, snippet, replies: new Map(), token: randomUUID() };
    this.roots.set(ref, root);
    this.members.set(ref, root);
    this.byToken.set(root.token, root);
    for (const [wref, w] of this.waiting) {
      if (w.parent === ref) {
        this.waiting.delete(wref);
        this.attach(root, w.key, w.m);
      }
    }
    this.track(this.locate(root));
  }

  /**
   * The thread to drop for new snippet message `m` when MAX_THREADS are shown, or undefined to
   * drop `m` itself: the oldest of the member who shared the most (one member sharing snippets for
   * ever pushes out their own, never everyone else's); `m`'s sender when they are that member, and
   * then only a thread older than `m`.
   */
  private evictable(m: TimelineMessage): Root | undefined {
    const bySender = new Map<string, Root[]>();
    for (const r of this.roots.values()) {
      const list = bySender.get(r.message.from);
      if (list) list.push(r);
      else bySender.set(r.message.from, [r]);
    }
    const most = Math.max(...[...bySender.values()].map((l) => l.length));
    const theirs = bySender.get(m.from) ?? [];
    const from = theirs.length >= most ? theirs : [...bySender.values()].find((l) => l.length === most)!;
    const oldest = from.reduce((a, b) => (b.message.sentAt < a.message.sentAt ? b : a));
    if (from === theirs && oldest.message.sentAt >= m.sentAt) return undefined;
    return oldest;
  }

  private addReply(key: ConversationId, m: TimelineMessage, parent: string): void {
    const root = this.members.get(parent);
    if (root) {
      this.attach(root, key, m);
      return this.render(root);
    }
    if (this.absent.has(parent)) return;
    this.waiting.set(refOf(key, m.id), { parent, key, m });
    if (this.waiting.size > MAX_WAITING) this.waiting.delete(this.waiting.keys().next().value!);
  }

  /** Adds a reply to a thread, keeping its newest MAX_COMMENTS. */
  private attach(root: Root, key: ConversationId, m: TimelineMessage): void {
    root.replies.set(m.id, m);
    this.members.set(refOf(key, m.id), root);
    if (root.replies.size <= MAX_COMMENTS) return;
    const oldest = [...root.replies.values()].reduce((a, b) => (b.sentAt < a.sentAt ? b : a));
    root.replies.delete(oldest.id);
    this.members.delete(refOf(key, oldest.id));
  }

  private remove(root: Root): void {
    if (this.roots.get(root.ref) !== root) return;
    this.roots.delete(root.ref);
    this.members.delete(root.ref);
    for (const id of root.replies.keys()) this.members.delete(refOf(root.key, id));
    this.byToken.delete(root.token);
    // An open compare view of it shows that it is gone (never the deleted code as shared).
    if (root.file) snippetDocumentChanged(snippetUri(root.file, root.token));
    this.unfile(root);
    root.thread?.dispose();
    root.thread = undefined;
  }

  private unfile(root: Root): void {
    if (!root.file) return;
    const set = this.byFile.get(root.file.uri.toString());
    set?.delete(root);
    if (set?.size === 0) this.byFile.delete(root.file.uri.toString());
    root.file = undefined;
  }

  /** Finds the snippet's file in the workspace folders, then its lines there. */
  private async locate(root: Root): Promise<void> {
    const file = await findSnippetFile(root.snippet.path);
    if (this.roots.get(root.ref) !== root) return;
    this.unfile(root);
    if (!file) {
      this.remove(root);
      return this.markAbsent(root.ref);
    }
    root.file = file;
    const uri = file.uri.toString();
    const set = this.byFile.get(uri) ?? new Set<Root>();
    set.add(root);
    this.byFile.set(uri, set);
    // Many snippets of one file (history brings them together) are placed by one reading of it.
    this.schedule(file.uri, PLACE_DELAY_MS);
  }

  private markAbsent(ref: string): void {
    this.absent.add(ref);
    if (this.absent.size > MAX_ABSENT) this.absent.delete(this.absent.values().next().value!);
  }

  private relocateAll(): void {
    this.absent.clear();
    for (const root of this.roots.values()) this.track(this.locate(root));
  }

  private schedule(uri: vscode.Uri, delayMs: number): void {
    const key = uri.toString();
    if (!this.byFile.has(key)) return;
    const waiting = this.timers.get(key);
    if (waiting) clearTimeout(waiting.timer);
    let done = waiting?.done;
    // Counted as work under way from the first request to the anchoring that answers them all.
    if (!done) this.track(new Promise<void>((resolve) => (done = resolve)));
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.track(this.reanchor(uri).finally(done));
    }, delayMs);
    this.timers.set(key, { timer, done: done! });
  }

  /**
   * Places every thread of one file where its code is now: the file's lines are read once for all
   * of them (DocumentLines), and the work is cut into tasks of about ANCHOR_SLICE_MS, so that many
   * threads on a big file never hold up typing. Stops when another anchoring of the file is due
   * (an edit, a new thread): that one places them all again.
   */
  private async reanchor(uri: vscode.Uri): Promise<void> {
    const key = uri.toString();
    const run = ++this.anchorings;
    this.anchoring.set(key, run);
    const text = await currentLines(uri);
    const current = () => this.anchoring.get(key) === run && !this.timers.has(key);
    if (!current()) return;
    const lines = text && new DocumentLines(text);
    const placed: Root[] = [];
    let slice = performance.now();
    for (const root of [...(this.byFile.get(key) ?? [])]) {
      if (performance.now() - slice > ANCHOR_SLICE_MS) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (!current()) return;
        slice = performance.now();
      }
      // Gone (deleted, its conversation left) while this waited.
      if (!this.byFile.get(key)?.has(root)) continue;
      if (!lines) {
        root.anchor = undefined;
      } else {
        // Where the thread is now (VS Code moves it with edits above it), else where it was placed.
        const near = root.thread?.range ? root.thread.range.start.line + 1 : root.anchor?.startLine;
        root.anchor = anchorSnippet(lines, root.snippet, near);
      }
      // A thread shown already only moves (its comments follow the messages, not the file).
      if (root.thread && root.anchor && this.host.enabled()) this.place(root, root.thread, root.anchor);
      else this.render(root);
      placed.push(root);
    }
    this.anchoring.delete(key);
    if (lines) for (const root of placed) if (root.file) snippetDocumentChanged(snippetUri(root.file, root.token));
  }

  private renderAll(): void {
    for (const root of this.roots.values()) this.render(root);
  }

  /** Shows a root as its thread now is: created, updated, or gone (setting off, no file, no anchor). */
  private render(root: Root): void {
    if (!this.host.enabled() || !root.file || !root.anchor) {
      root.thread?.dispose();
      root.thread = undefined;
      return;
    }
    const { anchor } = root;
    const range = new vscode.Range(anchor.startLine - 1, 0, anchor.endLine - 1, 0);
    const conversation = conversationLabel(root.key, root.title);
    const replies = [...root.replies.values()].sort((a, b) => a.sentAt - b.sentAt);
    const comments = [messageComment(root.message, conversation), ...replies.map((m) => messageComment(m))];
    let thread = root.thread;
    if (!thread) {
      thread = this.controller.createCommentThread(root.file.uri, range, comments);
      thread.collapsibleState = vscode.CommentThreadCollapsibleState.Collapsed;
      root.thread = thread;
      this.threads.set(thread, root);
    } else {
      thread.comments = comments;
    }
    this.place(root, thread, anchor);
  }

  /** A shown thread's lines, title and reply box as `anchor` says; each sent to the editor only when it changes. */
  private place(root: Root, thread: vscode.CommentThread, anchor: Anchor): void {
    const range = new vscode.Range(anchor.startLine - 1, 0, anchor.endLine - 1, 0);
    if (!thread.range?.isEqual(range)) thread.range = range;
    const me = this.host.me();
    const canReply = me ? { name: me } : false;
    const was = thread.canReply;
    if (typeof was === 'object' && typeof canReply === 'object' ? was.name !== canReply.name : was !== canReply) thread.canReply = canReply;
    const label = threadLabel(conversationLabel(root.key, root.title), root.snippet, anchor);
    if (thread.label !== label) thread.label = label;
    const context = threadContext(anchor);
    if (thread.contextValue !== context) thread.contextValue = context;
  }

  private target(thread: vscode.CommentThread): ThreadTarget | undefined {
    const root = this.threads.get(thread);
    if (!root || root.thread !== thread) return undefined;
    return {
      reply: (text) => this.reply(root, text),
      showInChat: () => this.host.showInChat(root.key, root.message.id),
      showOriginal: async () => {
        if (root.file) await compareWithShared(root.file, root.token, conversationLabel(root.key, root.title));
      },
    };
  }

  private async reply(root: Root, text: string): Promise<void> {
    try {
      await this.host.reply(root.key, root.message.id, text);
    } catch (err) {
      // The text is not lost: the notice offers it back.
      const choice = await vscode.window.showErrorMessage(`P2P Chat did not send your reply: ${noticeText((err as Error).message)}`, 'Copy Reply');
      if (choice === 'Copy Reply') await vscode.env.clipboard.writeText(text);
    }
  }

  private snippetDocument(uri: vscode.Uri): string | undefined {
    const root = this.byToken.get(uri.query);
    return root?.file && root.anchor ? snippetText(root.file, root.anchor, root.snippet.code) : undefined;
  }
}
