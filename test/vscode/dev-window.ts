// A VS Code window for a test: its own code-server with the extension as built (dist/, staged) or
// as packaged (the .vsix installed), opened in Chromium; more windows of the same user on it; and
// a reload as VS Code does it. The browser console is kept for failureReport, each line led by its
// type ("[error] …") so that the report finds it, then by the window's label when there are several.

import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { openWorkbench, packageVsix, stageExtension, startCodeServer, waitForWorkbench, type CodeServer, type Workbench } from '../helpers/code-server.ts';
import type { Teardown } from '../helpers/tracker-process.ts';
import { runCommand, UI_TIMEOUT_MS } from './workbench.ts';

export interface DevWindow extends Workbench {
  server: CodeServer;
  /** The workbench's address: another page opening it is another window of the same user. */
  url: string;
  /** The browser console of this window (and of the others sharing the array). */
  consoleLines: string[];
}

export interface DevWindowOptions {
  /** The workspace's files, by path. */
  files: Record<string, string>;
  /** Leads each console line of this window, where several windows share `consoleLines`. */
  label?: string;
  consoleLines?: string[];
  /** User settings added to the quiet, offline ones. */
  settings?: Record<string, unknown>;
}

/** A code-server with the extension as built (staged under `dir`, or `dir/LABEL`) and a workspace of `files`, opened in Chromium. */
export async function openDevWindow(t: Teardown, dir: string, opts: DevWindowOptions): Promise<DevWindow> {
  const extension = stageExtension(opts.label ? join(dir, opts.label) : dir);
  const server = await startCodeServer(t, { files: opts.files, settings: opts.settings });
  const url = server.url([
    ['extensionDevelopmentPath', server.remoteUri(extension)],
    ['skipWelcome', 'true'],
  ]);
  const consoleLines = opts.consoleLines ?? [];
  const workbench = await openWorkbench(t, server, url, { onConsole: (line) => consoleLines.push(labelled(line, opts.label)) });
  return { ...workbench, server, url, consoleLines };
}

/** A code-server with the packaged p2p-chat.vsix (built into `dir`) installed, opened in Chromium. */
export async function openPackagedWindow(t: Teardown, dir: string, opts: { files: Record<string, string>; restricted?: boolean }): Promise<DevWindow> {
  const { path: vsix } = await packageVsix(join(dir, 'p2p-chat.vsix'));
  const server = await startCodeServer(t, { install: [vsix], restricted: opts.restricted, files: opts.files });
  const url = server.url();
  const consoleLines: string[] = [];
  const workbench = await openWorkbench(t, server, url, { onConsole: (line) => consoleLines.push(line) });
  return { ...workbench, server, url, consoleLines };
}

/** Another window of the same user (the same browser profile and user-data folder) on `window`'s workbench; resolves when it is ready. */
export async function openAnotherWindow(window: DevWindow, label: string): Promise<Page> {
  const page = await window.context.newPage();
  page.on('console', (m) => window.consoleLines.push(labelled(`[${m.type()}] ${m.text()}`, label)));
  await page.goto(window.url);
  await waitForWorkbench(page);
  return page;
}

/** VS Code's own reload (it saves the window's state before it goes); resolves when the workbench is back. */
export async function reloadWindow(page: Page): Promise<void> {
  const reloaded = page.waitForEvent('load', { timeout: UI_TIMEOUT_MS });
  await runCommand(page, 'Developer: Reload Window');
  await reloaded;
  await waitForWorkbench(page);
}

/** "[type] text" as "[type] LABEL text". */
const labelled = (line: string, label?: string) => (label ? line.replace('] ', `] ${label} `) : line);
