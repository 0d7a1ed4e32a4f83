// Bundles each program into dist/ (DESIGN.md "The programs and the folders that hold them").
// Native modules stay external: they belong to the tracker and load from node_modules.
import { build as buildOnce, context } from 'esbuild';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';

// `--watch` (the editor's build task, .vscode/tasks.json): every bundle rebuilds when its sources
// change, until stopped; esbuild's "[watch] build started/finished" lines drive the task's state.
const watch = process.argv.includes('--watch');
const build = async (options) => {
  if (!watch) return buildOnce(options);
  const ctx = await context({ ...options, logLevel: 'info' });
  await ctx.watch();
};

const programs = [
  { entry: 'tracker/main.ts', out: 'dist/tracker.cjs' },
  { entry: 'peer/main.ts', out: 'dist/peer.cjs' },
  // The VS Code extension host provides `vscode`; the engine inside it is bundled unchanged.
  { entry: 'extension/extension.ts', out: 'dist/extension.cjs', external: ['vscode'] },
].filter((p) => existsSync(p.entry));

await Promise.all(
  programs.map((p) =>
    build({
      entryPoints: [p.entry],
      outfile: p.out,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      sourcemap: true,
      external: p.external ?? ['sqlite3', 'bcrypt', 'selfsigned'],
      logLevel: 'warning',
    }),
  ),
);

// The message store (peer/store-db.ts) is node-sqlite3-wasm, bundled: its JS loads
// `node-sqlite3-wasm.wasm` from its own __dirname, which in a bundle is dist/, so the .wasm goes
// there (for dist/peer.cjs and dist/extension.cjs alike; the .vsix carries dist/, no native module).
mkdirSync('dist', { recursive: true });
copyFileSync('node_modules/node-sqlite3-wasm/dist/node-sqlite3-wasm.wasm', 'dist/node-sqlite3-wasm.wasm');

// The sidebar webview: a browser bundle (Preact, TSX), minified, with its CSS beside it
// (dist/webview.js + dist/webview.css), and the codicon font the view's HTML loads from
// dist/codicons/ (only local resources may load under the view's CSP).
if (existsSync('webview/main.tsx')) {
  await build({
    entryPoints: ['webview/main.tsx'],
    outfile: 'dist/webview.js',
    bundle: true,
    platform: 'browser',
    // VS Code 1.100 runs webviews in Chromium 132 (Electron 34).
    target: 'chrome120',
    format: 'iife',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    // WEBVIEW_MINIFY=0 keeps names readable in a CPU profile.
    minify: process.env.WEBVIEW_MINIFY !== '0',
    sourcemap: true,
    legalComments: 'none',
    logLevel: 'warning',
  });
  mkdirSync('dist/codicons', { recursive: true });
  for (const file of ['codicon.css', 'codicon.ttf']) copyFileSync(`node_modules/@vscode/codicons/dist/${file}`, `dist/codicons/${file}`);
}
