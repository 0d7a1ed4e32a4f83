// A window attached to another window's engine (extension/window-link.ts): what it knows of the
// chat (the holder's posts, mirrored for its status item, badge and commands: chat-mirror.ts), and
// its commands.
// Commands ask their questions in this window and send the view request that does the work;
// the palette commands the view itself may run (VIEW_RUNNABLE_COMMANDS) are run by the holder,
// whose window asks their questions.

import * as vscode from 'vscode';
import type { ConversationId } from '../protocol/peer.ts';
import { int, optional } from '../protocol/schema.ts';
import { searchHitsSchema, VIEW_RUNNABLE_COMMANDS, type HostToView, type ViewRequestParams, type WindowToHost } from '../protocol/view.ts';
import { askingAnyway, askSelection } from './commands.ts';
import { noticeText, pickText } from './labels.ts';
import { searchMessages } from './search-pick.ts';
import type { ChatMirror } from './chat-mirror.ts';

export { ChatMirror } from './chat-mirror.ts';

export interface AttachedWindow {
  mirror: ChatMirror;
  /** Sends to the holder; undefined while this window has no holder to talk to (taking over). */
  send(message: WindowToHost): boolean;
  /** Sends a request and resolves with its answer (rejects with the holder's words on failure). */
  request(params: ViewRequestParams): Promise<Extract<HostToView, { type: 'request/completed' }>>;
  reveal(): Promise<void>;
  focusComposer(): void;
}

const RUNNABLE: ReadonlySet<string> = new Set(VIEW_RUNNABLE_COMMANDS);

/** The attached window's commands (commands.ts's RemoteCommands); undefined for a command it does not know. */
export function attachedCommand(w: AttachedWindow, id: string, args: unknown[]): Promise<unknown> | undefined {
  const requireLogin = () => {
    if (!w.mirror.loggedIn) throw new Error('You are not logged in. Run "P2P Chat: Login" first.');
  };
  const focus = async () => {
    await w.reveal();
    w.focusComposer();
  };
  const arg = (i: number) => (typeof args[i] === 'string' ? (args[i] as string) : undefined);
  switch (id) {
    case 'p2pChat.directMessage': {
      const user = arg(0);
      if (!user) break;
      return (async () => {
        requireLogin();
        await w.request({ type: 'conversation/openDirect', user });
        await focus();
      })();
    }
    case 'p2pChat.focusComposer':
      return focus();
    case 'p2pChat.nextUnread':
      return (async () => {
        requireLogin();
        const key = w.mirror.nextUnread();
        if (key === undefined) {
          void vscode.window.showInformationMessage('P2P Chat: no unread messages.');
          return;
        }
        w.send({ type: 'conversation/open', key });
        await focus();
      })();
    case 'p2pChat.shareSelection':
    case 'p2pChat.shareSelectionWithChat':
      return (async () => {
        requireLogin();
        const shared = await askSelection(
          async () => w.mirror.openKey ?? (await pickConversation(w.mirror, 'Share with…')),
          (key) => w.mirror.rooms.find((r) => r.key === key)?.title,
        );
        if (!shared) return;
        await w.request({ type: 'message/send', key: shared.target, text: shared.text, snippet: shared.snippet } as ViewRequestParams);
        await focus();
      })();
    case 'p2pChat.leaveRoom':
      return (async () => {
        requireLogin();
        const key = arg(0) ?? (await pickConversation(w.mirror, 'Leave Room', true));
        if (key) await askingAnyway('leave', (force) => w.request({ type: 'room/leave', key, ...(force ? { force } : {}) }));
      })();
    case 'p2pChat.closeRoom':
      return (async () => {
        requireLogin();
        const key = arg(0) ?? (await pickConversation(w.mirror, 'Close Room (ends it for everyone)', true));
        if (!key) return;
        const name = w.mirror.rooms.find((r) => r.key === key)?.title ?? key;
        const sure = await vscode.window.showWarningMessage(`Close ${noticeText(name)} for everyone?`, { modal: true, detail: 'Nobody can send to it afterwards.' }, 'Close Room');
        if (sure === 'Close Room') await askingAnyway('close', (force) => w.request({ type: 'room/close', key, ...(force ? { force } : {}) }));
      })();
    case 'p2pChat.kickMember':
      return (async () => {
        requireLogin();
        const key = arg(0) ?? w.mirror.openKey;
        if (!key) return;
        const me = w.mirror.session?.user;
        const user = arg(1) ?? (key === w.mirror.openKey ? (await vscode.window.showQuickPick(w.mirror.members.filter((m) => m.user !== me).map((m) => ({ label: pickText(m.user), user: m.user })), { title: 'Kick which member?' }))?.user : undefined);
        if (user) await w.request({ type: 'room/kick', key, user });
      })();
    case 'p2pChat.verifyMember':
      return (async () => {
        requireLogin();
        const user = arg(0) ?? (await vscode.window.showInputBox({ title: 'Verify Member', prompt: 'User name to verify' }));
        // The holder asks "does it match" in its window (the answer marks its engine's key).
        if (user) w.send({ type: 'member/verify', user });
      })();
    case 'p2pChat.searchMessages':
      // The holder's engine searches; the conversation opens in this window's view (the holder
      // posts its message/revealed to every view).
      return (async () => {
        requireLogin();
        await searchMessages(
          {
            search: async (query) => {
              const answer = await w.request({ type: 'search/run', query });
              const results = searchHitsSchema.parse(answer.results ?? [], 'results');
              const searchedFrom = optional(int()).parse(answer.searchedFrom, 'searchedFrom');
              return { results, ...(searchedFrom !== undefined ? { searchedFrom } : {}) };
            },
            open: async (hit) => {
              await w.reveal();
              if (!w.send({ type: 'search/open', key: hit.key, id: hit.id })) throw new Error('the window running the chat is changing; try again in a moment');
            },
          },
          arg(0) ?? '',
        );
      })();
    case 'p2pChat.forgetTrackerFingerprint':
      return Promise.resolve(void vscode.window.showInformationMessage('P2P Chat runs in another VS Code window of this machine: run "Forget Tracker Fingerprint" there.'));
    default:
      break;
  }
  if (RUNNABLE.has(id)) {
    // Its questions are asked by the window running the chat.
    if (!w.send({ type: 'command/run', command: id as (typeof VIEW_RUNNABLE_COMMANDS)[number] })) return Promise.reject(new Error('the window running the chat is changing; try again in a moment'));
    return Promise.resolve(undefined);
  }
  return undefined;
}

async function pickConversation(mirror: ChatMirror, title: string, roomsOnly = false): Promise<ConversationId | undefined> {
  const rooms = mirror.rooms.filter((r) => !roomsOnly || !r.direct);
  if (!rooms.length) {
    void vscode.window.showInformationMessage(roomsOnly ? 'You are in no rooms.' : 'You have no conversations.');
    return undefined;
  }
  const items = rooms.map((r) => ({ label: `${r.direct ? '$(mail)' : '$(comment-discussion)'} ${pickText(r.title)}`, key: r.key }));
  return (await vscode.window.showQuickPick(items, { title }))?.key;
}
