// The sidebar webview view (one provider per view, as in the webview-view sample). It serves
// the page of webview-html.ts with its strict Content-Security-Policy. Messages from the view are checked
// against their schema before anything acts on them; nothing is posted before the view says
// `view/ready` (it would be lost), and on ready it gets a full snapshot.

import * as vscode from 'vscode';
import { randomBytes } from 'node:crypto';
import { ProtocolError } from '../protocol/errors.ts';
import { webviewHtml } from './webview-html.ts';
import { invalidRequestAnswer, viewToHostSchema, type HostToView, type ViewSnapshot, type ViewToHost } from '../protocol/view.ts';

export class ChatViewProvider implements vscode.WebviewViewProvider {
  static readonly viewType = 'p2pChat.view';
  private view?: vscode.WebviewView;
  private ready = false;
  /** A focus request made before the view was ready: posted right after its snapshot. */
  private focusPending = false;
  private unread = 0;
  private readonly visibilityListeners: ((visible: boolean) => void)[] = [];

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly onMessage: (message: Exclude<ViewToHost, { type: 'view/ready' }>) => void,
    /** The snapshot for a view that said view/ready; undefined when it comes later through post() (another window runs the engine). */
    private readonly snapshot: () => ViewSnapshot | undefined,
  ) {}

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
    this.ready = false;
    const dist = vscode.Uri.joinPath(this.extensionUri, 'dist');
    view.webview.options = { enableScripts: true, localResourceRoots: [dist] };
    view.webview.html = this.html(view.webview, dist);
    this.showBadge();
    view.webview.onDidReceiveMessage((raw: unknown) => this.receive(raw));
    view.onDidChangeVisibility(() => this.visibilityListeners.forEach((fn) => fn(view.visible)));
    view.onDidDispose(() => {
      if (this.view === view) {
        this.view = undefined;
        this.ready = false;
      }
    });
  }

  /** The view is on the page and has said view/ready. */
  get isReady(): boolean {
    return Boolean(this.view) && this.ready;
  }

  get visible(): boolean {
    return Boolean(this.view?.visible);
  }

  onDidChangeVisibility(fn: (visible: boolean) => void): void {
    this.visibilityListeners.push(fn);
  }

  /** Test hook (test/extension): how many snapshots reached a ready view, and the last one. */
  snapshotsPosted = 0;
  lastSnapshot?: ViewSnapshot;

  post(message: HostToView): void {
    if (!this.view || !this.ready) return;
    void this.view.webview.postMessage(message);
    if (message.type === 'host/snapshot') {
      this.snapshotsPosted++;
      this.lastSnapshot = message.snapshot;
      if (this.focusPending) this.focusComposer();
    }
  }

  /** Keyboard focus to the composer: now if the view is ready, else right after its snapshot. */
  focusComposer(): void {
    this.focusPending = !this.ready;
    if (this.ready) this.post({ type: 'focus/requested', target: 'composer' });
  }

  /**
   * The unread count on the view, which VS Code shows on the P2P Chat activity-bar icon (a
   * WebviewView exists once the view was shown in this window; before that, the status bar item
   * carries the count).
   */
  setUnread(count: number): void {
    if (count === this.unread) return;
    this.unread = count;
    this.showBadge();
  }

  private showBadge(): void {
    if (!this.view) return;
    // Zero is sent as a badge of 0, which VS Code hides, never as undefined: a view resolved again
    // (after its webview was disposed) starts with no badge on the extension's side and would not
    // send undefined, leaving the old view's count on the activity bar.
    this.view.badge = { value: this.unread, tooltip: this.unread ? `${this.unread} unread ${this.unread === 1 ? 'message' : 'messages'}` : '' };
  }

  async reveal(): Promise<void> {
    await vscode.commands.executeCommand(`${ChatViewProvider.viewType}.focus`);
  }

  private receive(raw: unknown): void {
    let message: ViewToHost;
    try {
      message = viewToHostSchema.parse(raw);
    } catch (err) {
      const why = (err as ProtocolError).message;
      console.warn(`p2p-chat: ignored a malformed message from the view: ${why}`);
      // A request still gets its one answer, so the view does not stay pending.
      const answer = invalidRequestAnswer(raw, `the view sent a malformed request: ${why}`);
      if (answer) this.post(answer);
      return;
    }
    if (message.type === 'view/ready') {
      this.ready = true;
      const snapshot = this.snapshot();
      if (snapshot) this.post({ type: 'host/snapshot', snapshot });
      return;
    }
    this.onMessage(message);
  }

  private html(webview: vscode.Webview, dist: vscode.Uri): string {
    return webviewHtml({
      cspSource: webview.cspSource,
      nonce: randomBytes(16).toString('base64'),
      resource: (...path) => webview.asWebviewUri(vscode.Uri.joinPath(dist, ...path)).toString(),
    });
  }

}
