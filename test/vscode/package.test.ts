// The .vsix that `npm run package` makes (vsce package --no-dependencies, filtered by
// .vscodeignore): exactly the manifest, the README, LICENSE and CHANGELOG, the icons, the
// extension bundle and the webview's bundle, styles and codicon font. No sources or source maps,
// no tests, no tracker or terminal-client bundle, no native module, no node_modules.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { checkBundle, packageVsix, zipEntries } from '../helpers/code-server.ts';

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
