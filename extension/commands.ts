// The command palette, category "P2P Chat". Each command asks what it needs with QuickInput and
// InputBox (passwords masked, the tracker address remembered) and hands the work to the
// controller; failures become notifications that say what to do.

import * as vscode from 'vscode';
import { checkPasswordPolicy } from '../peer/account.ts';
import { isCoded } from '../protocol/errors.ts';
import { normalizeRoomName, normalizeUserName } from '../protocol/names.ts';
import { dmRoom } from '../protocol/peer.ts';
import type { ChatController } from './chat-controller.ts';
import { joinFromPalette } from './join-room.ts';
import { memberCount, noticeText, pickText } from './labels.ts';
import { searchMessages } from './search-pick.ts';
import { shareRange, snippetPath } from './share-selection.ts';
import type { Snippet } from '../protocol/view.ts';

/**
 * Carries out a command in a window attached to another window's engine (extension/attached-commands.ts);
 * undefined while this window runs the engine (then the command runs here).
 */
export type RemoteCommands = (id: string, args: unknown[]) => Promise<unknown> | undefined;

export function registerCommands(context: vscode.ExtensionContext, controller: ChatController, remote?: RemoteCommands): void {
  const register = (id: string, run: (...args: never[]) => Promise<unknown>) =>
    context.subscriptions.push(
      vscode.commands.registerCommand(id, async (...args: never[]) => {
        try {
          const elsewhere = remote?.(id, args);
          if (elsewhere) return await elsewhere;
          return await run(...args);
        } catch (err) {
          // An error may quote what a peer or the tracker sent.
          void vscode.window.showErrorMessage(`P2P Chat: ${noticeText(String((err as Error)?.message ?? err))}`);
          return undefined;
        }
      }),
    );

  register('p2pChat.login', () => signIn(controller, 'login'));
  register('p2pChat.register', () => signIn(controller, 'register'));
  register('p2pChat.logout', () => controller.logout());

  register('p2pChat.createRoom', async () => {
    controller.requireEngine();
    const name = await vscode.window.showInputBox({ title: 'Create Room', prompt: 'Room name: 1 to 32 of a-z, 0-9, dot, underscore, hyphen', validateInput: roomNameProblem });
    if (!name) return;
    const kind = await vscode.window.showQuickPick(
      [
        { label: '$(globe) Public', description: 'anyone on the tracker can join', value: 'public' },
        { label: '$(lock) Private', description: 'joining needs the room password', value: 'private' },
      ],
      { title: `Create Room ${name}` },
    );
    if (!kind) return;
    const password = kind.value === 'private' ? await vscode.window.showInputBox({ title: `Password for ${name}`, password: true, prompt: 'Members need it to join; the tracker never sees it' }) : undefined;
    if (kind.value === 'private' && !password) return;
    await controller.createRoom(name, password);
    await controller.focusComposer();
  });

  register('p2pChat.joinRoom', async () => {
    // The engine's directory (fetched at sign-in, kept by pushes), joined by id: no list_rooms (extension/join-room.ts).
    const joined = await joinFromPalette(controller.requireEngine(), controller.model, {
      none: () => void vscode.window.showInformationMessage('There are no rooms to join. Create one with "P2P Chat: Create Room".'),
      pick: async (rooms) =>
        (
          await vscode.window.showQuickPick(
            rooms.map((r) => ({ label: `${r.private ? '$(lock)' : '$(globe)'} ${pickText(r.name)}`, description: `${memberCount(r.members)}, ${r.online} online${r.owner ? `, owner ${pickText(r.owner)}` : ''}`, room: r })),
            { title: 'Join Room', matchOnDescription: true },
          )
        )?.room,
      password: (room) => Promise.resolve(vscode.window.showInputBox({ title: `Password for ${pickText(room.name)}`, password: true })),
    });
    if (joined) await controller.focusComposer();
  });

  register('p2pChat.leaveRoom', async (key?: string) => {
    const room = key ?? (await pickRoom(controller, 'Leave Room'));
    if (room) await askingAnyway('leave', (force) => controller.leaveRoom(room, force));
  });

  register('p2pChat.closeRoom', async (key?: string) => {
    const room = key ?? (await pickRoom(controller, 'Close Room (ends it for everyone)', true));
    if (!room) return;
    const name = controller.engine!.joinedRooms().find((r) => r.id === room)?.name ?? room;
    const sure = await vscode.window.showWarningMessage(`Close ${noticeText(name)} for everyone?`, { modal: true, detail: 'Nobody can send to it afterwards.' }, 'Close Room');
    if (sure === 'Close Room') await askingAnyway('close', (force) => controller.closeRoom(room, force));
  });

  register('p2pChat.kickMember', async (key?: string, user?: string) => {
    const room = key ?? (await pickRoom(controller, 'Kick Member from…', true));
    if (!room) return;
    const engine = controller.requireEngine();
    const who =
      user ??
      (await vscode.window.showQuickPick(
        engine
          .members(room)
          .filter((m) => m.user !== engine.user)
          .map((m) => ({ label: pickText(m.user), user: m.user })),
        { title: 'Kick which member?' },
      ))?.user;
    if (who) await controller.kick(room, who);
  });

  register('p2pChat.directMessage', async (user?: string) => {
    const engine = controller.requireEngine();
    const peers = (await engine.listPeers()).filter((p) => p.user !== engine.user);
    const who =
      user ??
      (await vscode.window.showQuickPick(
        peers.map((p) => ({ label: `${p.online ? '$(circle-filled)' : '$(circle-outline)'} ${pickText(p.user)}`, description: p.online ? 'online' : 'offline', user: p.user })),
        { title: 'Direct Message' },
      ))?.user;
    if (who) {
      await controller.openDirect(who);
      await controller.focusComposer();
    }
  });

  const shareSelection = async () => {
    controller.requireEngine();
    const shared = await askSelection(
      () => (controller.model.openKey !== undefined ? Promise.resolve(controller.model.openKey) : pickConversation(controller)),
      (key) => controller.model.roomItems().find((r) => r.key === key)?.title,
    );
    if (!shared) return;
    await controller.send(shared.target, shared.text, shared.snippet);
    await controller.focusComposer();
  };
  register('p2pChat.shareSelection', shareSelection);
  // The editor's context menu lists VS Code's own items without categories: this entry names the product.
  register('p2pChat.shareSelectionWithChat', shareSelection);

  register('p2pChat.focusComposer', () => controller.focusComposer());
  register('p2pChat.nextUnread', async () => {
    if (!(await controller.openNextUnread())) void vscode.window.showInformationMessage('P2P Chat: no unread messages.');
  });

  // An optional first argument: the query to start with.
  register('p2pChat.searchMessages', async (query?: unknown) => {
    controller.requireEngine();
    await searchMessages({ search: (text) => controller.actions.search(text), open: (hit) => controller.showMessage(hit.key, hit.id) }, typeof query === 'string' ? query : '');
  });

  register('p2pChat.showFingerprint', async () => {
    const mine = controller.requireEngine().fingerprint();
    const choice = await vscode.window.showInformationMessage(`Your fingerprint (${mine.user}): ${mine.fingerprint}`, { detail: 'Read it to a teammate over a trusted channel; they compare it with what "Verify Member" shows them.' }, 'Copy');
    if (choice === 'Copy') await vscode.env.clipboard.writeText(mine.fingerprint);
  });

  register('p2pChat.verifyMember', async (user?: string) => {
    controller.requireEngine();
    const who = user ?? (await vscode.window.showInputBox({ title: 'Verify Member', prompt: 'User name to verify' }));
    if (!who) return;
    // Nothing is marked verified unless "They Match" is chosen, and then only the key shown.
    await controller.verifyMember(who, async (fp) => {
      const choice = await vscode.window.showWarningMessage(
        fp.changed ? `${fp.user}'s key changed. Does their new fingerprint match?` : `Does ${fp.user}'s fingerprint match?`,
        { modal: true, detail: `${fp.fingerprint}\n\nAsk ${fp.user} to run "P2P Chat: Show My Fingerprint" and read theirs to you in person or on a call. Only if every group matches, mark them verified.` },
        'They Match',
      );
      return choice === 'They Match';
    });
  });

  register('p2pChat.forgetTrackerFingerprint', async () => {
    const engine = controller.engine;
    if (!engine) {
      void vscode.window.showInformationMessage('No tracker fingerprint is pinned yet.');
      return;
    }
    const sure = await vscode.window.showWarningMessage(
      `Forget the pinned fingerprint of ${engine.trackerAddress}?`,
      { modal: true, detail: 'Do this only if the tracker\'s certificate was replaced on purpose. The next connection will ask you to trust whatever it presents.' },
      'Forget',
    );
    if (sure === 'Forget') engine.forgetTrackerFingerprint();
  });
}

/**
 * Share Selection's questions, in this window: the active editor's selection (as shareRange
 * widens it to whole lines), the conversation (`target`), and an optional note. Undefined when there is no
 * selection (the user is told) or a question was dismissed.
 */
/** What leaving or closing a room anyway is called, and asked, when the engine refuses it as undelivered. */
export const ANYWAY = {
  leave: { question: 'Leave the room and lose messages nobody has received?', button: 'Leave Anyway' },
  close: { question: 'Close the room although members have not received all your messages?', button: 'Close Anyway' },
} as const;

/**
 * Leaves or closes a room by `run(force)`. When my messages there would be lost by it (the
 * engine refuses with room.undelivered, saying how many and for whom), asks in a modal whether to
 * do it anyway; nothing happens unless the user says so.
 */
export async function askingAnyway(what: keyof typeof ANYWAY, run: (force: boolean) => Promise<unknown>): Promise<void> {
  try {
    await run(false);
  } catch (err) {
    if (!isCoded(err, 'room.undelivered')) throw err;
    const { question, button } = ANYWAY[what];
    const choice = await vscode.window.showWarningMessage(question, { modal: true, detail: noticeText((err as Error).message) }, button);
    if (choice === button) await run(true);
  }
}

/**
 * The editor's selection as a snippet for a conversation `target` picks, with an optional note.
 * `nameOf` names the conversation in the prompt (the open one is used without asking, so the user
 * must see where the code goes).
 */
export async function askSelection(target: () => Promise<string | undefined>, nameOf?: (key: string) => string | undefined): Promise<{ target: string; text: string; snippet: Snippet } | undefined> {
  const editor = vscode.window.activeTextEditor;
  const range = editor && shareRange(editor.selection.start, editor.selection.end, (line) => editor.document.lineAt(line).text);
  if (!editor || !range) {
    void vscode.window.showInformationMessage('Select some code in an editor first, then run "P2P Chat: Share Selection".');
    return undefined;
  }
  const key = await target();
  if (!key) return undefined;
  const doc = editor.document;
  // URI paths, not file paths: in a remote window the file is on the remote machine.
  const path = snippetPath(vscode.workspace.getWorkspaceFolder(doc.uri)?.uri.path, doc.uri.path);
  const { startLine, endLine, wholeLines } = range;
  const code = doc.getText(new vscode.Range(range.start.line, range.start.character, range.end.line, range.end.character));
  const name = nameOf?.(key);
  const where = name === undefined ? '' : ` with ${key.startsWith('dm:') ? name : `#${name}`}`;
  const note = await vscode.window.showInputBox({ title: pickText(`Share ${path}:${startLine}-${endLine}${where}`), prompt: 'Add a message (optional); Enter shares, Escape cancels' });
  if (note === undefined) return undefined;
  return { target: key, text: note || `${path}:${startLine}`, snippet: { language: doc.languageId, path, startLine, endLine, code, wholeLines } };
}

async function signIn(controller: ChatController, kind: 'login' | 'register'): Promise<void> {
  const title = kind === 'login' ? 'P2P Chat: Login' : 'P2P Chat: Register';
  const config = vscode.workspace.getConfiguration('p2pChat');
  const tracker = await vscode.window.showInputBox({ title, prompt: 'Tracker address (host:port)', value: controller.trackerAddress(), ignoreFocusOut: true });
  if (!tracker) return;
  if (tracker !== config.get('trackerAddress')) await config.update('trackerAddress', tracker, vscode.ConfigurationTarget.Global);
  const user = await vscode.window.showInputBox({ title, prompt: 'User name', value: controller.lastUser() ?? '', ignoreFocusOut: true, validateInput: (v) => problem(() => normalizeUserName(v)) });
  if (!user) return;
  const password = await vscode.window.showInputBox({
    title,
    prompt: kind === 'register' ? 'Choose a password: at least 15 characters; a phrase of unrelated words works well' : 'Password',
    password: true,
    ignoreFocusOut: true,
    validateInput: kind === 'register' ? (v) => policyProblem(v, user) : undefined,
  });
  if (!password) return;
  if (kind === 'register') {
    const again = await vscode.window.showInputBox({ title, prompt: 'Type the password again', password: true, ignoreFocusOut: true });
    if (again !== password) throw new Error('the two passwords differ; run Register again');
  }
  await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: kind === 'login' ? 'Logging in to P2P Chat…' : 'Creating your P2P Chat account…' }, () =>
    kind === 'login' ? controller.login(tracker, user, password) : controller.register(tracker, user, password),
  );
}

function policyProblem(password: string, user: string): string | undefined {
  return problem(() => checkPasswordPolicy(password, normalizeUserName(user)));
}

/** An input box's validation: the rule's own words (protocol/names.ts), or undefined when `check` passes. */
function problem(check: () => unknown): string | undefined {
  try {
    check();
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

function roomNameProblem(name: string): string | undefined {
  return problem(() => normalizeRoomName(name));
}

async function pickRoom(controller: ChatController, title: string, ownedOnly = false): Promise<string | undefined> {
  const engine = controller.requireEngine();
  const rooms = engine.joinedRooms().filter((r) => !ownedOnly || r.owner === engine.user);
  if (!rooms.length) {
    void vscode.window.showInformationMessage(ownedOnly ? 'You own no rooms.' : 'You are in no rooms.');
    return undefined;
  }
  const open = controller.model.openKey;
  const items = rooms.map((r) => ({ label: pickText(r.name), description: r.id === open ? 'open' : memberCount(r.members), id: r.id }));
  items.sort((a, b) => (a.id === open ? -1 : b.id === open ? 1 : 0));
  return (await vscode.window.showQuickPick(items, { title }))?.id;
}

async function pickConversation(controller: ChatController): Promise<string | undefined> {
  const engine = controller.requireEngine();
  const items = [
    ...engine.joinedRooms().map((r) => ({ label: `$(comment-discussion) ${pickText(r.name)}`, key: r.id })),
    ...(await engine.listPeers()).filter((p) => p.user !== engine.user).map((p) => ({ label: `$(mail) ${pickText(p.user)}`, key: dmRoom(engine.user!, p.user) })),
  ];
  return (await vscode.window.showQuickPick(items, { title: 'Share with…' }))?.key;
}
