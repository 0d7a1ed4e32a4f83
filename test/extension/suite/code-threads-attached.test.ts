/// <reference types="mocha" />
// Code threads in a window attached to the engine's window (issue 12), inside VS Code's real
// extension host. The harness opens one VS Code window, whose extension runs the engine (the
// holder, signed in by Register). A second window cannot be opened by this harness, so the attached
// window is built one level below extension.ts's `attach`: a real attach connection to the
// extension's own folder lock (peer/folder-lock.ts), a real HolderLink (extension/window-link.ts)
// and the AttachedThreads extension.ts makes for it (extension/code-threads-attached.ts), showing
// threads in this workspace. What the holder does is the real extension's. (Two real windows on two
// folders, driven as a person would: test/vscode/two-windows-threads.test.ts.)
// Called by extension.test.ts inside its describe block, after Register.

import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { attach } from '../../../peer/folder-lock.ts';
import { AttachedThreads } from '../../../extension/code-threads-attached.ts';
import type { CodeThreads } from '../../../extension/code-threads.ts';
import type { ExtensionApi } from '../../../extension/extension.ts';
import { HolderLink } from '../../../extension/window-link.ts';
import type { HostToView, ViewRequestParams, WindowToHost } from '../../../protocol/view.ts';

const WAIT_MS = 30_000;

type Completed = Extract<HostToView, { type: 'request/completed' }>;

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${WAIT_MS} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export function defineAttachedThreadTests(api: () => ExtensionApi): void {
  it('a window attached to the engine\'s window shows the code threads of its workspace; a reply typed there goes through the link; its path link opens its thread', async function () {
    this.timeout(90_000);
    const { controller } = api();
    assert.equal(api().role(), 'holder', 'this window runs the engine');
    const folder = vscode.workspace.workspaceFolders![0]!;
    const path = `src/attached-${process.pid}.ts`;
    const uri = vscode.Uri.joinPath(folder.uri, path);
    const lines = Array.from({ length: 12 }, (_, i) => `export const part${i + 1} = ${i + 1};`);
    await vscode.workspace.fs.writeFile(uri, Buffer.from(lines.join('\n') + '\n'));
    await controller.createRoom(`attached-${process.pid}`);
    const key = controller.model.openKey!;
    // Shared before the window attaches: it comes with what the holder's threads hold.
    await controller.send(key, 'before you came', { language: 'typescript', path, startLine: 2, endLine: 3, code: lines.slice(1, 3).join('\n') });

    const storage = (controller as unknown as { context: vscode.ExtensionContext }).context.globalStorageUri.fsPath;
    const attached = await attach(storage);
    assert.ok(attached, "the extension's folder lock accepts another window");
    let nextRequest = 2 ** 52;
    const waiting = new Map<number, (m: Completed) => void>();
    let link!: HolderLink;
    const send = (m: WindowToHost) => {
      if (link.closed) return false;
      link.send(m);
      return true;
    };
    const shownInChat: WindowToHost[] = [];
    const threads = new AttachedThreads({
      user: () => controller.model.session.user,
      send: (m) => {
        if (m.type === 'search/open') shownInChat.push(m);
        return send(m);
      },
      request: (params: ViewRequestParams) =>
        new Promise<Completed>((resolve, reject) => {
          const requestId = nextRequest++;
          waiting.set(requestId, (m) => (m.ok ? resolve(m) : reject(new Error(m.error?.message ?? 'failed'))));
          send({ ...params, requestId } as WindowToHost);
        }),
      reveal: async () => {},
    });
    link = new HolderLink(attached.socket, {
      post: (m) => {
        if (m.type === 'request/completed') waiting.get(m.requestId)?.(m);
      },
      threads,
      closed: () => {},
    });
    try {
      link.subscribeThreads();
      const mine = () => threads.shown().filter((s) => s.key === key);
      await until(() => mine().length === 1, 'the snippet shared before attaching as a thread of the attached window');
      const first = mine()[0]!;
      assert.equal(first.thread.uri.toString(), uri.toString(), 'on the file of this workspace');
      assert.deepEqual([first.thread.range?.start.line, first.thread.range?.end.line], [1, 2]);

      // Shared after it attached: the change reaches it too.
      await controller.send(key, 'and this one', { language: 'typescript', path, startLine: 8, endLine: 9, code: lines.slice(7, 9).join('\n') });
      await until(() => mine().length === 2, 'the new snippet as a second thread');
      const second = mine().find((s) => s.id !== first.id)!;
      assert.equal(second.thread.range?.start.line, 7);

      // A reply typed in the attached window's thread: the holder's engine sends it, and it shows in
      // the holder's thread, the attached window's thread, and the chat.
      await vscode.commands.executeCommand('p2pChat.threadReply', { thread: first.thread, text: 'answered from the other window' });
      const holderThreads = (controller as unknown as { threads?: CodeThreads }).threads!;
      const holderThread = () => holderThreads.shown().find((s) => s.key === key && s.id === first.id)?.thread;
      await until(() => first.thread.comments.length === 2, "the reply in the attached window's thread");
      await until(() => holderThread()?.comments.length === 2, "the reply in the holder's thread");
      const reply = controller.model.snapshot().open?.timeline.find((m) => m.kind === 'message' && m.text === 'answered from the other window');
      assert.ok(reply && reply.kind === 'message' && reply.replyTo?.id === first.id, 'the reply is in the chat, answering the snippet message');

      await vscode.commands.executeCommand('p2pChat.threadShowInChat', first.thread);
      assert.deepEqual(shownInChat, [{ type: 'search/open', key, id: first.id }]);

      // Lines inserted above: this window's thread follows its code, and the link of that message
      // opens where the thread is now.
      const edit = new vscode.WorkspaceEdit();
      edit.insert(uri, new vscode.Position(0, 0), '// a\n// b\n// c\n// d\n');
      assert.ok(await vscode.workspace.applyEdit(edit));
      await (await vscode.workspace.openTextDocument(uri)).save();
      await until(() => first.thread.range?.start.line === 5, "the attached window's thread to follow its code");
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
      await threads.openSnippet({ path, line: 2, endLine: 3, message: { key, id: first.id } });
      const editor = vscode.window.activeTextEditor;
      assert.equal(editor?.document.uri.toString(), uri.toString());
      assert.deepEqual([editor!.selection.start.line, editor!.selection.end.line], [5, 6], 'lines 6-7, where the code is now');

      // The conversation left in the holder: its threads go in the attached window too.
      await controller.leaveRoom(key);
      await until(() => mine().length === 0, "the threads of the left conversation to go from the attached window");
    } finally {
      link.close();
      threads.dispose();
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    }
  });
}
