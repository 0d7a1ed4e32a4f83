/// <reference types="mocha" />
// Issue 12 in VS Code's real extension host, through the real engine: the view's requests reply,
// react, edit and delete (each answered by its own request/completed, the view told the whole
// message as it is now), search/run titled by the room, and "P2P Chat: Search Messages": typing
// in its QuickPick searches, Enter opens the conversation at the message (message/revealed); a
// snippet shared becomes a code thread of this window (the controller's CodeThreads), a reply in
// the chat joins it, and the snippet's path link opens where that message's thread found the code now.
// Called by extension.test.ts inside its describe block, after Register.

import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { CodeThreads } from '../../../extension/code-threads.ts';
import type { ExtensionApi } from '../../../extension/extension.ts';
import type { HostToView, TimelineMessage } from '../../../protocol/view.ts';
import { stubWindow } from './stub-window.ts';
import { until } from './until.ts';
import { postsDuring } from './view-posts.ts';
import { workspaceFolder } from './workspace-folder.ts';

type Completed = Extract<HostToView, { type: 'request/completed' }>;

export function defineConversationTests(api: () => ExtensionApi, note: (text: string) => void): void {
  it('reply, react, edit and delete through view requests: each completed, the view told the whole message, the quote following the original', async function () {
    this.timeout(60_000);
    const { controller } = api();
    await controller.createRoom(`talk-${process.pid}`);
    const key = controller.model.openKey!;
    await postsDuring(api(), async (seen) => {
      const completed = (requestId: number) => seen.find((m): m is Completed => m.type === 'request/completed' && m.requestId === requestId);
      const added = (pred: (m: TimelineMessage) => boolean) => seen.map((m) => (m.type === 'timeline/added' && m.item.kind === 'message' ? m.item : undefined)).find((m) => m && pred(m));
      const updated = (id: string) => seen.filter((m): m is Extract<HostToView, { type: 'message/updated' }> => m.type === 'message/updated' && m.message.id === id).at(-1)?.message;

      await controller.fromView({ type: 'message/send', requestId: 501, key, text: 'the release notes are drafted' });
      assert.deepEqual(completed(501), { type: 'request/completed', requestId: 501, ok: true });
      const original = added((m) => m.text === 'the release notes are drafted')!;
      await controller.fromView({ type: 'message/send', requestId: 502, key, text: 'and reviewed', replyTo: original.id });
      assert.equal(completed(502)?.ok, true, JSON.stringify(completed(502)));
      const reply = added((m) => m.text === 'and reviewed')!;
      assert.deepEqual(reply.replyTo, { id: original.id, from: controller.model.session.user, excerpt: 'the release notes are drafted' });

      await controller.fromView({ type: 'message/react', requestId: 503, key, id: original.id, emoji: '🚀', on: true });
      assert.equal(completed(503)?.ok, true, JSON.stringify(completed(503)));
      assert.deepEqual(updated(original.id)?.reactions, [{ emoji: '🚀', users: [controller.model.session.user], mine: true }]);

      await controller.fromView({ type: 'message/edit', requestId: 504, key, id: original.id, text: 'the release notes are final' });
      assert.equal(completed(504)?.ok, true, JSON.stringify(completed(504)));
      assert.deepEqual([updated(original.id)?.text, updated(original.id)?.edited], ['the release notes are final', true]);
      assert.equal(updated(reply.id)?.replyTo?.excerpt, 'the release notes are final', 'the reply quotes the new text');

      const search = seen.length;
      await controller.fromView({ type: 'search/run', requestId: 505, query: 'release notes' });
      const found = completed(505);
      assert.equal(found?.ok, true, JSON.stringify(found));
      assert.deepEqual(found?.results?.map((r) => [r.key, r.title, r.id]), [[key, `talk-${process.pid}`, original.id]], 'found by its edited text, titled by the room');
      assert.ok(seen.length > search);

      await controller.fromView({ type: 'message/delete', requestId: 506, key, id: original.id });
      assert.equal(completed(506)?.ok, true, JSON.stringify(completed(506)));
      assert.deepEqual([updated(original.id)?.deleted, updated(original.id)?.text], [true, '']);
      assert.deepEqual(updated(reply.id)?.replyTo, { id: original.id, from: controller.model.session.user, deleted: true });

      await controller.fromView({ type: 'message/edit', requestId: 507, key, id: original.id, text: 'too late' });
      assert.equal(completed(507)?.ok, false, 'a deleted message cannot be edited');
      assert.equal(completed(507)?.error?.code, 'message.deleted', JSON.stringify(completed(507)));
      note(`editing a deleted message completes with ${completed(507)?.error?.code}: ${completed(507)?.error?.message}`);
    });
  });

  it('Search Messages: the QuickPick searches as its words change, Enter opens the conversation at the message', async function () {
    this.timeout(60_000);
    const { controller } = api();
    await controller.createRoom(`find-${process.pid}`);
    const key = controller.model.openKey!;
    await controller.send(key, 'the quokka deploy window is thursday');
    await controller.createRoom(`other-${process.pid}`);
    assert.notEqual(controller.model.openKey, key);

    const create = vscode.window.createQuickPick;
    let pick: vscode.QuickPick<vscode.QuickPickItem> | undefined;
    await postsDuring(api(), async (seen) => {
      let running: Thenable<unknown>;
      const restore = stubWindow({ createQuickPick: () => (pick = create()) });
      try {
        // The palette command with a first query, as a keybinding with `args` would run it.
        running = vscode.commands.executeCommand('p2pChat.searchMessages', 'quokka');
        await until(() => pick !== undefined, 'the QuickPick to open');
      } finally {
        restore();
      }
      assert.equal(pick!.value, 'quokka');
      await until(() => (pick?.items.length ?? 0) > 0, 'search results in the QuickPick');
      assert.equal(pick!.items.length, 1);
      assert.match(pick!.items[0]!.label, /quokka deploy window/);
      // As the words change, it searches again: nothing for these, the message again for those.
      pick!.value = 'wombat';
      await until(() => pick!.items.length === 0 && !pick!.busy, 'no results for a word nobody wrote');
      assert.match(pick!.placeholder ?? '', /No message contains "wombat"/);
      pick!.value = 'deploy window';
      await until(() => pick!.items.length === 1 && !pick!.busy, 'the message found again');
      assert.equal(pick!.items[0]!.description, `#find-${process.pid}`);
      pick!.activeItems = [pick!.items[0]!];
      await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
      await running;
      const revealed = seen.find((m): m is Extract<HostToView, { type: 'message/revealed' }> => m.type === 'message/revealed');
      assert.ok(revealed, `no message/revealed: ${JSON.stringify(seen.map((m) => m.type))}`);
      assert.equal(revealed.key, key);
      assert.equal(controller.model.openKey, key, 'the conversation of the result is open');
      const opened = seen.findIndex((m) => m.type === 'conversation/opened' && m.key === key);
      assert.ok(opened >= 0 && opened < seen.indexOf(revealed), 'opened before it is revealed');
    });
  });

  it("a snippet shared is a code thread here, a reply in the chat joins it, and its path link opens where the code is after lines are inserted above", async function () {
    this.timeout(60_000);
    const { controller } = api();
    const folder = workspaceFolder();
    const path = `src/anchor-${process.pid}.ts`;
    const uri = vscode.Uri.joinPath(folder.uri, path);
    const lines = Array.from({ length: 10 }, (_, i) => `export const step${i + 1} = ${i + 1};`);
    await vscode.workspace.fs.writeFile(uri, Buffer.from(lines.join('\n') + '\n'));
    await controller.createRoom(`threads-${process.pid}`);
    const key = controller.model.openKey!;
    await controller.send(key, 'these two lines', { language: 'typescript', path, startLine: 4, endLine: 5, code: lines.slice(3, 5).join('\n') });
    const threads = (controller as unknown as { threads?: CodeThreads }).threads;
    assert.ok(threads, 'signed in, the controller made its code threads');
    await until(() => threads.shown().some((s) => s.key === key), 'a thread for the snippet');
    const shown = threads.shown().find((s) => s.key === key)!;
    assert.equal(shown.thread.range?.start.line, 3, 'at the shared lines');

    await controller.fromView({ type: 'message/send', requestId: 601, key, text: 'why a const?', replyTo: shown.id });
    await until(() => shown.thread.comments.length === 2, 'the reply as the thread\'s second comment');

    const doc = await vscode.workspace.openTextDocument(uri);
    const edit = new vscode.WorkspaceEdit();
    edit.insert(uri, new vscode.Position(0, 0), '// one\n// two\n// three\n');
    assert.ok(await vscode.workspace.applyEdit(edit));
    await doc.save();
    await until(() => threads.anchorOf(key, shown.id)?.startLine === 7, 'the thread to follow its code down three lines');

    const opened = async (message: { key: string; id: string } | undefined) => {
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
      await controller.fromView({ type: 'snippet/open', path, line: 4, endLine: 5, ...(message ? { message } : {}) });
      const editor = vscode.window.activeTextEditor;
      assert.equal(editor?.document.uri.toString(), uri.toString());
      return [editor!.selection.start.line, editor!.selection.end.line];
    };
    assert.deepEqual(await opened({ key, id: shown.id }), [6, 7], 'the link opens lines 7-8, where the code is now');

    // Another snippet shared at the same path and lines (the code there now): each message's link
    // opens its own thread, not the newest snippet shared at that place.
    const now = (await vscode.workspace.openTextDocument(uri)).getText().split('\n');
    await controller.send(key, 'and the lines there now', { language: 'typescript', path, startLine: 4, endLine: 5, code: now.slice(3, 5).join('\n') });
    await until(() => threads.shown().filter((s) => s.key === key).length === 2, 'a thread for the second snippet');
    const other = threads.shown().find((s) => s.key === key && s.id !== shown.id)!;
    await until(() => threads.anchorOf(key, other.id)?.startLine === 4, 'the second thread at lines 4-5');
    assert.deepEqual(await opened({ key, id: shown.id }), [6, 7], "the first message's link still opens its thread's lines");
    assert.deepEqual(await opened({ key, id: other.id }), [3, 4], "the second message's link opens its own");
    // A message without a thread here, or a link naming none: the lines as shared.
    assert.deepEqual(await opened({ key, id: 'no-thread-here' }), [3, 4]);
    assert.deepEqual(await opened(undefined), [3, 4]);
  });
}
