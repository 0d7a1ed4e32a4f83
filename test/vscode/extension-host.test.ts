// The mocha suite of test/extension/suite, run inside VS Code's real extension host: what
// @vscode/test-electron's runTests does, done with code-server and Chromium because this machine
// cannot download VS Code desktop (notes/vscode-test-host.md). A real `node tracker` (bcrypt cost
// 10) is started here; its address reaches the suite through a config file named by an
// environment variable that code-server's extension host inherits. The workbench calls
// `codeAutomationExit` with the suite's exit code; the suite's mocha report is printed.
// Fails, with the reason, where code-server or Chromium is not installed (.ci/run installs both).

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { SUITE_CONFIG_ENV, SUITE_PASSWORD } from '../extension/suite/config.ts';
import { startSuiteTracker } from '../extension/suite-tracker.ts';
import { buildExtensionSuite, checkBundle, lifoTeardown, openWorkbench, stageExtension, startCodeServer } from '../helpers/code-server.ts';
import { filesHolding } from '../helpers/files-under.ts';

/** From opening the page to the suite's exit code: workbench start (10–15 s on 2 cores), registration, view round trips. */
const SUITE_TIMEOUT_MS = 150_000;

test('the extension-host suite passes inside a real VS Code (code-server)', { timeout: SUITE_TIMEOUT_MS + 30_000 }, async (context) => {
  const t = lifoTeardown(context);
  checkBundle('dist/extension.cjs', ['extension', 'peer', 'protocol'], ['.ts']);
  checkBundle('dist/webview.js', ['webview'], ['.ts', '.tsx', '.css']);
  const suite = await buildExtensionSuite();
  const dir = await mkdtemp(join(tmpdir(), 'p2p-chat-suite-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const { config, path: configPath } = await startSuiteTracker(t, dir);

  const extension = stageExtension(dir, suite);
  const server = await startCodeServer(t, { env: { [SUITE_CONFIG_ENV]: configPath }, files: { 'hello.ts': 'export const hello = "world";\n' } });
  const url = server.url([
    ['extensionDevelopmentPath', server.remoteUri(extension)],
    ['extensionTestsPath', server.remoteUri(join(extension, 'dist-test', 'extension-suite.cjs'))],
    ['skipWelcome', 'true'],
  ]);
  const consoleLines: string[] = [];
  let exited!: (code: number) => void;
  const exitCode = new Promise<number>((resolve) => (exited = resolve));
  const started = Date.now();
  const workbench = await openWorkbench(t, server, url, { onExit: (code) => exited(code), onConsole: (line) => consoleLines.push(line) });

  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([
    exitCode,
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(
              `the suite did not finish within ${SUITE_TIMEOUT_MS} ms\n--- mocha ---\n${readFileSync(config.log, 'utf8')}\n--- browser console (tail) ---\n${consoleLines.slice(-40).join('\n')}\n--- code-server ---\n${server.output().slice(-4000)}`,
            ),
          ),
        SUITE_TIMEOUT_MS,
      );
    }),
  ]).finally(() => clearTimeout(timer));
  const seconds = ((Date.now() - started) / 1000).toFixed(1);

  const report = readFileSync(config.log, 'utf8');
  console.log(`--- mocha, inside the extension host (${seconds} s from opening the workbench) ---\n${report}`);
  const results = existsSync(config.results) ? (JSON.parse(readFileSync(config.results, 'utf8')) as Record<string, unknown>) : {};
  if (results.activationMs !== undefined) console.log(`extension activation: activate() ${results.activationMs} ms; extensions.activate() ${results.activateCallMs} ms`);
  const errors = consoleLines.filter((l) => /^\[(error|warning)\]/.test(l)).slice(-30);
  assert.equal(code, 0, `the suite exited ${code}\n${report}\n--- browser console errors ---\n${errors.join('\n')}`);
  assert.ok(/passing/.test(report), 'mocha printed no summary');
  assert.deepEqual(workbench.blocked, [], 'the workbench tried to leave the machine');

  // The password must not be anywhere in VS Code's user data (settings, state, logs, globalStorage).
  await workbench.browser.close();
  assert.deepEqual(filesHolding(server.userDataDir, SUITE_PASSWORD), [], 'files in the user-data folder hold the password');
});
