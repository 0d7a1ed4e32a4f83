/// <reference types="mocha" />
// Runs inside VS Code's real extension host (code-server here; see test/vscode/extension-host.test.ts),
// against a real `node tracker` the driver started. What a person does with the palette is done with
// the same commands; only the prompts are answered by stubs of vscode.window (the input boxes and
// the trust-tracker modal). The extension's own API (activate()'s return value) lets the tests see
// the session, SecretStorage and what the view was sent.

import assert from 'node:assert/strict';
import { appendFileSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { ExtensionApi } from '../../../extension/extension.ts';
import type { HostToView } from '../../../protocol/view.ts';
import { parseReadMarks } from '../../../extension/read-state.ts';
import { filesHolding, filesUnder } from '../../helpers/files-under.ts';
import { SUITE_PASSWORD, SUITE_USER, type SuiteConfig } from './config.ts';
import { defineAttachedThreadTests } from './code-threads-attached.test.ts';
import { defineConversationTests } from './conversations.test.ts';
import { stubWindow } from './stub-window.ts';
import { until } from './until.ts';
import { postsDuring } from './view-posts.ts';
import { workspaceFolder } from './workspace-folder.ts';

const EXTENSION_ID = 'p2p-chat.p2p-chat';
export const COMMANDS = [
  'p2pChat.login',
  'p2pChat.register',
  'p2pChat.logout',
  'p2pChat.createRoom',
  'p2pChat.joinRoom',
  'p2pChat.leaveRoom',
  'p2pChat.closeRoom',
  'p2pChat.kickMember',
  'p2pChat.directMessage',
  'p2pChat.shareSelection',
  'p2pChat.shareSelectionWithChat',
  'p2pChat.showFingerprint',
  'p2pChat.verifyMember',
  'p2pChat.forgetTrackerFingerprint',
  'p2pChat.focusComposer',
  'p2pChat.nextUnread',
  'p2pChat.searchMessages',
];
/** The code threads' commands (their title and reply buttons): registered while code threads exist, from sign-in on. */
export const THREAD_COMMANDS = ['p2pChat.threadReply', 'p2pChat.threadShowOriginal', 'p2pChat.threadShowInChat'];
const USER = SUITE_USER;
const PASSWORD = SUITE_PASSWORD;

export function defineExtensionTests(config: SuiteConfig): void {
  const results: Record<string, unknown> = {};
  const note = (text: string) => appendFileSync(config.log, `      ${text}\n`);

  describe('P2P Chat in the VS Code extension host', function () {
    let api: ExtensionApi;
    let context: vscode.ExtensionContext;

    before(async function () {
      const ext = vscode.extensions.getExtension<ExtensionApi>(EXTENSION_ID);
      assert.ok(ext, `extension ${EXTENSION_ID} is not loaded`);
      results.activeBeforeTest = ext.isActive;
      const started = performance.now();
      api = await ext.activate();
      results.activateCallMs = Math.round(performance.now() - started);
      results.activationMs = Math.round(api.activationMs * 10) / 10;
      // The controller keeps the ExtensionContext privately; the tests read its SecretStorage and globalStorage.
      context = (api.controller as unknown as { context: vscode.ExtensionContext }).context;
      assert.ok(context?.secrets, 'the controller holds no ExtensionContext');
    });

    after(function () {
      writeFileSync(config.results, JSON.stringify(results, null, 2));
    });

    it('activates quickly and reports its activation time', function () {
      note(`activate() took ${results.activationMs} ms (extension.activate() call: ${results.activateCallMs} ms)`);
      assert.equal(typeof api.activationMs, 'number');
      assert.ok(api.activationMs < 1000, `activation took ${api.activationMs} ms`);
    });

    it(`registers all ${COMMANDS.length} P2P Chat palette commands, as the manifest declares them`, async function () {
      const manifest = vscode.extensions.getExtension(EXTENSION_ID)!.packageJSON as { contributes: { commands: { command: string; category: string }[] } };
      assert.deepEqual(manifest.contributes.commands.map((c) => c.command).sort(), [...COMMANDS, ...THREAD_COMMANDS].sort());
      assert.ok(manifest.contributes.commands.every((c) => c.category === 'P2P Chat'));
      const registered = new Set(await vscode.commands.getCommands(true));
      const missing = COMMANDS.filter((id) => !registered.has(id));
      assert.deepEqual(missing, [], `not registered: ${missing.join(', ')}`);
      assert.ok(registered.has('p2pChat.view.focus'), 'the view contributes p2pChat.view.focus');
    });

    it('Register: input boxes and the trust-tracker modal, then the session is online', async function () {
      this.timeout(120_000);
      const answers = [config.tracker, USER, PASSWORD, PASSWORD];
      const asked: vscode.InputBoxOptions[] = [];
      const warnings: { message: string; detail?: string; items: unknown[] }[] = [];
      const errors: string[] = [];
      const restore = stubWindow({
        showInputBox: async (options?: vscode.InputBoxOptions) => {
          asked.push(options ?? {});
          const value = answers.shift();
          const problem = value !== undefined ? await options?.validateInput?.(value) : undefined;
          assert.equal(problem ?? undefined, undefined, `input box "${options?.prompt}" rejected ${value}: ${JSON.stringify(problem)}`);
          return value;
        },
        showWarningMessage: async (message: string, options?: vscode.MessageOptions, ...items: unknown[]) => {
          warnings.push({ message, ...(options?.detail ? { detail: options.detail } : {}), items });
          return /First connection to the tracker/.test(message) ? 'Trust' : undefined;
        },
        showErrorMessage: async (message: string) => {
          errors.push(message);
          return undefined;
        },
      });
      const started = performance.now();
      try {
        await vscode.commands.executeCommand('p2pChat.register');
      } finally {
        restore();
      }
      results.registerMs = Math.round(performance.now() - started);
      note(`Register (scrypt, key generation, tracker round trips) took ${results.registerMs} ms`);

      assert.deepEqual(errors, []);
      assert.equal(answers.length, 0, 'every input box was asked');
      assert.equal(asked[2].password, true, 'the password box masks its input');
      assert.equal(asked[3].password, true, 'the confirmation box masks its input');
      const trust = warnings.find((w) => /First connection to the tracker/.test(w.message));
      assert.ok(trust, `no trust-tracker modal; warnings: ${JSON.stringify(warnings)}`);
      assert.match(trust.message, new RegExp(config.tracker.replace(/\./g, '\\.')));
      assert.ok(trust.detail?.includes(config.fingerprint), 'the modal shows the fingerprint the tracker printed');

      await until(() => api.controller.model.session.state === 'online', 'the session to be online');
      assert.equal(api.controller.loggedIn, true);
      assert.equal(api.controller.model.session.user, USER);
      assert.equal(api.controller.model.session.tracker, config.tracker);
      assert.equal(vscode.workspace.getConfiguration('p2pChat').get('trackerAddress'), config.tracker, 'the typed tracker address is remembered');
    });

    it('signed in, the window running the engine has code threads: their commands are registered', async function () {
      const registered = new Set(await vscode.commands.getCommands(true));
      assert.deepEqual(THREAD_COMMANDS.filter((id) => !registered.has(id)), []);
    });

    it('SecretStorage holds the session token, never the password; globalStorage has no password either', async function () {
      const raw = await context.secrets.get('p2pChat.account');
      assert.ok(raw, 'no p2pChat.account in SecretStorage');
      const account = JSON.parse(raw) as Record<string, unknown>;
      assert.equal(account.user, USER);
      assert.equal(typeof account.token, 'string');
      assert.ok((account.token as string).length >= 16, 'the resume token is there');
      assert.ok(!raw.includes(PASSWORD), 'the password is in SecretStorage');
      assert.ok(!Object.keys(account).some((k) => /pass/i.test(k)), `a password field: ${Object.keys(account).join(', ')}`);

      const storage = context.globalStorageUri.fsPath;
      const files = filesUnder(storage);
      assert.ok(files.length > 0, `nothing in ${storage}: the engine keeps its state there`);
      assert.deepEqual(filesHolding(storage, PASSWORD, ['utf8', 'utf16le']), [], 'files in globalStorage hold the password');
      note(`scanned ${files.length} files in globalStorage: no password`);
      results.globalStorageFiles = files;
    });

    it('the view gets a full snapshot when it opens, and again after it is closed and reopened', async function () {
      this.timeout(120_000);
      const view = api.view;
      await vscode.commands.executeCommand('p2pChat.view.focus');
      await until(() => view.visible && view.snapshotsPosted >= 1, 'the view to open and be sent a snapshot (does dist/webview.js post view/ready?)');
      const first = view.snapshotsPosted;
      // The view loads its codicon font before it says ready (webview/main.tsx): closing it right
      // after the snapshot leaves no request pending in VS Code's webview service worker.
      assert.equal(view.lastSnapshot?.session.state, 'online');
      assert.equal(view.lastSnapshot?.session.user, USER);

      await vscode.commands.executeCommand('workbench.action.closeSidebar');
      await until(() => !view.visible, 'the view to be hidden');

      await vscode.commands.executeCommand('p2pChat.view.focus');
      await until(() => view.visible && view.snapshotsPosted > first, 'a new snapshot after reopening');
      assert.equal(view.lastSnapshot?.session.user, USER);
      assert.equal(view.lastSnapshot?.session.state, 'online');
      results.snapshotsPosted = view.snapshotsPosted;
      note(`snapshots posted to the view: ${first} on first open, ${view.snapshotsPosted} after reopening`);
    });

    it("a snippet link opens a file of the workspace, and refuses a path or a symlink that leads out, with a notice", async function () {
      this.timeout(60_000);
      const folder = workspaceFolder();
      const outside = join(folder.uri.fsPath, '..', `p2p-outside-${process.pid}.txt`);
      writeFileSync(outside, 'not for peers\n');
      const link = join(folder.uri.fsPath, 'p2p-link-out');
      symlinkSync(outside, link);
      const warnings: string[] = [];
      const restore = stubWindow({
        showWarningMessage: async (message: string) => {
          warnings.push(message);
          return undefined;
        },
      });
      try {
        await vscode.commands.executeCommand('workbench.action.closeAllEditors');
        for (const path of ['../../../../../etc/hostname', `../p2p-outside-${process.pid}.txt`, '/etc/hostname', 'p2p-link-out']) {
          await api.controller.fromView({ type: 'snippet/open', path, line: 1 });
          assert.equal(vscode.window.activeTextEditor, undefined, `${path} opened nothing`);
        }
        assert.equal(warnings.length, 4, warnings.join('\n'));
        assert.match(warnings[0]!, /did not open .*\.\.\/\.\.\/.*etc\/hostname.*"\.\."/);
        assert.match(warnings[2]!, /absolute/);
        assert.match(warnings[3]!, /symbolic link/);
        await api.controller.fromView({ type: 'snippet/open', path: 'hello.ts', line: 1 });
        assert.equal(vscode.window.activeTextEditor?.document.uri.fsPath, join(folder.uri.fsPath, 'hello.ts'));
        assert.equal(warnings.length, 4);
      } finally {
        restore();
        unlinkSync(link);
        unlinkSync(outside);
      }
    });

    it('each view request gets its own request/completed: a failing join says why, a leave succeeds; neither is a notice', async function () {
      this.timeout(60_000);
      await postsDuring(api, async (seen) => {
        await api.controller.fromView({ type: 'room/join', requestId: 41, id: 'no-such-room' });
        const failed = seen.filter((m): m is Extract<HostToView, { type: 'request/completed' }> => m.type === 'request/completed');
        assert.equal(failed.length, 1, JSON.stringify(seen));
        assert.equal(failed[0]!.requestId, 41);
        assert.equal(failed[0]!.ok, false);
        assert.ok(failed[0]!.error?.message, 'the failure says why');
        assert.equal(typeof failed[0]!.error?.code, 'string', 'with its code');
        note(`a join of an unknown room id completes with ${failed[0]!.error?.code}: ${failed[0]!.error?.message}`);

        await api.controller.createRoom(`ext-${process.pid}`);
        const key = api.controller.model.openKey!;
        seen.length = 0;
        await api.controller.fromView({ type: 'room/leave', requestId: 42, key });
        assert.deepEqual(seen.filter((m) => m.type === 'request/completed'), [{ type: 'request/completed', requestId: 42, ok: true }]);
        assert.equal(seen.some((m) => m.type === 'notice/shown'), false);
        assert.equal(api.controller.model.roomItems().some((r) => r.key === key), false, 'left');
      });
    });

    defineConversationTests(() => api, note);
    defineAttachedThreadTests(() => api);

    it('Share Selection of whole lines (the cursor at column 1 of the next line) shares those lines only, named by their path in the folder', async function () {
      this.timeout(60_000);
      const folder = workspaceFolder();
      const file = vscode.Uri.joinPath(folder.uri, 'src', 'lines.ts');
      const lines = Array.from({ length: 200 }, (_, i) => `export const line${i + 1} = ${i + 1};`);
      await vscode.workspace.fs.writeFile(file, Buffer.from(lines.join('\n') + '\n'));
      await api.controller.createRoom(`share-${process.pid}`);
      const editor = await vscode.window.showTextDocument(file);
      // Lines 82-84 selected as Shift+Down selects them: from column 1 of 82 to column 1 of 85.
      editor.selection = new vscode.Selection(81, 0, 84, 0);
      const seen = await postsDuring(api, async () => {
        const restore = stubWindow({ showInputBox: async () => '' });
        try {
          await vscode.commands.executeCommand('p2pChat.shareSelectionWithChat');
        } finally {
          restore();
        }
      });
      const added = seen.find((m): m is Extract<HostToView, { type: 'timeline/added' }> => m.type === 'timeline/added');
      assert.ok(added && added.item.kind === 'message', `no message was shown: ${JSON.stringify(seen.map((m) => m.type))}`);
      const snippet = added.item.kind === 'message' ? added.item.snippet : undefined;
      assert.deepEqual(
        { path: snippet?.path, startLine: snippet?.startLine, endLine: snippet?.endLine, code: snippet?.code, wholeLines: snippet?.wholeLines },
        { path: 'src/lines.ts', startLine: 82, endLine: 84, code: lines.slice(81, 84).join('\n'), wholeLines: true },
      );
      assert.equal(added.item.kind === 'message' && added.item.text, 'src/lines.ts:82');
    });

    it('a snippet link selects the shared lines and reveals them in the middle of the editor', async function () {
      this.timeout(60_000);
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
      await api.controller.fromView({ type: 'snippet/open', path: 'src/lines.ts', line: 150, endLine: 152 });
      const editor = vscode.window.activeTextEditor;
      assert.ok(editor, 'an editor opened');
      assert.equal(editor.document.uri.path.endsWith('/src/lines.ts'), true);
      const { start, end } = editor.selection;
      assert.deepEqual([start.line, start.character, end.line, end.character], [149, 0, 151, editor.document.lineAt(151).text.length], 'lines 150-152 are selected');
      await until(() => editor.visibleRanges.some((r) => r.start.line < 140 && r.end.line > 160), 'the range to be revealed centred (lines around it visible)');
    });

    it('read marks are kept in globalState per user, and what is read back is checked, not trusted', async function () {
      const key = `p2pChat.readMarks.${USER}`;
      const saved = context.globalState.get<unknown>(key);
      assert.ok(Array.isArray(saved), `no read marks saved under ${key}: ${JSON.stringify(saved)}`);
      const marks = parseReadMarks(saved);
      assert.ok(marks.size > 0, 'the conversations opened have marks');
      for (const mark of marks.values()) assert.equal(mark.unread, 0, 'opened conversations are read');
      // Damaged or hostile entries are dropped one by one; a key like __proto__ is a key like any other.
      const parsed = parseReadMarks([
        ['__proto__', { unread: 3, mentions: 9 }],
        ['ok', { unread: 2, mentions: 1, lastRead: { id: 'm1', sentAt: 5 } }],
        ['bad-count', { unread: -1, mentions: 0 }],
        ['bad-type', { unread: '2', mentions: 0 }],
        [42, { unread: 1, mentions: 0 }],
        ['bad-last', { unread: 1, mentions: 0, lastRead: { id: 7, sentAt: 'x' } }],
        'junk',
      ]);
      assert.deepEqual([...parsed], [
        ['__proto__', { unread: 3, mentions: 3 }],
        ['ok', { unread: 2, mentions: 1, lastRead: { id: 'm1', sentAt: 5 } }],
        ['bad-last', { unread: 1, mentions: 0 }],
      ]);
      assert.equal(parseReadMarks({ unread: 1 }).size, 0);
      assert.equal(parseReadMarks(undefined).size, 0);
    });

    it('Logout signs out and keeps no session in SecretStorage', async function () {
      await vscode.commands.executeCommand('p2pChat.logout');
      assert.equal(api.controller.loggedIn, false);
      assert.equal(api.controller.model.session.state, 'logged_out');
      assert.equal(await context.secrets.get('p2pChat.account'), undefined);
      assert.equal(api.controller.model.session.lastUser, USER, 'the form starts with the last user name');
    });

    it('a wrong password goes straight to signed out, with only the password error (no "connecting", no timeout later)', async function () {
      this.timeout(60_000);
      await postsDuring(api, async (seen) => {
        await api.controller.fromView({ type: 'auth/login', requestId: 77, tracker: config.tracker, user: USER, password: 'not the password at all 123' });
        const completed = seen.find((m): m is Extract<HostToView, { type: 'request/completed' }> => m.type === 'request/completed' && m.requestId === 77);
        assert.equal(completed?.ok, false);
        assert.equal(completed?.error?.code, 'auth.bad_credentials', JSON.stringify(completed));
        // Signed out at once: no link left open for the tracker to time out later.
        assert.equal(api.controller.model.session.state, 'logged_out');
        assert.doesNotMatch(api.controller.model.session.detail, /connect|closed/i);
        const after = seen.slice(seen.indexOf(completed!));
        assert.equal(after.some((m) => m.type === 'session/changed' && m.session.state !== 'logged_out'), false, 'no state after the failure but signed out');
        // The right password still works on the same window afterwards.
        await api.controller.fromView({ type: 'auth/login', requestId: 78, tracker: config.tracker, user: USER, password: PASSWORD });
        assert.equal(api.controller.model.session.state, 'online');
        await vscode.commands.executeCommand('p2pChat.logout');
      });
    });
  });
}
