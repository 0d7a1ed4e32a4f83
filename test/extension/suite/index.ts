// The entry VS Code's extension host loads as `extensionTestsPath` (what @vscode/test-electron's
// runTests points at; here test/vscode/extension-host.test.ts does it in code-server). esbuild
// bundles this folder into dist-test/extension-suite.cjs with `vscode` and `mocha` left external.
// The workbench reports the settled promise of `run()` as the exit code (0: every test passed).
// Mocha's report also goes to the file named by the driver's config, since the extension host's
// console is not the driver's.

import Mocha from 'mocha';
import { appendFileSync } from 'node:fs';
import { format } from 'node:util';
import { suiteConfig } from './config.ts';
import { defineCodeThreadTests } from './code-threads.test.ts';
import { defineExtensionTests } from './extension.test.ts';

export function run(): Promise<void> {
  const config = suiteConfig();
  const mocha = new Mocha({ ui: 'bdd', color: false, timeout: 60_000, reporter: 'spec' });
  const base = Mocha.reporters.Base as unknown as { consoleLog: (...args: unknown[]) => void };
  const consoleLog = base.consoleLog;
  base.consoleLog = (...args: unknown[]) => {
    appendFileSync(config.log, format(...args) + '\n');
    consoleLog(...args);
  };
  // The bdd interface puts describe/it/before on the global object, as the mocha CLI does.
  mocha.suite.emit('pre-require', globalThis, 'extension.test.ts', mocha);
  defineExtensionTests(config);
  defineCodeThreadTests(config);
  return new Promise((resolve, reject) => {
    try {
      mocha.run((failures) => (failures ? reject(new Error(`${failures} extension-host tests failed`)) : resolve()));
    } catch (err) {
      appendFileSync(config.log, `mocha could not run: ${(err as Error).stack}\n`);
      reject(err as Error);
    }
  });
}
