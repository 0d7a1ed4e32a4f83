// Activation: wires the chat engine (peer/, unchanged) to the sidebar view, the commands and the
// status bar. It activates when VS Code has started (`onStartupFinished`, so a saved session is
// online, notified and reachable from the first minute, with the view hidden), or earlier when the
// view opens or a P2P Chat command runs. Without a saved session nothing more than the status
// item is made: no engine, no connection, until the user logs in.
//
// Windows on one machine share one session (extension/window-link.ts): the first window takes the
// data folder's lock (peer/folder-lock.ts, a listening socket in the global storage folder) and
// runs the engine; every other window attaches to it and shows what it posts. When the holder's
// window closes or reloads, its lock is released after the engine has closed, the attached windows
// race for it, the winner resumes the saved session (no password) and the others attach to it.
// Notifications are raised by the window running the engine only (one per message). Code threads
// show in every window, for the files of its own workspace folders: the holder passes what its
// threads are told to the attached windows (extension/code-thread-link.ts), whose replies go
// through the link to its engine.

import * as vscode from 'vscode';
import { acquireOrAttach, acquireWhenFree, type FolderLock } from '../peer/folder-lock.ts';
import { isDeclaredCode, ProtocolError } from '../protocol/errors.ts';
import type { ConversationId } from '../protocol/peer.ts';
import type { HostToView, ViewRequestParams, WindowToHost } from '../protocol/view.ts';
import { attachedCommand, ChatMirror, type AttachedWindow } from './attached-commands.ts';
import { ChatController, type FromView } from './chat-controller.ts';
import { openSnippetLink } from './snippet-open.ts';
import { AttachedThreads } from './code-threads-attached.ts';
import { ThreadRelay } from './code-thread-link.ts';
import { ChatViewProvider } from './chat-view-provider.ts';
import { CodeThreads } from './code-threads.ts';
import { registerCommands } from './commands.ts';
import { ChatStatusBar } from './status-bar.ts';
import { HolderLink, WindowHub } from './window-link.ts';
import type { Attention } from './attention.ts';

export type WindowRole = 'starting' | 'holder' | 'attached' | 'blocked';

export interface ExtensionApi {
  controller: ChatController;
  /** The sidebar view's provider (tests read its snapshot counter). */
  view: ChatViewProvider;
  /** Milliseconds activate() took, for the activation-time measurement. */
  activationMs: number;
  /** Whether this window runs the engine, is attached to another window's, or is still finding out. */
  role(): WindowRole;
}

/** Request ids of commands run in an attached window (the view counts its own up from 1). */
const FIRST_COMMAND_REQUEST = 2 ** 52;
/** An attach that the holder ends this soon (it is leaving) is tried again after this pause. */
const QUICK_CLOSE_MS = 250;
/** View messages kept while this window finds its engine; more are refused in words. */
const MAX_WAITING = 200;

let shutdown: (() => Promise<void>) | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<ExtensionApi> {
  const started = performance.now();
  const status = new ChatStatusBar();
  const mirror = new ChatMirror();
  let provider: ChatViewProvider | undefined;
  let role: WindowRole = 'starting';
  let lock: FolderLock | undefined;
  let hub: WindowHub | undefined;
  let link: HolderLink | undefined;
  /** While attached: this window's code threads, fed by the holder through the link. */
  let attachedThreads: AttachedThreads | undefined;
  /** Taking over from a window that left: the view keeps its picture until this engine is back online. */
  let quiet = false;
  /**
   * Taking over: the conversation this window's view showed, opened again once this engine is
   * signed in, also when its resume is retried later (until the user opens another).
   */
  let reopen: ConversationId | undefined;
  /** The conversation this window's own view last asked to open while attached (the holder's last picture may have dropped it as it closed). */
  let viewOpened: ConversationId | undefined;
  let disposed = false;
  const stop = new AbortController();
  let loggedInContext: boolean | undefined;
  /** The conversation this window's view last said it shows at its newest end (view/atNewest); undefined when none, or after it reloaded. */
  let atNewest: ConversationId | undefined;
  /** This window's chat view as the user may see it (extension/attention.ts). */
  const ownAttention = (): Attention => ({ visible: provider?.visible ?? false, focused: vscode.window.state.focused, ...(atNewest !== undefined ? { atNewest } : {}) });

  const showState = (session = controller.model.session, unread = controller.model.totalUnread()) => {
    status.update(session, unread);
    provider?.setUnread(unread);
    const loggedIn = Boolean(session.user) && session.state !== 'logged_out';
    if (role === 'attached' && loggedIn !== loggedInContext) void vscode.commands.executeCommand('setContext', 'p2pChat.loggedIn', loggedIn);
    loggedInContext = loggedIn;
  };

  const controller = new ChatController(context, {
    post: (m) => {
      if (reopen !== undefined && m.type === 'conversation/opened') reopen = undefined;
      // A resume retried after the takeover: the snapshot of its sign-in goes first.
      if (reopen !== undefined && m.type === 'host/snapshot' && controller.loggedIn && !quiet) void Promise.resolve().then(reopenNow);
      hub?.broadcast(m);
      if (!quiet || m.type === 'request/completed' || m.type === 'notice/shown' || m.type === 'focus/requested') provider?.post(m);
    },
    attention: () => [ownAttention(), ...(hub?.attention() ?? [])],
    reveal: () => provider?.reveal() ?? Promise.resolve(),
    focusComposer: () => provider?.focusComposer(),
    changed: () => {
      if (role !== 'attached') showState();
    },
  });

  /**
   * What the view asked while this window was finding its engine (starting, or taking over from a
   * window that left): carried out, in order, once it has one (a message typed meanwhile is sent).
   */
  const waiting: { message: FromView; reply?: (m: HostToView) => void }[] = [];
  const flush = () => {
    for (const { message, reply } of waiting.splice(0)) {
      if (reply) void controller.fromView(message, reply);
      else if (role === 'attached' && link) link.send(message);
      else void controller.fromView(message);
    }
  };

  // ---- an attached window's side ----
  let nextCommandRequest = FIRST_COMMAND_REQUEST;
  type Completed = Extract<HostToView, { type: 'request/completed' }>;
  const commandRequests = new Map<number, { resolve: (m: Completed) => void; reject: (err: Error) => void }>();
  const fromHolder = (m: HostToView) => {
    if (m.type === 'request/completed' && commandRequests.has(m.requestId)) {
      const pending = commandRequests.get(m.requestId)!;
      commandRequests.delete(m.requestId);
      if (m.ok) pending.resolve(m);
      else {
        // The holder's code, kept so that a command can tell a refusal it asks about (leaveAsking).
        const { code, message } = m.error ?? {};
        pending.reject(isDeclaredCode(code) ? new ProtocolError(code, message ?? 'failed') : new Error(message ?? 'failed'));
      }
      return;
    }
    mirror.apply(m);
    provider?.post(m);
    if (m.type === 'host/snapshot' || m.type === 'session/changed' || m.type === 'rooms/changed') showState(mirror.session ?? controller.model.session, mirror.totalUnread());
  };
  const attachedWindow: AttachedWindow = {
    mirror,
    send: (message: WindowToHost) => {
      if (!link || link.closed) return false;
      link.send(message);
      return true;
    },
    request: (params: ViewRequestParams) =>
      new Promise<Completed>((resolve, reject) => {
        const requestId = nextCommandRequest++;
        commandRequests.set(requestId, { resolve, reject });
        if (!attachedWindow.send({ ...params, requestId } as WindowToHost)) {
          commandRequests.delete(requestId);
          reject(new Error('the window running the chat is changing; try again in a moment'));
        }
      }),
    reveal: () => provider?.reveal() ?? Promise.resolve(),
    focusComposer: () => provider?.focusComposer(),
  };

  const attach = (socket: import('node:net').Socket) => {
    role = 'attached';
    const opened = Date.now();
    const threads = new AttachedThreads({
      user: () => (mirror.loggedIn ? mirror.session?.user : undefined),
      send: attachedWindow.send,
      request: attachedWindow.request,
      reveal: attachedWindow.reveal,
    });
    attachedThreads = threads;
    link = new HolderLink(socket, {
      post: fromHolder,
      threads,
      closed: () => {
        link = undefined;
        if (attachedThreads === threads) attachedThreads = undefined;
        for (const [id, pending] of commandRequests) {
          commandRequests.delete(id);
          pending.reject(new Error('the window running the chat closed; try again in a moment'));
        }
        if (!disposed) {
          role = 'starting';
          // A holder on its way out ends attaches at once: do not spin on it.
          const pause = Date.now() - opened < QUICK_CLOSE_MS ? QUICK_CLOSE_MS : 0;
          setTimeout(() => void start(true), pause);
        }
        // The next holder (this window, or another) feeds new ones from the start.
        threads.dispose();
      },
    });
    link.subscribeThreads();
    link.send({ type: 'window/focused', focused: vscode.window.state.focused });
    if (provider?.isReady) {
      link.send({ type: 'view/ready' });
      link.send({ type: 'window/visible', visible: provider.visible });
      if (atNewest !== undefined) link.send({ type: 'view/atNewest', key: atNewest, atNewest: true });
    }
    flush();
  };

  /** Opens `reopen` when the signed-in engine has it; forgets it either way. */
  const reopenNow = async (): Promise<void> => {
    const key = reopen;
    reopen = undefined;
    if (key !== undefined && controller.model.openKey === undefined && controller.model.snapshot().rooms.some((r) => r.key === key)) await controller.model.openConversation(key);
  };

  // ---- the holder's side ----
  const hold = async (held: FolderLock, takingOver: boolean) => {
    lock = held;
    // Taking over: what the views ask is held from this moment until the engine has resumed. (Set
    // only after the awaits below, a send typed meanwhile reached an engine not signed in yet and
    // was refused: seen in the two-windows end-to-end test under load.)
    if (takingOver) quiet = true;
    // Code threads live where the engine runs (they reply through it); made at sign-in.
    controller.setCodeThreads((host) => new CodeThreads(host));
    hub = new WindowHub({
      // Another window's view: carried out here, or kept while this window takes over.
      fromView: (message, reply) => {
        if (!quiet) void controller.fromView(message, reply);
        else if (waiting.length < MAX_WAITING) waiting.push({ message, reply });
        else if ('requestId' in message) reply({ type: 'request/completed', requestId: message.requestId, ok: false, error: { message: 'P2P Chat is starting in this window; try again in a moment.' } });
      },
      snapshot: () => controller.model.snapshot(),
      attentionChanged: () => controller.model.attentionChanged(),
      // An attached window's code threads: what this window's threads hold, to it alone; then every change (the relay).
      threadsWanted: (threads) => void controller.feedThreads(threads),
    });
    const relayHub = hub;
    controller.setThreadRelay(new ThreadRelay((frame) => relayHub.broadcastThreads(frame)));
    held.on('connection', (socket) => hub?.accept(socket));
    role = 'holder';
    await vscode.commands.executeCommand('setContext', 'p2pChat.loggedIn', controller.loggedIn);
    if (!takingOver) {
      if (provider?.isReady) provider.post({ type: 'host/snapshot', snapshot: controller.model.snapshot() });
      showState();
      await controller.restore();
      flush();
      return;
    }
    reopen = mirror.openKey ?? viewOpened;
    try {
      await controller.restore();
      if (controller.loggedIn) await reopenNow();
    } finally {
      quiet = false;
      if (provider?.isReady) provider.post({ type: 'host/snapshot', snapshot: controller.model.snapshot() });
      showState();
      flush();
    }
  };

  const start = async (takingOver: boolean): Promise<void> => {
    if (disposed) return;
    const dir = context.globalStorageUri.fsPath;
    try {
      const r = await acquireOrAttach(dir, { program: 'VS Code' });
      if (disposed) {
        r.lock?.release();
        r.attached?.socket.destroy();
        return;
      }
      if (r.lock) await hold(r.lock, takingOver);
      else attach(r.attached.socket);
    } catch (err) {
      if (disposed) return;
      // A terminal client (node peer) has this folder, or something answers there that is not a
      // holder: say so, and start as soon as it is free.
      role = 'blocked';
      controller.model.setSession({ state: 'offline', detail: `P2P Chat's data folder is in use: ${(err as Error).message}. The chat starts here when that program ends.` });
      if (provider?.isReady) provider.post({ type: 'host/snapshot', snapshot: controller.model.snapshot() });
      try {
        const held = await acquireWhenFree(dir, { program: 'VS Code' }, { signal: stop.signal });
        await hold(held, false);
      } catch (waitErr) {
        if (!disposed) controller.model.setSession({ state: 'offline', detail: `P2P Chat could not use its data folder: ${(waitErr as Error).message}. Reload the window to try again.` });
      }
    }
  };

  provider = new ChatViewProvider(
    context.extensionUri,
    (m) => {
      // A snippet link opens in the window it was clicked in: its workspace folders, its Restricted
      // Mode (the holder's window may have another folder open, or none), at the lines its message's
      // thread in this window found the code at.
      if (m.type === 'snippet/open') {
        const opening = role === 'holder' && !quiet ? controller.openSnippet(m.path, m.line, m.endLine ?? m.line, m.message) : attachedThreads ? attachedThreads.openSnippet(m) : openSnippetLink(m);
        void opening.catch((err: unknown) => provider?.post({ type: 'notice/shown', message: `Could not open the snippet's file: ${(err as Error).message}` }));
        return;
      }
      if (m.type === 'view/atNewest') {
        // Where this window's view is scrolled to: the holder (this window, or the one attached to) reads by it.
        if (m.atNewest) atNewest = m.key;
        else if (atNewest === m.key) atNewest = undefined;
        if (role === 'attached' && link) link.send(m);
        else if (role === 'holder') controller.model.attentionChanged();
        return;
      }
      if (role === 'attached' && m.type === 'conversation/open') viewOpened = m.key;
      if (role === 'holder' && !quiet) void controller.fromView(m);
      else if (role === 'attached' && link) link.send(m);
      else if (role !== 'blocked' && waiting.length < MAX_WAITING) waiting.push({ message: m });
      else if (role === 'blocked' && 'requestId' in m) provider?.post({ type: 'request/completed', requestId: m.requestId, ok: false, error: { message: controller.model.session.detail } });
      else if ('requestId' in m) provider?.post({ type: 'request/completed', requestId: m.requestId, ok: false, error: { message: 'P2P Chat is starting in this window; try again in a moment.' } });
    },
    () => {
      // The view (re)loaded: it shows nothing until it says what it is scrolled to.
      atNewest = undefined;
      if (role === 'holder' && !quiet) return controller.model.snapshot();
      if (role === 'attached' && link) link.send({ type: 'view/ready' });
      if (role === 'blocked') return controller.model.snapshot();
      return undefined;
    },
  );
  provider.onDidChangeVisibility((visible) => {
    if (role === 'attached' && link) {
      link.send({ type: 'window/visible', visible });
      if (visible && mirror.openKey) link.send({ type: 'conversation/open', key: mirror.openKey });
      return;
    }
    if (visible && controller.model.openKey) void controller.model.openConversation(controller.model.openKey);
  });
  provider.setUnread(0);
  context.subscriptions.push(
    // The window in the background: what arrives is not read (and is notified); back in front, what the view shows is.
    vscode.window.onDidChangeWindowState((state) => {
      if (role === 'attached' && link) link.send({ type: 'window/focused', focused: state.focused });
      else if (role === 'holder') controller.model.attentionChanged();
    }),
    vscode.window.registerWebviewViewProvider(ChatViewProvider.viewType, provider),
    status,
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('p2pChat.trackerAddress') && !controller.loggedIn) controller.model.setSession({ tracker: controller.trackerAddress() });
      // Turned off: a receipt waiting for its interval does not go out (the setting is read at each receipt).
      if (e.affectsConfiguration('p2pChat.readReceipts') && vscode.workspace.getConfiguration('p2pChat').get<boolean>('readReceipts') === false) controller.model.receipts.cancel();
    }),
  );
  registerCommands(context, controller, (id, args) => {
    if (role === 'holder') return undefined;
    if (role === 'attached') return attachedCommand(attachedWindow, id, args);
    return Promise.reject(new Error('P2P Chat is starting in this window; try again in a moment.'));
  });
  status.update(controller.model.session, 0);
  await vscode.commands.executeCommand('setContext', 'p2pChat.loggedIn', false);

  // Closing or reloading the window: the engine closes first, then the lock is released (its
  // attached windows see their socket close and one of them takes over).
  let closing: Promise<void> | undefined;
  shutdown = () =>
    (closing ??= (async () => {
      disposed = true;
      stop.abort();
      link?.close();
      attachedThreads?.dispose();
      attachedThreads = undefined;
      await controller.dispose().catch(() => {});
      hub?.close();
      lock?.release();
    })());
  context.subscriptions.push({ dispose: () => void shutdown?.() });

  // Find the holder, or become it, and resume in the background: activation must stay fast.
  void start(false);
  return { controller, view: provider, activationMs: performance.now() - started, role: () => role };
}

export async function deactivate(): Promise<void> {
  await shutdown?.();
}
