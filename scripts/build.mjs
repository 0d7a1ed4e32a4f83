// Bundles each program into dist/ (DESIGN.md "The programs and the folders that hold them").
// Native modules stay external: they belong to the tracker and load from node_modules.
import { build } from 'esbuild';
import { existsSync } from 'node:fs';

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
