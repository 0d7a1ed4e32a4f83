// For .vscode/launch.json "Extension Tests" (desktop VS Code, F5): builds the extension-host suite
// (dist-test/extension-suite.cjs), starts a `node tracker` on a free loopback port with a fresh
// database, writes the config the suite reads (.vscode-test/extension-suite/suite.json, named by
// P2P_CHAT_SUITE_CONFIG in the launch configuration), and keeps the tracker running until the
// task is stopped. test/vscode/extension-host.test.ts does the same for code-server by itself.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SuiteConfig } from '../extension/suite/config.ts';
import { buildExtensionSuite } from '../helpers/code-server.ts';
import { FAST_TRACKER_ARGS, REPO_ROOT, startTracker } from '../helpers/tracker-process.ts';

console.log('starting the tracker for the extension tests');
const teardown: (() => unknown)[] = [];
const stop = async () => {
  for (const fn of teardown.reverse()) await fn();
  process.exit(0);
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);

await buildExtensionSuite();
const tracker = await startTracker({ after: (fn) => teardown.push(fn) }, { args: [...FAST_TRACKER_ARGS] });
const dir = join(REPO_ROOT, '.vscode-test/extension-suite');
mkdirSync(dir, { recursive: true });
const config: SuiteConfig = {
  tracker: `${tracker.host}:${tracker.port}`,
  fingerprint: tracker.fingerprint,
  log: join(dir, 'mocha.log'),
  results: join(dir, 'results.json'),
};
writeFileSync(config.log, '');
writeFileSync(join(dir, 'suite.json'), JSON.stringify(config, null, 2));
console.log(`suite config written: ${join(dir, 'suite.json')} (tracker ${config.tracker}); stop this task to stop the tracker`);
