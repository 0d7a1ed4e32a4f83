// For .vscode/launch.json "Extension Tests" (desktop VS Code, F5): builds the extension-host suite
// (dist-test/extension-suite.cjs), starts a `node tracker` on a free loopback port with a fresh
// database, writes the config the suite reads (.vscode-test/extension-suite/suite.json, named by
// P2P_CHAT_SUITE_CONFIG in the launch configuration), and keeps the tracker running until the
// task is stopped. test/vscode/extension-host.test.ts starts the same (test/extension/suite-tracker.ts)
// for code-server by itself.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startSuiteTracker } from '../extension/suite-tracker.ts';
import { buildExtensionSuite } from '../helpers/code-server.ts';
import { REPO_ROOT } from '../helpers/tracker-process.ts';

console.log('starting the tracker for the extension tests');
const teardown: (() => unknown)[] = [];
const stop = async () => {
  for (const fn of teardown.reverse()) await fn();
  process.exit(0);
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);

await buildExtensionSuite();
const dir = join(REPO_ROOT, '.vscode-test/extension-suite');
mkdirSync(dir, { recursive: true });
const { config, path } = await startSuiteTracker({ after: (fn) => teardown.push(fn) }, dir);
console.log(`suite config written: ${path} (tracker ${config.tracker}); stop this task to stop the tracker`);
