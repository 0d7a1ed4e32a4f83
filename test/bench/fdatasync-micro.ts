// What one durable journal append costs on a file system, apart from everything else on the
// message path: `node --import tsx test/bench/fdatasync-micro.ts [DIR] [N]` (DIR: a folder on the
// data folder's file system; default the temp folder). Appends a 300-byte line N times (default
// 300) each way peer/session-journal.ts could: write + fdatasync, an O_DSYNC write, and the same
// through the thread pool (fs/promises); then overwrites in place inside a file preallocated with
// zeros and synced (the size does not change, so fdatasync has no inode metadata to commit);
// prints p50/p99 in ms.

import { closeSync, constants, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(process.argv[2] ?? tmpdir(), 'fdatasync-micro-'));
const n = Number(process.argv[3] ?? 300);
const line = Buffer.from('x'.repeat(299) + '\n');
const APPEND = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT;

function report(what: string, ms: number[]): void {
  ms.sort((a, b) => a - b);
  const at = (p: number) => ms[Math.min(ms.length - 1, Math.floor((p / 100) * ms.length))].toFixed(3);
  console.log(`${what.padEnd(40)} p50 ${at(50)} ms  p99 ${at(99)} ms`);
}

async function timed(what: string, once: () => void | Promise<void>): Promise<void> {
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    await once();
    ms.push(performance.now() - start);
  }
  report(what, ms);
}

try {
  let fd = openSync(join(dir, 'a'), APPEND, 0o600);
  await timed('writeSync + fdatasyncSync', () => {
    writeSync(fd, line);
    fdatasyncSync(fd);
  });
  closeSync(fd);
  fd = openSync(join(dir, 'b'), APPEND | (constants.O_DSYNC ?? 0), 0o600);
  await timed('writeSync, O_DSYNC', () => void writeSync(fd, line));
  closeSync(fd);
  const h = await open(join(dir, 'c'), APPEND | (constants.O_DSYNC ?? 0), 0o600);
  await timed('FileHandle.appendFile, O_DSYNC', () => h.appendFile(line));
  await h.close();
  const PREALLOC = Buffer.alloc(line.length * n);
  fd = openSync(join(dir, 'e'), constants.O_RDWR | constants.O_CREAT, 0o600);
  writeSync(fd, PREALLOC);
  fdatasyncSync(fd);
  let at = 0;
  await timed('preallocated: pwrite + fdatasyncSync', () => {
    at += writeSync(fd, line, 0, line.length, at);
    fdatasyncSync(fd);
  });
  closeSync(fd);
  fd = openSync(join(dir, 'f'), constants.O_RDWR | constants.O_CREAT, 0o600);
  writeSync(fd, PREALLOC);
  fdatasyncSync(fd);
  closeSync(fd);
  fd = openSync(join(dir, 'f'), constants.O_RDWR | (constants.O_DSYNC ?? 0), 0o600);
  at = 0;
  await timed('preallocated: pwrite, O_DSYNC', () => void (at += writeSync(fd, line, 0, line.length, at)));
  closeSync(fd);
  const none = openSync(join(dir, 'd'), APPEND, 0o600);
  await timed('writeSync, not synced (for comparison)', () => void writeSync(none, line));
  closeSync(none);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
