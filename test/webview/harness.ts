// A test page for the BUILT webview (dist/webview.js + dist/webview.css) in real headless
// Chromium. The page is the one the extension serves (extension/chat-view-provider.ts): the same
// Content-Security-Policy (default-src 'none', script by nonce only), the codicon stylesheet and
// the bundle, from a tiny local HTTP server. A fake `acquireVsCodeApi`, injected before the bundle
// runs, records what the view posts and keeps setState across reloads (VS Code's hide/show); the
// test plays the extension's side by dispatching HostToView messages with window.postMessage,
// which is how VS Code delivers them. Every message the view posts is checked with the host's own
// schema (viewToHostSchema), as the real provider does. Any request leaving localhost is aborted
// and remembered, and so are dialogs, page errors and console errors (CSP violations among them).

import { webviewHtml } from '../../extension/webview-html.ts';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before } from 'node:test';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { viewToHostSchema, type HostToView, type ViewToHost } from '../../protocol/view.ts';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CHROMIUM = '/usr/bin/chromium';
const DIST = join(REPO_ROOT, 'dist');
const NONCE = 'dGVzdC1ub25jZS0xMjM0NTY3OA==';
/** Generous for a loaded 2-core machine; tests wait on conditions, never on time. */
export const WAIT_MS = 10_000;

export interface Teardown {
  after(fn: () => unknown): void;
}

// Theme variables as VS Code injects them (a few from Dark Modern), so the styles resolve.
const THEME_CSS = `:root {
  --vscode-font-family: system-ui, sans-serif; --vscode-font-size: 13px; --vscode-font-weight: normal;
  --vscode-editor-font-family: monospace; --vscode-editor-font-size: 13px;
  --vscode-foreground: #cccccc; --vscode-descriptionForeground: #9d9d9d; --vscode-errorForeground: #f85149;
  --vscode-sideBar-background: #181818; --vscode-sideBarSectionHeader-background: #181818;
  --vscode-focusBorder: #0078d4; --vscode-input-background: #313131; --vscode-input-foreground: #cccccc;
  --vscode-input-border: #3c3c3c; --vscode-button-background: #0078d4; --vscode-button-foreground: #ffffff;
  --vscode-button-secondaryBackground: #313131; --vscode-button-secondaryForeground: #cccccc;
  --vscode-badge-background: #616161; --vscode-badge-foreground: #f8f8f8; --vscode-textLink-foreground: #4daafc;
  --vscode-list-hoverBackground: #2a2d2e; --vscode-editorWarning-foreground: #cca700;
  --vscode-textCodeBlock-background: #2b2b2b; --vscode-textPreformat-foreground: #d0d0d0;
  --vscode-editor-findMatchHighlightBackground: rgba(234, 92, 0, 0.33); --vscode-widget-border: #313131;
  --vscode-list-activeSelectionBackground: #04395e; --vscode-editorError-foreground: #f14c4c;
}`;

// The same variables from Light Modern, for screenshots in a light theme (`open(t, { theme: 'light' })`).
const LIGHT_THEME_CSS = `:root {
  --vscode-font-family: system-ui, sans-serif; --vscode-font-size: 13px; --vscode-font-weight: normal;
  --vscode-editor-font-family: monospace; --vscode-editor-font-size: 13px;
  --vscode-foreground: #3b3b3b; --vscode-descriptionForeground: #616161; --vscode-errorForeground: #f85149;
  --vscode-sideBar-background: #f8f8f8; --vscode-sideBarSectionHeader-background: #f8f8f8;
  --vscode-focusBorder: #005fb8; --vscode-input-background: #ffffff; --vscode-input-foreground: #3b3b3b;
  --vscode-input-border: #cecece; --vscode-button-background: #005fb8; --vscode-button-foreground: #ffffff;
  --vscode-button-secondaryBackground: #e5e5e5; --vscode-button-secondaryForeground: #3b3b3b;
  --vscode-badge-background: #cccccc; --vscode-badge-foreground: #3b3b3b; --vscode-textLink-foreground: #005fb8;
  --vscode-list-hoverBackground: #f2f2f2; --vscode-editorWarning-foreground: #bf8803;
  --vscode-textCodeBlock-background: #f8f8f8; --vscode-textPreformat-foreground: #3b3b3b;
  --vscode-editor-findMatchHighlightBackground: rgba(234, 92, 0, 0.33); --vscode-widget-border: #e5e5e5;
  --vscode-list-activeSelectionBackground: #e8e8e8; --vscode-editorError-foreground: #e51400;
}`;

// And from Dark High Contrast: borders instead of fills (contrastBorder, contrastActiveBorder).
const HIGH_CONTRAST_THEME_CSS = `:root {
  --vscode-font-family: system-ui, sans-serif; --vscode-font-size: 13px; --vscode-font-weight: normal;
  --vscode-editor-font-family: monospace; --vscode-editor-font-size: 13px;
  --vscode-foreground: #ffffff; --vscode-descriptionForeground: #ffffffb3; --vscode-errorForeground: #f48771;
  --vscode-sideBar-background: #000000; --vscode-sideBarSectionHeader-background: #000000;
  --vscode-contrastBorder: #6fc3df; --vscode-contrastActiveBorder: #f38518;
  --vscode-focusBorder: #f38518; --vscode-input-background: #000000; --vscode-input-foreground: #ffffff;
  --vscode-input-border: #6fc3df; --vscode-button-background: #000000; --vscode-button-foreground: #ffffff;
  --vscode-button-secondaryBackground: #000000; --vscode-button-secondaryForeground: #ffffff;
  --vscode-badge-background: #000000; --vscode-badge-foreground: #ffffff; --vscode-textLink-foreground: #21a6ff;
  --vscode-editorWarning-foreground: #ffd370; --vscode-editorError-foreground: #f48771;
  --vscode-textCodeBlock-background: #000000; --vscode-textPreformat-foreground: #ffffff;
  --vscode-editor-findMatchHighlightBorder: #f38518; --vscode-widget-border: #6fc3df;
}`;

export type Theme = 'dark' | 'light' | 'high-contrast';

const THEMES: ReadonlyMap<string, string> = new Map([
  ['/theme.css', THEME_CSS],
  ['/theme-light.css', LIGHT_THEME_CSS],
  ['/theme-high-contrast.css', HIGH_CONTRAST_THEME_CSS],
]);

/** The extension's own page (extension/webview-html.ts), served from the test server. */
function pageHtml(origin: string, theme: Theme): string {
  return webviewHtml({
    cspSource: origin,
    nonce: NONCE,
    resource: (...path) => `${origin}/dist/${path.join('/')}`,
    extraStyles: [`${origin}/${theme === 'dark' ? 'theme.css' : `theme-${theme}.css`}`],
  });
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.ttf': 'font/ttf',
  '.map': 'application/json',
};

/** Runs in the page before any of its scripts: the VS Code webview API, faked. */
function fakeVsCodeApi(): void {
  const w = window as unknown as Record<string, unknown>;
  const KEY = 'fake-vscode-state';
  const posted: unknown[] = [];
  let acquired = false;
  w.__posted = posted;
  w.__acquireCount = 0;
  w.acquireVsCodeApi = () => {
    w.__acquireCount = (w.__acquireCount as number) + 1;
    // VS Code's own rule: a second call throws.
    if (acquired) throw new Error('An instance of the VS Code API has already been acquired');
    acquired = true;
    return Object.freeze({
      postMessage: (message: unknown) => {
        posted.push(JSON.parse(JSON.stringify(message)));
      },
      getState: () => JSON.parse(sessionStorage.getItem(KEY) ?? 'null'),
      setState: (state: unknown) => {
        sessionStorage.setItem(KEY, JSON.stringify(state));
        return state;
      },
    });
  };
}

/**
 * One browser and server for the suite (call at describe level): launched before its tests,
 * closed after them. Returns a getter, valid once the tests run.
 */
export function useHarness(): () => Harness {
  let harness: Harness | undefined;
  const teardown: (() => unknown)[] = [];
  before(async () => {
    harness = await Harness.start({ after: (fn) => teardown.push(fn) });
  });
  after(async () => {
    for (const fn of teardown.reverse()) await fn();
  });
  return () => {
    if (!harness) throw new Error('the harness did not start');
    return harness;
  };
}

export class Harness {
  private constructor(
    readonly browser: Browser,
    readonly origin: string,
  ) {}

  static async start(t: Teardown): Promise<Harness> {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get update && apt-get install -y chromium`);
    if (!existsSync(join(DIST, 'webview.js'))) throw new Error('dist/webview.js is missing: run node scripts/build.mjs first');
    const server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const origin = `http://${req.headers.host}`;
      if (url.pathname === '/') {
        const theme = url.searchParams.get('theme');
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(pageHtml(origin, theme === 'light' || theme === 'high-contrast' ? theme : 'dark'));
        return;
      }
      if (url.pathname === '/favicon.ico') {
        res.writeHead(204).end();
        return;
      }
      const themeCss = THEMES.get(url.pathname);
      if (themeCss !== undefined) {
        res.writeHead(200, { 'content-type': 'text/css' }).end(themeCss);
        return;
      }
      const path = normalize(join(REPO_ROOT, decodeURIComponent(url.pathname)));
      if (!path.startsWith(DIST) || !existsSync(path) || !statSync(path).isFile()) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream', 'cache-control': 'no-store' }).end(readFileSync(path));
    });
    t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    t.after(() => browser.close());
    return new Harness(browser, `http://127.0.0.1:${port}`);
  }

  /** A fresh context and page with the view loaded (nothing from the host yet but what you send); dark unless `theme` says otherwise. */
  async open(t: Teardown, opts: { width?: number; height?: number; theme?: Theme } = {}): Promise<View> {
    const context = await this.browser.newContext({ viewport: { width: opts.width ?? 380, height: opts.height ?? 800 } });
    t.after(() => context.close());
    const view = new View(context, await context.newPage(), this.origin, opts.theme ?? 'dark');
    await view.load();
    return view;
  }
}

export class View {
  /** Requests the page tried to make outside localhost (aborted). */
  readonly blocked: string[] = [];
  readonly dialogs: string[] = [];
  readonly errors: string[] = [];

  constructor(
    readonly context: BrowserContext,
    readonly page: Page,
    private readonly origin: string,
    private readonly theme: Theme = 'dark',
  ) {
    page.on('dialog', (d) => {
      this.dialogs.push(`${d.type()}: ${d.message()}`);
      void d.dismiss();
    });
    page.on('pageerror', (e) => this.errors.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') this.errors.push(`console: ${m.text()}`);
    });
  }

  async load(): Promise<void> {
    await this.context.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith(`${this.origin}/`) || url === this.origin || url.startsWith('data:')) return route.continue();
      this.blocked.push(url);
      return route.abort();
    });
    // tsx compiles this file with keepNames, which wraps functions in __name(); functions that
    // Playwright serializes into the page need that helper there too.
    await this.context.addInitScript({ content: 'globalThis.__name ??= (fn) => fn;' });
    await this.context.addInitScript(fakeVsCodeApi);
    await this.page.goto(this.theme === 'dark' ? this.origin : `${this.origin}/?theme=${this.theme}`);
    await this.waitForPosted('view/ready');
  }

  /** VS Code hid the view and showed it again: the page reloads, setState survives. */
  async reload(): Promise<void> {
    await this.page.reload();
    await this.waitForPosted('view/ready');
  }

  /** Plays the extension: delivers a HostToView message the way VS Code does. */
  async send(message: HostToView): Promise<void> {
    await this.page.evaluate((m) => window.postMessage(m, '*'), message);
  }

  /** Everything the view posted since load, each checked with the host's schema (throws if invalid). */
  async posted(): Promise<ViewToHost[]> {
    const raw = await this.page.evaluate(() => (window as unknown as { __posted: unknown[] }).__posted);
    return raw.map((m) => viewToHostSchema.parse(m));
  }

  async postedOf<T extends ViewToHost['type']>(type: T): Promise<Extract<ViewToHost, { type: T }>[]> {
    return (await this.posted()).filter((m): m is Extract<ViewToHost, { type: T }> => m.type === type);
  }

  /** Waits until the view posted a `type` message whose fields include `fields`; returns it. */
  async waitForPosted<T extends ViewToHost['type']>(type: T, fields: Partial<Extract<ViewToHost, { type: T }>> = {}): Promise<Extract<ViewToHost, { type: T }>> {
    const wanted: { type: string; fields: Record<string, unknown> } = { type, fields };
    const handle = await this.page.waitForFunction(
      (w) =>
        (window as unknown as { __posted: Record<string, unknown>[] }).__posted.find(
          (m) => m.type === w.type && Object.entries(w.fields).every(([k, v]) => JSON.stringify(m[k]) === JSON.stringify(v)),
        ),
      wanted,
      { timeout: WAIT_MS },
    );
    return viewToHostSchema.parse(await handle.jsonValue()) as Extract<ViewToHost, { type: T }>;
  }

  /** Forgets what was posted so far (to show something is NOT posted after a step). */
  async clearPosted(): Promise<void> {
    await this.page.evaluate(() => {
      (window as unknown as { __posted: unknown[] }).__posted.length = 0;
    });
  }

  /** Fails with what went wrong in the page: errors, dialogs, requests leaving the machine. */
  assertClean(): void {
    const problems = [...this.errors, ...this.dialogs.map((d) => `dialog: ${d}`), ...this.blocked.map((b) => `request left localhost: ${b}`)];
    if (problems.length) throw new Error(`the page was not clean:\n${problems.join('\n')}`);
  }
}
