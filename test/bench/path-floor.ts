// The floor of the paced scenario on this machine, apart from the peer's code:
// `node --import tsx test/bench/path-floor.ts [N] [RATE]` (default 100 messages at 5/s).
// Two bare child processes measured the way test/bench/run.ts measures `node peer`: this process
// writes a line to A's stdin; A sends a ~600-byte frame over loopback TCP to B; B writes a line to
// its stdout; the latency is this process's clock from its write to B's line. Run in rounds that
// add what a message must cost: bare hops; A signs (RSA-PSS 2048) and B verifies; and B also
// writes a record with O_DSYNC over a preallocated file before its line (peer/session-journal.ts),
// or, for comparison, appended to a growing file (how the journal wrote before).
// Prints p50/p99 per round: the rest of a paced message's latency is the peer's own work.

import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { percentile } from './stats.ts';

const N = Number(process.argv[2] ?? 100);
const RATE = Number(process.argv[3] ?? 5);

// One script for both children: its role and options come in argv.
const CHILD = String.raw`
const [role, port, mode, file] = process.argv.slice(1);
const c = require('node:crypto'), net = require('node:net'), fs = require('node:fs');
const { privateKey, publicKey } = JSON.parse(process.env.FLOOR_KEYS);
const priv = c.createPrivateKey(privateKey), pub = c.createPublicKey(publicKey);
const PSS = { padding: c.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 };
const body = Buffer.alloc(300, 7);
if (role === 'b') {
  let fd, at = 0;
  if (mode === 'sync') {
    fs.writeFileSync(file, Buffer.alloc(1 << 20));
    fs.closeSync(fs.openSync(file, 'r+')); // (written and closed: its blocks are allocated)
    fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_DSYNC);
  }
  if (mode === 'append') fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_APPEND | fs.constants.O_DSYNC);
  const server = net.createServer((s) => {
    s.setNoDelay(true);
    s.on('data', (d) => {
      if (mode !== 'bare') c.verify('sha256', body, { key: pub, ...PSS }, d.subarray(0, 256));
      if (fd !== undefined) at += fs.writeSync(fd, body, 0, body.length, at);
      process.stdout.write('{"event":"message"}\n');
    });
  });
  server.listen(0, '127.0.0.1', () => process.stdout.write(String(server.address().port) + '\n'));
} else {
  const s = net.connect(Number(port), '127.0.0.1', () => process.stdout.write('ready\n'));
  s.setNoDelay(true);
  process.stdin.on('data', () => {
    const sig = mode === 'bare' ? Buffer.alloc(256) : c.sign('sha256', body, { key: priv, ...PSS });
    s.write(Buffer.concat([sig, body]));
  });
}`;

type Mode = 'bare' | 'crypto' | 'sync' | 'append';

function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve) => child.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim())));
}

async function round(mode: Mode, keys: string, dir: string): Promise<number[]> {
  const env = { ...process.env, FLOOR_KEYS: keys };
  const b = spawn(process.execPath, ['-e', CHILD, 'b', '0', mode, join(dir, `journal-${mode}`)], { env, stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await firstLine(b);
  const a = spawn(process.execPath, ['-e', CHILD, 'a', port, mode], { env, stdio: ['pipe', 'pipe', 'inherit'] });
  await firstLine(a);
  const ms: number[] = [];
  for (let i = 0; i < N; i++) {
    const shown = new Promise<number>((resolve) => b.stdout!.once('data', () => resolve(performance.now())));
    const start = performance.now();
    a.stdin!.write('{"cmd":"msg_room"}\n');
    ms.push((await shown) - start);
    await sleep(1000 / RATE);
  }
  a.kill();
  b.kill();
  return ms;
}

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const keys = JSON.stringify({ privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }), publicKey: publicKey.export({ type: 'spki', format: 'pem' }) });
const dir = mkdtempSync(join(tmpdir(), 'path-floor-'));
try {
  for (const mode of ['bare', 'crypto', 'sync', 'append'] as const) {
    const ms = (await round(mode, keys, dir)).sort((x, y) => x - y);
    const what = { bare: 'pipe + TCP + pipe', crypto: '+ sign, verify', sync: '+ O_DSYNC record (preallocated)', append: '+ O_DSYNC record (appended)' }[mode];
    console.log(`${what.padEnd(34)} ${N} at ${RATE}/s: p50 ${percentile(ms, 50).toFixed(2)} ms  p99 ${percentile(ms, 99).toFixed(2)} ms`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
