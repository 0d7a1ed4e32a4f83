// A real VS Code for tests on a machine without internet (notes/vscode-test-host.md): code-server
// 4.100.3 (the VS Code server and web workbench, installed by scripts/install-code-server.sh) in a
// temporary folder, driven by Debian's Chromium through playwright-core. Everything stays on
// 127.0.0.1 and out of the home folder: the gallery, telemetry, update and experiment switches
// are off, Chromium resolves no other host, and the browser context aborts every other request.
// Teardown (the browser, then the server's whole process group, then the folder) is registered
// before anything can fail.

import { teardownStack } from './teardown.ts';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { REPO_ROOT, type Teardown } from './tracker-process.ts';

export const CODE_SERVER_VERSION = '4.100.3';
export const CODE_SERVER_DIR = join(REPO_ROOT, `.vscode-test/code-server-${CODE_SERVER_VERSION}`);
export const CODE_SERVER_ENTRY = join(CODE_SERVER_DIR, 'node_modules/code-server/out/node/entry.js');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const START_TIMEOUT_MS = 30_000;
const KILL_AFTER_MS = 5_000;

/** Why the VS Code tests cannot run here (undefined: they can). */
export function codeServerMissing(): string | undefined {
  if (!existsSync(join(CODE_SERVER_DIR, '.installed'))) return `code-server is not installed in ${CODE_SERVER_DIR}: run scripts/install-code-server.sh`;
  if (!existsSync(CHROMIUM)) return `no Chromium at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`;
  return undefined;
}

/** User settings that keep the workbench quiet, offline and free of modal prompts. */
export const LOOPBACK_SETTINGS: Record<string, unknown> = {
  'security.workspace.trust.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'workbench.enableExperiments': false,
  'npm.fetchOnlinePackageInfo': false,
  'json.schemaDownload.enable': false,
  'typescript.disableAutomaticTypeAcquisition': true,
  'remote.autoForwardPorts': false,
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'chat.commandCenter.enabled': false,
  'workbench.colorTheme': 'Default Dark Modern',
};

/** Workspace Trust on, never asked at startup: an untrusted folder opens in Restricted Mode. */
const RESTRICTED_SETTINGS: Record<string, unknown> = {
  'security.workspace.trust.enabled': true,
  'security.workspace.trust.startupPrompt': 'never',
  'security.workspace.trust.emptyWindow': false,
};

export interface CodeServer {
  port: number;
  /** http://127.0.0.1:PORT */
  origin: string;
  /** The test's temporary folder (removed in teardown). */
  dir: string;
  userDataDir: string;
  extensionsDir: string;
  /** The folder the workbench opens. */
  workspace: string;
  /** Everything the server printed so far. */
  output(): string;
  /** `vscode-remote://` URI of a path on this machine, as the workbench's payload wants it. */
  remoteUri(path: string): string;
  /** The workbench URL for the workspace, with an optional payload (extension development and tests). */
  url(payload?: [string, string][]): string;
}

export interface StartCodeServerOptions {
  /** Added to LOOPBACK_SETTINGS in the user settings.json. */
  settings?: Record<string, unknown>;
  /** Added to the server's environment (the extension host inherits it). */
  env?: Record<string, string>;
  /** .vsix files installed with `--install-extension` before the server starts. */
  install?: string[];
  /** Files to create in the workspace (path relative to it -> content). */
  files?: Record<string, string>;
  /**
   * Workspace Trust on, and the folder not trusted (no prompt): the window opens in Restricted
   * Mode, where extensions that do not declare untrusted-workspace support are disabled.
   */
  restricted?: boolean;
}

/** The environment for code-server and Chromium: no VS Code variables of an enclosing instance, XDG folders and HOME in `dir`. */
function isolatedEnv(dir: string, extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    // A VS Code terminal's VSCODE_IPC_HOOK_CLI would make `--install-extension` talk to that instance.
    if (v === undefined || k.startsWith('VSCODE_') || k.startsWith('ELECTRON_') || k === 'NODE_OPTIONS' || k.startsWith('P2P_TRACKER_')) continue;
    env[k] = v;
  }
  Object.assign(env, {
    HOME: join(dir, 'home'),
    XDG_CONFIG_HOME: join(dir, 'xdg/config'),
    XDG_DATA_HOME: join(dir, 'xdg/data'),
    XDG_CACHE_HOME: join(dir, 'xdg/cache'),
    // Without it the web workbench queries the open-vsx gallery at start.
    EXTENSIONS_GALLERY: '{}',
  });
  return Object.assign(env, extra);
}

function serverArgs(server: { dir: string; userDataDir: string; extensionsDir: string }, restricted = false): string[] {
  return [
    CODE_SERVER_ENTRY,
    '--config',
    join(server.dir, 'code-server.yaml'),
    '--auth',
    'none',
    '--user-data-dir',
    server.userDataDir,
    '--extensions-dir',
    server.extensionsDir,
    '--disable-telemetry',
    '--disable-update-check',
    ...(restricted ? [] : ['--disable-workspace-trust']),
  ];
}

export async function startCodeServer(t: Teardown, opts: StartCodeServerOptions = {}): Promise<CodeServer> {
  const missing = codeServerMissing();
  if (missing) throw new Error(missing);
  const dir = await mkdtemp(join(tmpdir(), 'p2p-chat-vscode-'));
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  t.after(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      // The server's extension host, file watcher and terminals are its children: end the group.
      killGroup(child, 'SIGTERM');
      const timer = setTimeout(() => killGroup(child!, 'SIGKILL'), KILL_AFTER_MS);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true, maxRetries: 3 });
  });

  const userDataDir = join(dir, 'user-data');
  const extensionsDir = join(dir, 'extensions');
  const workspace = join(dir, 'workspace');
  for (const d of [join(userDataDir, 'User'), extensionsDir, workspace, join(dir, 'home'), join(dir, 'xdg/config'), join(dir, 'xdg/data'), join(dir, 'xdg/cache')]) mkdirSync(d, { recursive: true });
  writeFileSync(join(dir, 'code-server.yaml'), 'bind-addr: 127.0.0.1:0\nauth: none\ncert: false\n');
  writeFileSync(join(userDataDir, 'User/settings.json'), JSON.stringify({ ...LOOPBACK_SETTINGS, ...(opts.restricted ? RESTRICTED_SETTINGS : {}), ...opts.settings }, null, 2));
  for (const [path, content] of Object.entries(opts.files ?? {})) {
    mkdirSync(join(workspace, path, '..'), { recursive: true });
    writeFileSync(join(workspace, path), content);
  }
  const env = isolatedEnv(dir, opts.env);
  const base = { dir, userDataDir, extensionsDir };

  for (const vsix of opts.install ?? []) {
    const r = spawnSync(process.execPath, [...serverArgs(base), '--install-extension', vsix], { env, encoding: 'utf8', timeout: 60_000 });
    if (r.status !== 0 || !/was successfully installed/.test(r.stdout + r.stderr)) {
      throw new Error(`code-server --install-extension ${vsix} failed (${r.status ?? r.signal})\n${r.stdout}\n${r.stderr}`);
    }
  }

  child = spawn(process.execPath, [...serverArgs(base, opts.restricted), '--bind-addr', '127.0.0.1:0', workspace], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  exited = new Promise((resolve) => child!.once('exit', () => resolve()));
  let output = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`code-server did not listen within ${START_TIMEOUT_MS} ms\n${output}`)), START_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const m = /HTTP server listening on http:\/\/127\.0\.0\.1:(\d+)\//.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child!.stdout!.on('data', onData);
    child!.stderr!.on('data', onData);
    child!.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`code-server exited (${signal ?? `code ${code}`}) before listening\n${output}`));
    });
  });
  const origin = `http://127.0.0.1:${port}`;
  const remoteUri = (path: string) => `vscode-remote://127.0.0.1:${port}${path}`;
  return {
    port,
    origin,
    dir,
    userDataDir,
    extensionsDir,
    workspace,
    output: () => output,
    remoteUri,
    url(payload) {
      const query = `folder=${encodeURIComponent(workspace)}${payload ? `&payload=${encodeURIComponent(JSON.stringify(payload))}` : ''}`;
      return `${origin}/?${query}`;
    },
  };
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // already gone
  }
}

export interface Workbench {
  browser: Browser;
  context: BrowserContext;
  page: Page;
  /** Requests the context aborted because they left the machine (should stay empty). */
  blocked: string[];
}

export interface OpenWorkbenchOptions {
  /** Exposed as `codeAutomationExit`: the workbench calls it with the test suite's exit code. */
  onExit?: (code: number) => void;
  /** Browser console lines are passed here (e.g. for a failure report). */
  onConsole?: (line: string) => void;
  viewport?: { width: number; height: number };
}

/** Opens `url` in headless Chromium, on loopback only. */
export async function openWorkbench(t: Teardown, server: CodeServer, url: string, opts: OpenWorkbenchOptions = {}): Promise<Workbench> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    env: isolatedEnv(server.dir),
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1, EXCLUDE localhost',
    ],
  });
  t.after(() => browser.close());
  const context = await browser.newContext({ viewport: opts.viewport ?? { width: 1400, height: 900 } });
  const blocked: string[] = [];
  await context.route('**/*', (route) => {
    const { hostname, protocol } = new URL(route.request().url());
    if ((protocol === 'http:' || protocol === 'https:' || protocol === 'ws:' || protocol === 'wss:') && hostname !== '127.0.0.1' && hostname !== 'localhost') {
      blocked.push(route.request().url());
      return route.abort();
    }
    return route.continue();
  });
  const page = await context.newPage();
  if (opts.onConsole) page.on('console', (m) => opts.onConsole!(`[${m.type()}] ${m.text()}`));
  if (opts.onExit) await page.exposeFunction('codeAutomationExit', (code: number) => opts.onExit!(code));
  await page.goto(url);
  return { browser, context, page, blocked };
}

/** Resolves when the workbench has loaded the configured color theme (it first renders a default one). */
export async function waitForWorkbench(page: Page, themeClass = 'vscode-theme-', timeoutMs = 60_000): Promise<void> {
  await page.waitForSelector(`.monaco-workbench[class*="${themeClass}"]`, { timeout: timeoutMs });
}

// ---- the bundles under test ---------------------------------------------------------------------

/** The mocha suite the extension host loads (test/extension/suite), bundled by buildExtensionSuite(). */
export const SUITE_BUNDLE = join(REPO_ROOT, 'dist-test/extension-suite.cjs');

/** Bundles test/extension/suite into SUITE_BUNDLE (`vscode` comes from the extension host, mocha from node_modules). */
export async function buildExtensionSuite(): Promise<string> {
  const { build } = await import('esbuild');
  await build({
    entryPoints: [join(REPO_ROOT, 'test/extension/suite/index.ts')],
    outfile: SUITE_BUNDLE,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: 'inline',
    external: ['vscode', 'mocha'],
    logLevel: 'warning',
  });
  return SUITE_BUNDLE;
}

/** Throws when a dist/ bundle is missing or older than a source file it is built from. */
export function checkBundle(bundle: string, folders: string[], exts = ['.ts', '.tsx', '.css']): void {
  const path = join(REPO_ROOT, bundle);
  if (!existsSync(path)) throw new Error(`no ${bundle}: run \`node scripts/build.mjs\` (npm test does)`);
  const built = statSync(path).mtimeMs;
  for (const folder of folders) {
    for (const name of readdirSync(join(REPO_ROOT, folder), { recursive: true }) as string[]) {
      if (exts.some((e) => name.endsWith(e)) && statSync(join(REPO_ROOT, folder, name)).mtimeMs > built) {
        throw new Error(`${folder}/${name} is newer than ${bundle}: run \`node scripts/build.mjs\` (npm test does)`);
      }
    }
  }
}

/** What the packaged extension holds (besides the manifest's own files): the bundles the extension host and the view load. */
export const EXTENSION_FILES = ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'media', 'dist/extension.cjs', 'dist/node-sqlite3-wasm.wasm', 'dist/webview.js', 'dist/webview.css', 'dist/codicons'];

/**
 * Copies the extension as it would be installed (EXTENSION_FILES) into `dir`, and the suite bundle
 * beside it when given: the test then runs against a snapshot of dist/, not one a concurrent
 * `node scripts/build.mjs` (or the watch task) rewrites under it. The suite sits inside the
 * extension's folder so that its `require('vscode')` gets the same API object as the extension
 * (the extension host hands files outside any extension a separate one), and finds mocha through
 * a node_modules link to the repository's.
 */
export function stageExtension(dir: string, suite?: string): string {
  const ext = join(dir, 'extension');
  for (const path of EXTENSION_FILES) {
    const from = join(REPO_ROOT, path);
    if (existsSync(from)) cpSync(from, join(ext, path), { recursive: true });
  }
  if (suite) {
    cpSync(suite, join(ext, 'dist-test', 'extension-suite.cjs'));
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(ext, 'node_modules'), 'dir');
  }
  return ext;
}

// ---- the packaged extension ----------------------------------------------------------------------

/** Runs `vsce package --no-dependencies` (what `npm run package` runs after the build) into `outFile`. */
export function packageVsix(outFile: string): Promise<{ path: string; output: string }> {
  const vsce = join(REPO_ROOT, 'node_modules/@vscode/vsce/vsce');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [vsce, 'package', '--no-dependencies', '--no-rewrite-relative-links', '-o', outFile], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.once('error', reject);
    child.once('exit', (code, signal) => (code === 0 ? resolve({ path: outFile, output }) : reject(new Error(`vsce package failed (${signal ?? code})\n${output}`))));
  });
}

/** The entries of a zip file (a .vsix), read from its central directory: name and uncompressed size. */
export function zipEntries(path: string): { name: string; size: number }[] {
  const zip = readFileSync(path);
  // The end-of-central-directory record: signature 0x06054b50, within the last 64 KiB + 22 bytes.
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 0xffff); i--) {
    if (zip.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error(`${path} is not a zip file`);
  const count = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  const entries: { name: string; size: number }[] = [];
  for (let n = 0; n < count; n++) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error(`${path}: bad central directory entry ${n}`);
    const size = zip.readUInt32LE(at + 24);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    entries.push({ name: zip.toString('utf8', at + 46, at + 46 + nameLength), size });
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/**
 * A Teardown whose functions run in reverse order of registration (the browser before the server,
 * the server before the folders and the tracker it used), all of them even if one fails.
 */
export function lifoTeardown(t: Teardown): Teardown {
  let first: unknown;
  const stack = teardownStack((err) => (first ??= err));
  t.after(async () => {
    await stack.runAll();
    if (first) throw first;
  });
  return stack;
}
