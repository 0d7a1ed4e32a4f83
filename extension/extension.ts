// Activation: wires the chat engine (peer/, unchanged) to the sidebar view, the commands and the
// status bar. It activates when VS Code has started (`onStartupFinished`, so a saved session is
// online, notified and reachable from the first minute, with the view hidden), or earlier when the
// view opens or a P2P Chat command runs. Without a saved session nothing more than the status
// item is made: no engine, no connection, until the user logs in.

import * as vscode from 'vscode';
import { ChatController } from './chat-controller.ts';
import { ChatViewProvider } from './chat-view-provider.ts';
import { registerCommands } from './commands.ts';
import { ChatStatusBar } from './status-bar.ts';

export interface ExtensionApi {
  controller: ChatController;
  /** The sidebar view's provider (tests read its snapshot counter). */
  view: ChatViewProvider;
  /** Milliseconds activate() took, for the activation-time measurement. */
  activationMs: number;
}

export async function activate(context: vscode.ExtensionContext): Promise<ExtensionApi> {
  const started = performance.now();
  const status = new ChatStatusBar();
  let provider: ChatViewProvider | undefined;
  const controller = new ChatController(context, {
    post: (m) => provider?.post(m),
    visible: () => provider?.visible ?? false,
    reveal: () => provider?.reveal() ?? Promise.resolve(),
    focusComposer: () => provider?.focusComposer(),
    changed: () => {
      const unread = controller.model.totalUnread();
      status.update(controller.model.session, unread);
      provider?.setUnread(unread);
    },
  });
  provider = new ChatViewProvider(context.extensionUri, (m) => void controller.fromView(m), () => controller.model.snapshot());
  provider.onDidChangeVisibility((visible) => {
    if (visible && controller.model.openKey) void controller.model.openConversation(controller.model.openKey);
  });
  provider.setUnread(controller.model.totalUnread());
  context.subscriptions.push(
    vscode.window.registerWebviewViewProvider(ChatViewProvider.viewType, provider),
    status,
    controller,
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('p2pChat.trackerAddress') && !controller.loggedIn) controller.model.setSession({ tracker: controller.trackerAddress() });
    }),
  );
  registerCommands(context, controller);
  status.update(controller.model.session, 0);
  await vscode.commands.executeCommand('setContext', 'p2pChat.loggedIn', false);
  // Resume in the background: activation must stay fast even if the tracker is slow.
  void controller.restore();
  return { controller, view: provider, activationMs: performance.now() - started };
}

export function deactivate(): void {}
