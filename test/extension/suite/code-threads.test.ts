/// <reference types="mocha" />
// Code threads (extension/code-threads.ts) inside VS Code's real extension host: a CodeThreads with
// a test host (what the chat controller gives it: reply, show in chat, me, the setting) is told
// messages the way the controller tells it, and its threads are read back from the thread objects
// VS Code's Comments API holds. Files are real files of the workspace folder the driver opens.

import assert from 'node:assert/strict';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { CodeThreads, MAX_THREADS, type CodeThreadsHost } from '../../../extension/code-threads.ts';
import { ProtocolError } from '../../../protocol/errors.ts';
import type { TimelineMessage } from '../../../protocol/view.ts';
import type { SuiteConfig } from './config.ts';
import { stubWindow } from './stub-window.ts';
import { until } from './until.ts';
import { workspaceFolder } from './workspace-folder.ts';

const ROOM = 'room-code-threads';
const CODE = 'export function add(a: number, b: number): number {\n  return a + b;\n}';

/** A message as the controller passes it (protocol/view.ts TimelineMessage). */
function message(id: string, fields: Partial<TimelineMessage>): TimelineMessage {
  return { kind: 'message', id, from: 'bob', text: '', sentAt: Date.now(), mine: false, mentionsMe: false, ...fields };
}

/** A comment's text as shown: MarkdownString.appendText writes spaces as `&nbsp;` and escapes Markdown's characters. */
const bodyOf = (c: vscode.Comment) =>
  (typeof c.body === 'string' ? c.body : c.body.value).replace(/&nbsp;/g, ' ').replace(/\\([\\`*_{}[\]()#+\-.!<>|~])/g, '$1');

class TestHost implements CodeThreadsHost {
  readonly replies: [string, string, string][] = [];
  readonly shownInChat: [string, string][] = [];
  /** The next reply fails with this (as the engine refuses a reply to a deleted message). */
  failNext?: ProtocolError;
  async reply(key: string, id: string, text: string): Promise<void> {
    const fail = this.failNext;
    this.failNext = undefined;
    if (fail) throw fail;
    this.replies.push([key, id, text]);
  }
  showInChat(key: string, id: string): void {
    this.shownInChat.push([key, id]);
  }
  me(): string | undefined {
    return 'alice';
  }
  /** The setting, as the extension's host reads it. */
  enabled(): boolean {
    return vscode.workspace.getConfiguration('p2pChat').get<boolean>('codeThreads', true);
  }
}

export function defineCodeThreadTests(_config: SuiteConfig): void {
  describe('Code threads in the editor (Comments API)', function () {
    let folder: vscode.Uri;
    let dir: string;
    let host: TestHost;
    let threads: CodeThreads;

    before(function () {
      folder = workspaceFolder().uri;
      dir = join(folder.fsPath, 'threads');
      mkdirSync(dir, { recursive: true });
      const lines = Array.from({ length: 30 }, (_, i) => `// line ${i + 1}`);
      lines.splice(9, 3, ...CODE.split('\n'));
      writeFileSync(join(dir, 'sample.ts'), lines.join('\n') + '\n');
      host = new TestHost();
      threads = new CodeThreads(host);
    });

    after(async function () {
      threads.dispose();
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
      rmSync(dir, { recursive: true, force: true });
    });

    const only = () => {
      const shown = threads.shown();
      assert.equal(shown.length, 1, `threads: ${JSON.stringify(shown.map((s) => s.id))}`);
      return shown[0]!.thread;
    };

    it('a shared snippet becomes a thread at its lines, the snippet message its first comment', async function () {
      threads.message(ROOM, 'general', message('s1', { text: 'is this right?', snippet: { language: 'typescript', path: 'threads/sample.ts', startLine: 10, endLine: 12, code: CODE } }));
      await threads.idle();
      const thread = only();
      assert.equal(thread.uri.fsPath, join(dir, 'sample.ts'));
      assert.deepEqual([thread.range?.start.line, thread.range?.end.line], [9, 11]);
      assert.equal(thread.comments.length, 1);
      assert.equal(thread.comments[0]!.author.name, 'bob');
      assert.match(bodyOf(thread.comments[0]!), /is this right\?/);
      assert.equal(thread.comments[0]!.label, '#general');
      assert.doesNotMatch(thread.contextValue ?? '', /changed/);
      assert.deepEqual(thread.canReply, { name: 'alice' });
      // Told again (history after live): still one thread, one comment.
      threads.message(ROOM, 'general', message('s1', { text: 'is this right?', snippet: { language: 'typescript', path: 'threads/sample.ts', startLine: 10, endLine: 12, code: CODE } }));
      await threads.idle();
      assert.equal(only().comments.length, 1);
    });

    it('lines inserted above it: the thread moves with its code', async function () {
      const doc = await vscode.workspace.openTextDocument(vscode.Uri.joinPath(folder, 'threads', 'sample.ts'));
      await vscode.window.showTextDocument(doc);
      const edit = new vscode.WorkspaceEdit();
      edit.insert(doc.uri, new vscode.Position(0, 0), '// one\n// two\n// three\n// four\n// five\n');
      assert.ok(await vscode.workspace.applyEdit(edit));
      await until(() => only().range?.start.line === 14, 'the thread at line 15');
      const thread = only();
      assert.equal(thread.range?.end.line, 16);
      assert.doesNotMatch(thread.contextValue ?? '', /changed/);
      assert.match(thread.label ?? '', /now at 15-17/);
    });

    it('its lines edited: the thread says the code changed, and compares the snippet as shared with the file now', async function () {
      const doc = vscode.window.activeTextEditor!.document;
      assert.equal(doc.lineAt(15).text, '  return a + b;');
      const edit = new vscode.WorkspaceEdit();
      edit.replace(doc.uri, doc.lineAt(15).range, '  return a - b;');
      assert.ok(await vscode.workspace.applyEdit(edit));
      await until(() => /changed/.test(only().contextValue ?? ''), 'the thread to say changed');
      const thread = only();
      assert.match(thread.label ?? '', /changed since it was shared/);
      assert.deepEqual([thread.range?.start.line, thread.range?.end.line], [14, 16]);

      await vscode.commands.executeCommand('p2pChat.threadShowOriginal', thread);
      await until(() => vscode.workspace.textDocuments.some((d) => d.uri.scheme === 'p2p-chat-snippet'), 'the snippet as shared to open');
      const original = vscode.workspace.textDocuments.find((d) => d.uri.scheme === 'p2p-chat-snippet')!;
      assert.match(original.getText(), /return a \+ b;/);
      assert.doesNotMatch(original.getText(), /return a - b;/);
      assert.match(original.getText(), /^\/\/ one\n/, 'the rest of the file as it is now');
    });

    it('a reply in the chat is a second comment; an edit and a delete show in it', async function () {
      threads.message(ROOM, 'general', message('r1', { from: 'carol', text: 'minus is wrong', replyTo: { id: 's1' }, sentAt: Date.now() + 1 }));
      await until(() => only().comments.length === 2, 'the reply as a comment');
      assert.equal(only().comments[1]!.author.name, 'carol');
      assert.match(bodyOf(only().comments[1]!), /minus is wrong/);
      threads.updated(ROOM, message('r1', { from: 'carol', text: 'minus is wrong!', edited: true, replyTo: { id: 's1' } }));
      assert.match(bodyOf(only().comments[1]!), /minus is wrong!/);
      assert.equal(only().comments[1]!.label, 'edited');
      threads.updated(ROOM, message('r1', { from: 'carol', text: '', deleted: true, replyTo: { id: 's1' } }));
      assert.equal(bodyOf(only().comments[1]!), 'message deleted');
    });

    it("a member's Markdown stays text: no image, link or command link is drawn into the editor", async function () {
      threads.message(ROOM, 'general', message('r3', { from: 'mallory', text: '![x](http://127.0.0.1:9/x.png) [run](command:workbench.action.quit) <img src=x>', replyTo: { id: 's1' }, sentAt: Date.now() + 2 }));
      await until(() => only().comments.length === 3, 'the third comment');
      const body = only().comments[2]!.body as vscode.MarkdownString;
      assert.equal(bodyOf(only().comments[2]!), '![x](http://127.0.0.1:9/x.png) [run](command:workbench.action.quit) <img src=x>');
      assert.doesNotMatch(body.value, /(^|[^\\])\]\(/, 'no link syntax left unescaped');
      // HTML is shown as text: the body does not allow it.
      assert.ok(!body.isTrusted && !body.supportHtml && !body.supportThemeIcons);
    });

    it("the thread's reply box sends a reply to the snippet message; Show in Chat opens it there", async function () {
      const thread = only();
      await vscode.commands.executeCommand('p2pChat.threadReply', { thread, text: 'fixed in the next commit' });
      assert.deepEqual(host.replies, [[ROOM, 's1', 'fixed in the next commit']]);
      await vscode.commands.executeCommand('p2pChat.threadShowInChat', thread);
      assert.deepEqual(host.shownInChat, [[ROOM, 's1']]);
      // Not one of its threads (another extension calling the command): nothing is sent.
      await vscode.commands.executeCommand('p2pChat.threadReply', { thread: { comments: [] }, text: 'forged' });
      assert.equal(host.replies.length, 1);
    });

    it('a reply the engine refuses is not lost: the notice says why and offers the text back', async function () {
      const notices: { message: string; items: string[] }[] = [];
      const restore = stubWindow({
        showErrorMessage: async (message: string, ...items: string[]) => {
          notices.push({ message, items });
          return undefined;
        },
      });
      try {
        host.failNext = new ProtocolError('message.deleted', 'bob deleted that message; reply in the conversation instead');
        await vscode.commands.executeCommand('p2pChat.threadReply', { thread: only(), text: 'too late' });
      } finally {
        restore();
      }
      assert.deepEqual(notices, [{ message: 'P2P Chat did not send your reply: bob deleted that message; reply in the conversation instead', items: ['Copy Reply'] }]);
      assert.equal(host.replies.length, 1);
    });

    it('a reply that comes before its snippet message joins the thread when the snippet comes', async function () {
      threads.message(ROOM, 'general', message('r2', { from: 'carol', text: 'first!', replyTo: { id: 's2' } }));
      threads.message(ROOM, 'general', message('s2', { text: 'and this', sentAt: Date.now() - 1000, snippet: { language: 'typescript', path: 'threads/sample.ts', startLine: 1, endLine: 1, code: '// line 1' } }));
      await threads.idle();
      const s2 = threads.shown().find((s) => s.id === 's2');
      assert.ok(s2, 'a thread for s2');
      assert.deepEqual(s2.thread.comments.map((c) => c.author.name), ['bob', 'carol']);
    });

    it('a path outside the workspace, through a symbolic link out of it, or of a missing file gets no thread', async function () {
      const outside = join(folder.fsPath, '..', `p2p-thread-outside-${process.pid}.ts`);
      writeFileSync(outside, CODE + '\n');
      symlinkSync(outside, join(dir, 'link-out.ts'));
      try {
        const paths = [`../p2p-thread-outside-${process.pid}.ts`, outside, 'threads/link-out.ts', 'threads/missing.ts', 'threads/../../x.ts', '%2e%2e/x.ts', 'x'.repeat(5000)];
        paths.forEach((path, i) => threads.message(ROOM, 'general', message(`h${i}`, { snippet: { language: 'typescript', path, startLine: Number.MAX_SAFE_INTEGER, endLine: 1, code: CODE } })));
        await threads.idle();
        assert.deepEqual(threads.shown().map((s) => s.id).sort(), ['s1', 's2']);
      } finally {
        rmSync(outside, { force: true });
      }
    });

    it('the setting p2pChat.codeThreads off hides every thread; on shows them again', async function () {
      const config = () => vscode.workspace.getConfiguration('p2pChat');
      try {
        await config().update('codeThreads', false, vscode.ConfigurationTarget.Global);
        await until(() => threads.shown().length === 0, 'no thread while the setting is off');
      } finally {
        await config().update('codeThreads', undefined, vscode.ConfigurationTarget.Global);
      }
      await until(() => threads.shown().length === 2, 'both threads back');
      assert.deepEqual(threads.shown().find((s) => s.id === 's1')?.thread.comments.length, 3);
    });

    it(`at most ${MAX_THREADS} threads: the newest snippets, the member who shared the most giving up their own`, async function () {
      const bounded = new CodeThreads(host);
      try {
        const base = Date.now();
        for (let i = 0; i <= MAX_THREADS; i++) {
          bounded.message('room-many', 'many', message(`n${i}`, { sentAt: base + i, snippet: { language: 'typescript', path: 'threads/sample.ts', startLine: 1, endLine: 1, code: '// line 1' } }));
        }
        // One older than all of them does not push a newer one out.
        bounded.message('room-many', 'many', message('old', { sentAt: base - 1, snippet: { language: 'typescript', path: 'threads/sample.ts', startLine: 1, endLine: 1, code: '// line 1' } }));
        await bounded.idle();
        const ids = bounded.shown().map((s) => s.id);
        assert.equal(ids.length, MAX_THREADS);
        assert.ok(!ids.includes('n0') && !ids.includes('old') && ids.includes(`n${MAX_THREADS}`), ids.slice(-3).join(', '));
        // Another member's snippet, older than all of bob's, still shows: bob, who shared the most,
        // gives up his oldest (one member sharing for ever pushes out only their own).
        bounded.message('room-many', 'many', message('carol-1', { from: 'carol', sentAt: base - 2, snippet: { language: 'typescript', path: 'threads/sample.ts', startLine: 1, endLine: 1, code: '// line 1' } }));
        await bounded.idle();
        const after = bounded.shown().map((s) => s.id);
        assert.equal(after.length, MAX_THREADS);
        assert.ok(after.includes('carol-1') && !after.includes('n1') && after.includes(`n${MAX_THREADS}`), after.slice(-3).join(', '));
      } finally {
        bounded.dispose();
      }
      // Its commands stay with the threads still alive.
      await vscode.commands.executeCommand('p2pChat.threadShowInChat', threads.shown()[0]!.thread);
      assert.equal(host.shownInChat.length, 2);
    });

    it('the snippet message deleted, or the conversation forgotten: its threads go, and an open compare view says so', async function () {
      threads.updated(ROOM, message('s2', { text: '', deleted: true }));
      assert.deepEqual(threads.shown().map((s) => s.id), ['s1']);
      // s1's snippet as shared is still open in the compare view from above.
      const original = vscode.workspace.textDocuments.find((d) => d.uri.scheme === 'p2p-chat-snippet');
      assert.ok(original, 'the compare view of s1 is open');
      assert.match(original.getText(), /return a \+ b;/);
      threads.updated(ROOM, message('s1', { text: '', deleted: true }));
      assert.deepEqual(threads.shown(), []);
      await until(() => /no longer shown here \(its message was deleted/.test(original.getText()), 'the compare view to drop the deleted snippet');
      assert.doesNotMatch(original.getText(), /return a \+ b;/);
      threads.forget(ROOM);
      assert.deepEqual(threads.shown(), []);
    });
  });
}
