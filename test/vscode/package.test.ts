// The .vsix that `npm run package` makes (vsce package --no-dependencies, filtered by
// .vscodeignore): exactly the manifest, the README, LICENSE and CHANGELOG, the icons, the
// extension bundle and the webview's bundle, styles and codicon font. No sources or source maps,
// no tests, no tracker or terminal-client bundle, no native module, no node_modules.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { checkBundle, packageVsix, zipEntries } from '../helpers/code-server.ts';
import { REPO_ROOT } from '../helpers/tracker-process.ts';

const EXPECTED = [
  '[Content_Types].xml',
  'extension.vsixmanifest',
  'extension/LICENSE.txt',
  'extension/changelog.md',
  'extension/dist/codicons/codicon.css',
  'extension/dist/codicons/codicon.ttf',
  'extension/dist/extension.cjs',
  'extension/dist/node-sqlite3-wasm.wasm',
  'extension/dist/webview.css',
  'extension/dist/webview.js',
  'extension/media/activity.svg',
  'extension/media/icon.png',
  'extension/package.json',
  'extension/readme.md',
];

test('the .vsix holds the extension and its view, and nothing else', { timeout: 120_000 }, async (t) => {
  checkBundle('dist/extension.cjs', ['extension', 'peer', 'protocol'], ['.ts']);
  checkBundle('dist/webview.js', ['webview'], ['.ts', '.tsx', '.css']);
  const dir = await mkdtemp(join(tmpdir(), 'p2p-chat-vsix-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const { path } = await packageVsix(join(dir, 'p2p-chat.vsix'));
  const entries = zipEntries(path);
  const size = statSync(path).size;
  console.log(`p2p-chat.vsix: ${(size / 1024).toFixed(1)} KiB, ${entries.length} entries`);
  for (const e of entries) console.log(`  ${e.name.padEnd(40)} ${(e.size / 1024).toFixed(1).padStart(7)} KiB`);
  assert.deepEqual(entries.map((e) => e.name).sort(), [...EXPECTED].sort());
  assert.ok(!entries.some((e) => /\.map$|\.ts$|node_modules|tracker|peer\.cjs|\.node$/.test(e.name)));
  assert.ok(size < 1024 * 1024, `the .vsix is ${size} bytes`);
});

// The manifest decides where and when the extension runs (issue 11): as a UI extension (the peer
// must listen on the user's own machine, where teammates reach it, not inside a remote container),
// in Restricted Mode too (it runs nothing from the workspace), and from startup (a saved session
// is online with the view hidden), with its keyboard commands bound.
test('the manifest: a UI extension, supported in untrusted workspaces, activated at startup, keyboard commands bound', async () => {
  const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
    extensionKind?: unknown;
    activationEvents?: unknown;
    capabilities?: { untrustedWorkspaces?: { supported?: unknown }; virtualWorkspaces?: unknown };
    contributes: {
      commands: { command: string; title: string; category?: string }[];
      keybindings?: { command: string; key: string; mac?: string; when?: string }[];
      menus: Record<string, { command: string; when?: string }[]>;
      configuration: { properties: Record<string, { scope?: string }> };
    };
  };
  // UI first: in a desktop window on Remote-SSH, WSL or a container the engine runs on the user's
  // own machine. Workspace only as the fallback where no local extension host exists (a browser
  // window such as code-server or Codespaces on the web, where ["ui"] alone disables it).
  assert.deepEqual(manifest.extensionKind, ['ui', 'workspace'], 'the engine runs on the user\'s machine in a remote window');
  assert.deepEqual(manifest.activationEvents, ['onStartupFinished'], 'activated once VS Code has started, the view hidden or not');
  assert.equal(manifest.capabilities?.untrustedWorkspaces?.supported, true, 'enabled in Restricted Mode');
  assert.equal(manifest.capabilities?.virtualWorkspaces, true);
  // Supported in Restricted Mode only because nothing comes from the workspace: a folder's
  // .vscode/settings.json must not choose the tracker, pin its certificate or pick the peer port
  // (an untrusted folder would send the user's sign-in to its own tracker).
  // Nor turn read receipts back on that the user turned off, nor show message text in
  // notifications (which outlive an edit or delete): privacy choices are the user's.
  for (const key of ['p2pChat.trackerAddress', 'p2pChat.trackerFingerprint', 'p2pChat.peerPort', 'p2pChat.readReceipts', 'p2pChat.notificationPreview', 'p2pChat.notifications']) {
    assert.ok(['machine', 'application'].includes(manifest.contributes.configuration.properties[key]?.scope ?? ''), `${key} cannot be set by a workspace`);
  }

  const commands = new Map(manifest.contributes.commands.map((c) => [c.command, c]));
  assert.equal(commands.get('p2pChat.focusComposer')?.title, 'Focus Message Box');
  assert.equal(commands.get('p2pChat.nextUnread')?.title, 'Next Unread Conversation');
  const keys = new Map((manifest.contributes.keybindings ?? []).map((k) => [k.command, k]));
  for (const id of ['p2pChat.focusComposer', 'p2pChat.nextUnread']) {
    assert.ok(keys.get(id)?.key && keys.get(id)?.mac, `${id} has a default keybinding on every platform`);
  }
  const bound = [...keys.values()].map((k) => k.key);
  assert.equal(new Set(bound).size, bound.length, 'no two commands share a key');
  for (const k of keys.values()) assert.ok(commands.has(k.command), `keybinding for an unknown command ${k.command}`);

  // The editor's context menu shows titles without categories: the entry there names the product.
  const context = manifest.contributes.menus['editor/context'] ?? [];
  assert.ok(context.length > 0);
  for (const item of context) assert.match(commands.get(item.command)?.title ?? '', /P2P Chat/, `${item.command} in the editor's context menu`);
  const palette = new Map((manifest.contributes.menus.commandPalette ?? []).map((m) => [m.command, m.when]));
  assert.equal(palette.get('p2pChat.shareSelectionWithChat'), 'false', 'the context-menu twin is not listed twice in the palette');
});
