// What the extension-host suite is given to talk to, by whichever driver starts it (code-server in
// test/vscode/extension-host.test.ts, desktop VS Code through test/vscode/suite-tracker.ts): a real
// `node tracker`, and the config file that tells the suite where it is (test/extension/suite/config.ts).

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FAST_TRACKER_ARGS, startTracker, type Teardown } from '../helpers/tracker-process.ts';
import type { SuiteConfig } from './suite/config.ts';

/**
 * Starts a tracker (FAST_TRACKER_ARGS, a fresh database) and writes into `dir` the suite's config
 * (suite.json, whose path goes in SUITE_CONFIG_ENV), an empty mocha log, and the results' path.
 */
export async function startSuiteTracker(t: Teardown, dir: string): Promise<{ config: SuiteConfig; path: string }> {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const config: SuiteConfig = {
    tracker: `${tracker.host}:${tracker.port}`,
    fingerprint: tracker.fingerprint,
    log: join(dir, 'mocha.log'),
    results: join(dir, 'results.json'),
  };
  const path = join(dir, 'suite.json');
  writeFileSync(config.log, '');
  writeFileSync(path, JSON.stringify(config, null, 2));
  return { config, path };
}
