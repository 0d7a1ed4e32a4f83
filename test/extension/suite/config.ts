// What the driver (test/vscode/extension-host.test.ts) tells the suite: a JSON file named by the
// P2P_CHAT_SUITE_CONFIG variable, which the code-server process and its extension host inherit.

import { readFileSync } from 'node:fs';

export interface SuiteConfig {
  /** host:port of the `node tracker` the driver started. */
  tracker: string;
  /** Its certificate fingerprint, as it printed it. */
  fingerprint: string;
  /** Mocha's report is appended here. */
  log: string;
  /** Facts the suite measured (activation time…), written as JSON for the driver to print. */
  results: string;
}

export const SUITE_CONFIG_ENV = 'P2P_CHAT_SUITE_CONFIG';
/** The account the suite registers. */
export const SUITE_USER = 'alice';
/** Passes peer/account.ts checkPasswordPolicy; the driver also looks for it in the whole user-data folder. */
export const SUITE_PASSWORD = 'plum kettle orbit 93 lantern';

export function suiteConfig(): SuiteConfig {
  const path = process.env[SUITE_CONFIG_ENV];
  if (!path) throw new Error(`${SUITE_CONFIG_ENV} is not set: run this suite through test/vscode/extension-host.test.ts`);
  return JSON.parse(readFileSync(path, 'utf8')) as SuiteConfig;
}
