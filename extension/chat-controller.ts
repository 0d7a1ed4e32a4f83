// Hosts the chat engine (peer/, unchanged) in the extension host: creates it for the configured
// tracker, signs in and out, restores the session from SecretStorage at start, and carries out
// what the view and the commands ask for. Errors reach the user in words that say what to do.

import * as vscode from 'vscode';
import { ChatEngine } from '../peer/engine.ts';
import { parseTrackerAddress } from '../protocol/address.ts';
import { normalizeUserName } from '../protocol/names.ts';
import { DEFAULT_TRACKER_PORT } from '../protocol/tracker.ts';
import { dmRoom, isDmRoom, type ConversationId } from '../protocol/peer.ts';
import type { HostToView, Snippet } from '../protocol/view.ts';
import { ChatModel } from './chat-model.ts';
import type { Attention } from './attention.ts';
import { feedNewest, ThreadFeed, type CodeThreadsFactory, type CodeThreadsLike, type PacedSink } from './code-threads-feed.ts';
import { ConversationActions } from './conversation-actions.ts';
import { joinRoomById } from './join-room.ts';
import { messageNotice, messageNotification } from './labels.ts';
import { codeOf, errorText } from './model-events.ts';
import type { ThreadSink } from './message-updates.ts';
import { openSnippetLink, type SnippetLink } from './snippet-open.ts';
import { unreachable } from './resume-retry.ts';
import { carryOut, type FromView } from './view-requests.ts';
import { atRestKey, secretAccountStore } from './secrets.ts';
import { verifyMember, type FingerprintToConfirm } from './verify-member.ts';

export type { FromView } from './view-requests.ts';

export interface ControllerHooks {
  post(message: HostToView): void;
  /** Every window's chat view as the user may see it (extension/attention.ts). */
  attention(): readonly Attention[];
  reveal(): Promise<void>;
  /** Keyboard focus to the view's composer, once the view is ready (extension/chat-view-provider.ts). */
  focusComposer(): void;
  changed(): void;
}

/** Delays between attempts to resume at startup while the tracker cannot be reached; the last repeats. */
const RESUME_RETRY_MS = [2_000, 5_000, 10_000, 30_000, 60_000];

/** globalState: the user name last signed in (the palette's Login and the view's form start with it). */
const LAST_USER = 'p2pChat.lastUser';

export class ChatController implements vscode.Disposable {
  readonly model: ChatModel;
  /** Replies, reactions, edits, deletes, search (extension/conversation-actions.ts). */
  readonly actions: ConversationActions;
  engine?: ChatEngine;
  /** The code threads in the editor: made at the first sign-in when a factory is set (setCodeThreads). */
  private threads?: CodeThreadsLike;
  /** What the threads are told: this window's threads and the attached windows' (threadRelay). */
  private threadFeed?: ThreadFeed;
  private threadsFactory?: CodeThreadsFactory;
  /** The code threads of the windows attached to this one (extension/code-thread-link.ts). */
  private threadRelay?: ThreadSink;
  /** To every view (this window's and attached windows'). */
  private readonly post: (m: HostToView) => void;
  private key?: Buffer;
  /** The next attempt to resume the saved session (restore), while the tracker is unreachable. */
  private resumeTimer?: NodeJS.Timeout;
  private disposed = false;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly hooks: ControllerHooks,
  ) {
    this.post = (m) => {
      hooks.post(m);
      if (m.type === 'rooms/changed' || m.type === 'session/changed' || m.type === 'host/snapshot') hooks.changed();
    };
    this.model = new ChatModel(
      {
        post: this.post,
        attention: () => hooks.attention(),
        notify: (kind, title, text, key) => this.notify(kind, title, text, key),
        directs: {
          // Read back checked: a damaged entry is dropped, not trusted (a non-array or non-string threw mid sign-in).
          load: (user) => {
            const raw = context.globalState.get<unknown>(`p2pChat.directs.${user}`);
            return Array.isArray(raw) ? raw.filter((k): k is string => typeof k === 'string' && isDmRoom(k)).slice(0, 10_000) : [];
          },
          save: (user, keys) => void context.globalState.update(`p2pChat.directs.${user}`, keys),
        },
        readMarks: {
          load: (user) => context.globalState.get<unknown>(`p2pChat.readMarks.${user}`),
          save: (user, marks) => void context.globalState.update(`p2pChat.readMarks.${user}`, marks),
        },
        readReceipts: () => vscode.workspace.getConfiguration('p2pChat').get<boolean>('readReceipts') ?? true,
        threads: () => this.threadFeed,
      },
      this.trackerAddress(),
    );
    this.actions = new ConversationActions({ engine: () => this.requireEngine(), model: this.model, reveal: () => hooks.reveal(), post: (m) => this.post(m) });
    // Set without a notification: nothing listens yet (activate() is still wiring the hooks).
    const last = this.lastUser();
    if (last) this.model.session = { ...this.model.session, lastUser: last };
  }

  /** The user name last signed in on this machine, if any. */
  lastUser(): string | undefined {
    const name = this.context.globalState.get<unknown>(LAST_USER);
    return typeof name === 'string' && name ? name : undefined;
  }

  /** Whether a session is saved to resume (SecretStorage): then the extension goes online at startup. */
  async hasSavedSession(): Promise<boolean> {
    return Boolean(await secretAccountStore(this.context.secrets).load());
  }

  // ---- settings ----------------------------------------------------------------------------------

  trackerAddress(): string {
    return vscode.workspace.getConfiguration('p2pChat').get<string>('trackerAddress') || `127.0.0.1:${DEFAULT_TRACKER_PORT}`;
  }

  // ---- sessions ----------------------------------------------------------------------------------

  /**
   * At start: resume the session kept in SecretStorage, without asking for anything. While the
   * tracker cannot be reached (VS Code started before the network, the tracker restarting), it
   * tries again after RESUME_RETRY_MS, until it is back or the user logs in or out; a refusal
   * (the session ended, a changed certificate) is final.
   */
  async restore(attempt = 0): Promise<void> {
    const saved = await secretAccountStore(this.context.secrets).load();
    if (!saved || this.disposed || this.loggedIn) return;
    try {
      const engine = await this.engineFor(saved.tracker);
      if (await engine.resume()) await this.signedIn(engine);
      else this.model.signedOut('Your last session has ended; log in again.');
    } catch (err) {
      if (this.disposed || this.loggedIn) return;
      if (!unreachable(err)) {
        this.model.setSession({ state: 'offline', detail: `Could not resume your session: ${errorText(err)}. Run "P2P Chat: Login" to try again.` });
        return;
      }
      const delay = RESUME_RETRY_MS[Math.min(attempt, RESUME_RETRY_MS.length - 1)]!;
      this.model.setSession({ state: 'offline', detail: `Could not reach the tracker to resume your session (${errorText(err)}); trying again in ${delay / 1000} s.` });
      clearTimeout(this.resumeTimer);
      this.resumeTimer = setTimeout(() => void this.restore(attempt + 1), delay);
    }
  }

  async login(tracker: string, user: string, password: string): Promise<void> {
    clearTimeout(this.resumeTimer);
    const engine = await this.engineFor(tracker);
    await this.signingIn(engine, () => engine.login(user, password));
    await this.signedIn(engine);
  }

  async register(tracker: string, user: string, password: string): Promise<void> {
    clearTimeout(this.resumeTimer);
    const engine = await this.engineFor(tracker);
    await this.signingIn(engine, async () => {
      await engine.register(user, password);
      await engine.login(user, password);
    });
    await this.signedIn(engine);
  }

  /**
   * Runs a sign-in; when it fails (a wrong password, a name taken), the tracker link it opened is
   * closed at once and the session is signed out, so the form shows the failure and nothing else
   * (the link used to stay "connecting" until the tracker dropped it for not logging in in time).
   */
  private async signingIn(engine: ChatEngine, work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (err) {
      if (!engine.user) {
        await engine.close().catch(() => {});
        this.model.setSession({ state: 'logged_out', user: undefined, detail: 'Log in to chat with your team.' });
      }
      throw err;
    }
  }

  async logout(): Promise<void> {
    clearTimeout(this.resumeTimer);
    await this.engine?.logout();
    this.model.signedOut('Signed out. Your history stays on this machine, sealed.');
    await vscode.commands.executeCommand('setContext', 'p2pChat.loggedIn', false);
  }

  get loggedIn(): boolean {
    return Boolean(this.engine?.user);
  }

  // ---- actions -----------------------------------------------------------------------------------

  async send(key: ConversationId, text: string, snippet?: Snippet): Promise<void> {
    const engine = this.requireEngine();
    const sent = await engine.sendRoom(key, text, snippet);
    if (isDmRoom(key)) this.model.keepDirect(key);
    this.model.addOwnMessage(key, { ...sent, text, ...(snippet ? { snippet } : {}) });
  }

  /** Shows the view and puts the keyboard focus in the open conversation's composer. */
  async focusComposer(): Promise<void> {
    await this.hooks.reveal();
    this.hooks.focusComposer();
  }

  /** Opens the next conversation with unread messages and focuses its composer; false when none has any. */
  async openNextUnread(): Promise<boolean> {
    this.requireEngine();
    const key = this.model.nextUnread();
    if (key === undefined) return false;
    await this.model.openConversation(key);
    await this.focusComposer();
    return true;
  }

  async openDirect(user: string): Promise<ConversationId> {
    const engine = this.requireEngine();
    const key = dmRoom(engine.user!, normalizeUserName(user));
    this.model.keepDirect(key);
    await this.model.openConversation(key);
    await this.hooks.reveal();
    return key;
  }

  async createRoom(name: string, password?: string): Promise<void> {
    const room = await this.requireEngine().createRoom(name, password !== undefined ? { password } : {});
    await this.model.openConversation(room.id); // posts the conversation list with it
  }

  /** Joins the directory room `id` (no `list_rooms`: extension/join-room.ts). */
  async joinRoom(id: string, password?: string): Promise<void> {
    await joinRoomById(this.requireEngine(), this.model, id, password);
  }

  /** Throws 'room.undelivered' (without `force`) while my messages there reached no member yet. */
  async leaveRoom(key: string, force = false): Promise<void> {
    await this.requireEngine().leaveRoom(key, force ? { force } : {});
    this.afterRoomGone(key);
  }

  /** Throws 'room.undelivered' (without `force`) while my messages there wait for a member. */
  async closeRoom(key: string, force = false): Promise<void> {
    await this.requireEngine().closeRoom(key, force ? { force } : {});
    this.afterRoomGone(key);
  }

  async kick(key: string, user: string): Promise<void> {
    await this.requireEngine().kick(key, user);
  }

  /**
   * Verify Member (extension/verify-member.ts): `confirm` shows the fingerprint; only when it
   * resolves true is that very key marked verified, and only then does the view show the badge.
   */
  async verifyMember(user: string, confirm: (shown: FingerprintToConfirm) => Promise<boolean>): Promise<void> {
    const verified = await verifyMember(this.requireEngine(), user, confirm);
    if (verified) this.model.markVerified(verified);
  }

  /**
   * Handles what the webview asks (extension/view-requests.ts): a request gets its own
   * `request/completed`, a command that fails a `notice/shown`, both sent to `reply` (the view that
   * asked: this window's by default, or another window's).
   */
  fromView(message: FromView, reply: (m: HostToView) => void = (m) => this.hooks.post(m)): Promise<void> {
    return carryOut(this, message, reply);
  }

  /**
   * The code threads of this window (extension/code-threads.ts), made at sign-in by `factory`; only
   * the window running the engine sets it (the threads reply through this engine).
   */
  setCodeThreads(factory: CodeThreadsFactory): void {
    this.threadsFactory = factory;
  }

  /** The code threads of the windows attached to this one: told what this window's threads are told. */
  setThreadRelay(relay: ThreadSink): void {
    this.threadRelay = relay;
  }

  /**
   * A window attached to this one asked for its code threads: the newest messages of every
   * conversation go to `threads` alone (what comes after goes to every window through the relay).
   */
  async feedThreads(threads: PacedSink): Promise<void> {
    const engine = this.engine;
    if (!engine?.user) return; // signed out: the threads come at sign-in, through the relay
    await feedNewest(engine, this.model, threads, (key, err) => this.post({ type: 'notice/shown', message: `Code threads of another window: could not read the history of ${this.model.title(key)}: ${errorText(err)}`, ...codeOf(err) }));
  }

  /**
   * A timeline's path link: opens `path` (in the workspace folders only, extension/snippet-open.ts)
   * at lines `line`-`endLine`, or where the code thread of `message` (the message carrying the
   * snippet) found its code now.
   */
  openSnippet(path: string, line: number, endLine: number, message?: SnippetLink['message']): Promise<void> {
    return openSnippetLink({ path, line, endLine, ...(message ? { message } : {}) }, this.threads);
  }

  /** Opens conversation `key` at message `id` in the view (search results, a code thread's "show in chat"). */
  showMessage(key: ConversationId, id: string): Promise<void> {
    return this.actions.open(key, id);
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    clearTimeout(this.resumeTimer);
    this.threads?.dispose();
    this.threads = undefined;
    this.threadFeed = undefined;
    await this.engine?.close();
  }

  // ---- internals ---------------------------------------------------------------------------------

  requireEngine(): ChatEngine {
    if (!this.engine?.user) throw new Error('You are not logged in. Run "P2P Chat: Login" first.');
    return this.engine;
  }

  private afterRoomGone(key: ConversationId): void {
    this.model.closeConversation(key);
  }

  /**
   * History comes from the engine's store (peer/), which both clients share. The sealed files the
   * extension used to write (<user folder>/history/*.history) are neither read nor deleted: they
   * hold view items without the signatures and sequence numbers the store keeps, and the engine
   * has no entry point to import them, so they are left as they were.
   */
  private async signedIn(engine: ChatEngine): Promise<void> {
    await this.context.globalState.update(LAST_USER, engine.user);
    this.model.setSession({ lastUser: engine.user! });
    await this.model.signedIn(engine);
    await vscode.commands.executeCommand('setContext', 'p2pChat.loggedIn', true);
    this.startThreads(engine);
  }

  /** The code threads get the newest messages of every conversation (in the background: sign-in stays fast). */
  private startThreads(engine: ChatEngine): void {
    if (!this.threadsFactory && !this.threadRelay) return;
    if (this.threadsFactory) this.threads ??= this.threadsFactory({
      reply: (key, id, text) => this.actions.reply(key, id, text),
      showInChat: (key, id) => void this.showMessage(key, id).catch((err: unknown) => this.post({ type: 'notice/shown', message: `Could not show the message in the chat: ${errorText(err)}`, ...codeOf(err) })),
      me: () => this.engine?.user,
      enabled: () => vscode.workspace.getConfiguration('p2pChat').get<boolean>('codeThreads') ?? true,
    });
    const threads = (this.threadFeed ??= new ThreadFeed(() => [this.threads, this.threadRelay]));
    void feedNewest(engine, this.model, threads, (key, err) => this.post({ type: 'notice/shown', message: `Code threads: could not read the history of ${this.model.title(key)}: ${errorText(err)}`, ...codeOf(err) }));
  }

  /** An engine for this tracker (a new one if the address changed). */
  private async engineFor(tracker: string): Promise<ChatEngine> {
    const address = parseTrackerAddress(tracker);
    const text = `${address.host}:${address.port}`;
    if (this.engine && this.engine.trackerAddress === text) {
      if (this.engine.user) throw new Error(`Already logged in as ${this.engine.user}. Log out first.`);
      return this.engine;
    }
    await this.engine?.close();
    this.key ??= await atRestKey(this.context.secrets);
    const storage = this.context.globalStorageUri.fsPath;
    const config = vscode.workspace.getConfiguration('p2pChat');
    const engine = new ChatEngine({
      dataDir: storage,
      perUserFolders: true,
      tracker: address,
      peerPort: config.get<number>('peerPort') ?? 0,
      accountStore: secretAccountStore(this.context.secrets),
      atRestKey: this.key,
      trustTracker: (fingerprint, addr) => this.trustTracker(fingerprint, addr),
    });
    const pinned = config.get<string>('trackerFingerprint');
    if (pinned && !engine.pinnedTrackerFingerprint) engine.data.setTrackerPin(text, pinned);
    this.engine = engine;
    this.model.attach(engine);
    this.model.setSession({ tracker: text });
    return engine;
  }

  private async trustTracker(fingerprint: string, address: string): Promise<boolean> {
    const choice = await vscode.window.showWarningMessage(
      `First connection to the tracker at ${address}. Trust it?`,
      {
        modal: true,
        detail: `Its certificate fingerprint (SHA-256) is:\n\n${fingerprint}\n\nCompare it with the fingerprint "node tracker" printed when it started. If they differ, someone may be impersonating your tracker: cancel. P2P Chat remembers it and refuses a different one later.`,
      },
      'Trust',
    );
    return choice === 'Trust';
  }

  private notify(kind: 'direct' | 'mention' | 'message', title: string, text: string, key: string): void {
    const config = vscode.workspace.getConfiguration('p2pChat');
    const setting = config.get<string>('notifications') ?? 'directAndMentions';
    if (setting === 'off' || (setting === 'directAndMentions' && kind === 'message')) return;
    const shown = config.get<boolean>('notificationPreview') ? messageNotification(title, text) : messageNotice(kind, title);
    void vscode.window.showInformationMessage(shown, 'Open').then(async (choice) => {
      if (choice !== 'Open') return;
      await this.model.openConversation(key);
      await this.focusComposer();
    });
  }
}
