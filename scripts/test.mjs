// Runs every suite under test/ with Node's built-in runner (its summary lines are what CI reads).
// Node 20 has no glob for --test, so the files are listed here.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const suites = process.argv.slice(2).length ? process.argv.slice(2) : ['test/unit', 'test/tracker', 'test/peer'];
const files = [];
const walk = (dir) => {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (name.endsWith('.test.ts')) files.push(path);
  }
};
for (const s of suites) {
  if (s.endsWith('.test.ts')) files.push(s);
  else if (statSync(s, { throwIfNoEntry: false })?.isDirectory()) walk(s);
}
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);
