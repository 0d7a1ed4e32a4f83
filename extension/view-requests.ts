// What the webview asks of the extension host (protocol/view.ts), carried out by the controller:
// a request (it carries a `requestId`) gets exactly one `request/completed`, success or failure,
// with its page or search results; a command that fails shows a `notice/shown`.

import * as vscode from 'vscode';
import type { HistoryPage, HostToView, RequestError, SearchHit, ViewToHost, WindowToHost } from '../protocol/view.ts';
import type { ChatController } from './chat-controller.ts';
import { errorText } from './model-events.ts';

/**
 * What reaches the controller: a view's message but `view/ready`, which the provider (or, for
 * another window's view, extension/window-link.ts) answers itself. `message/send` may carry a
 * snippet (Share Selection in another window) or `replyTo` (the view's reply).
 */
export type FromView = Exclude<WindowToHost | ViewToHost, { type: 'view/ready' } | { type: 'window/visible' } | { type: 'window/focused' } | { type: 'view/atNewest' }>;
type FromViewRequest = Extract<FromView, { requestId: number }>;

/**
 * A request's answer: `page` or `results` when it has them (with `searchedFrom` when the search
 * index is full), `error` when it failed with something to show.
 */
interface Answer {
  page?: HistoryPage;
  results?: SearchHit[];
  searchedFrom?: number;
  error?: RequestError;
}

export async function carryOut(c: ChatController, message: FromView, reply: (m: HostToView) => void): Promise<void> {
  if ('requestId' in message) {
    const { requestId } = message;
    try {
      const answer = (await request(c, message)) ?? {};
      reply({ type: 'request/completed', requestId, ok: !answer.error, ...answer });
    } catch (err) {
      reply({ type: 'request/completed', requestId, ok: false, error: requestError(err) });
    }
    return;
  }
  try {
    await command(c, message);
  } catch (err) {
    reply({ type: 'notice/shown', ...requestError(err) });
  }
}

async function request(c: ChatController, message: FromViewRequest): Promise<Answer | void> {
  switch (message.type) {
    case 'auth/login':
      return await withProgress('Logging in to P2P Chat…', () => c.login(message.tracker, message.user, message.password));
    case 'auth/register':
      return await withProgress('Creating your P2P Chat account…', () => c.register(message.tracker, message.user, message.password));
    case 'conversation/openDirect':
      await c.openDirect(message.user);
      return;
    case 'room/join':
      return await c.joinRoom(message.id, message.password);
    case 'room/leave':
      return await c.leaveRoom(message.key, message.force === true);
    case 'room/close':
      return await c.closeRoom(message.key, message.force === true);
    case 'room/kick':
      return await c.kick(message.key, message.user);
    case 'message/send': {
      const replyTo = 'replyTo' in message ? message.replyTo : undefined;
      const snippet = 'snippet' in message ? message.snippet : undefined;
      if (replyTo !== undefined && snippet === undefined) return await c.actions.reply(message.key, replyTo, message.text);
      return await c.send(message.key, message.text, snippet);
    }
    case 'message/react':
      return await c.actions.react(message.key, message.id, message.emoji, message.on);
    case 'message/edit':
      return await c.actions.edit(message.key, message.id, message.text);
    case 'message/delete':
      return await c.actions.remove(message.key, message.id);
    case 'history/page':
      c.requireEngine();
      return { page: await c.model.olderPage(message.key, message.before) };
    case 'history/newer':
      c.requireEngine();
      return { page: await c.model.newerPage(message.key, message.after) };
    case 'history/around':
      c.requireEngine();
      return { page: await c.model.aroundPage(message.key, message.id) };
    case 'search/run':
      return await c.actions.search(message.query, message.key);
    default: {
      const never: never = message;
      return never;
    }
  }
}

async function command(c: ChatController, message: Exclude<FromView, FromViewRequest>): Promise<void> {
  switch (message.type) {
    case 'command/run':
      await vscode.commands.executeCommand(message.command);
      return;
    case 'conversation/open':
      return c.model.openConversation(message.key);
    case 'member/verify':
      await vscode.commands.executeCommand('p2pChat.verifyMember', message.user);
      return;
    case 'typing/set':
      return c.engine?.typing(message.key, message.active);
    case 'snippet/open':
      return await c.openSnippet(message.path, message.line, message.endLine ?? message.line, message.message);
    case 'search/open':
      return await c.actions.open(message.key, message.id, false);
    default: {
      const never: never = message;
      return never;
    }
  }
}

function withProgress<T>(title: string, work: () => Promise<T>): Thenable<T> {
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title }, work);
}

/** A failure as the view shows it: the words, and the ProtocolError code when there is one. */
export function requestError(err: unknown): RequestError {
  const code = (err as { code?: unknown })?.code;
  return { message: errorText(err), ...(typeof code === 'string' ? { code } : {}) };
}
