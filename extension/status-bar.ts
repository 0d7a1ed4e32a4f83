// The status bar item: connection state and unread count; a click opens the chat view.

import * as vscode from 'vscode';
import { visibleLines } from '../protocol/text.ts';
import type { SessionView } from '../protocol/view.ts';
import { pickText } from './labels.ts';

export class ChatStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('p2pChat.status', vscode.StatusBarAlignment.Right, 100);

  constructor() {
    this.item.name = 'P2P Chat';
    this.item.command = 'p2pChat.view.focus';
    this.item.show();
  }

  update(session: SessionView, unread: number): void {
    const icon = { logged_out: '$(comment-discussion)', connecting: '$(sync~spin)', online: '$(comment-discussion)', reconnecting: '$(sync~spin)', offline: '$(debug-disconnect)' }[session.state];
    // The detail may quote the tracker: shown visibly, and the text takes no icons from a name.
    const who = pickText(session.user ?? 'signed out');
    const state = session.state === 'online' ? who : session.state === 'logged_out' ? 'P2P Chat' : session.state;
    // The count is said in words after a separator, so it cannot be read as part of a user name ("alice 2").
    const count = unread ? ` · ${unreadText(unread)}` : '';
    this.item.text = `${icon} ${state}${count}`;
    this.item.tooltip = `P2P Chat: ${visibleLines(session.detail)}${unread ? `\n${unreadText(unread)}` : ''}\nClick to open the chat.`;
    this.item.accessibilityInformation = { label: `P2P Chat, ${session.state === 'online' ? `online as ${who}` : session.state.replace('_', ' ')}${unread ? `, ${unreadText(unread)}` : ''}` };
    this.item.backgroundColor = session.state === 'offline' ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
  }

  dispose(): void {
    this.item.dispose();
  }
}

function unreadText(n: number): string {
  return `${n} unread`;
}
