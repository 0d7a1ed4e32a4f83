// A real `node tracker` for tests (STYLE.md "Tests": a spawned tracker and its ready line): a
// fresh database in a temporary folder, port 0, the fingerprint and port read from its output,
// and teardown registered before anything can fail.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TrackerConnection, type TrackerConnectOptions } from '../../peer/tracker-connection.ts';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TRACKER_ENTRY = join(REPO_ROOT, 'tracker');
/** The bundle tracker/index.js loads; `node scripts/build.mjs` writes it. */
const BUNDLES = ['dist/tracker.cjs', 'dist/tracker.js'].map((p) => join(REPO_ROOT, p));
/** Generous: the first start generates a certificate and opens SQLite on a loaded CI machine. */
export const READY_TIMEOUT_MS = 30_000;
/** After this long a tracker that ignores SIGTERM in teardown is killed. */
const KILL_AFTER_MS = 5_000;
/** bcrypt at its minimum cost: a quarter of the default's time, for suites that register many users. */
export const FAST_TRACKER_ARGS: readonly string[] = ['--bcrypt-cost', '10'];

/** `t` from a test (`t.after`) or `{ after }` from node:test inside a describe block. */
export interface Teardown {
  after(fn: () => unknown): void;
}

export interface StartTrackerOptions {
  /** Reuse this folder (its tracker.db, certificate, key and secret); it is then not removed. */
  dir?: string;
  /** Extra flags, after the defaults, so they override them (e.g. FAST_TRACKER_ARGS). */
  args?: string[];
  /** Added to the environment; inherited P2P_TRACKER_* variables are dropped first. */
  env?: Record<string, string>;
  readyTimeoutMs?: number;
}

export interface TrackerProcess {
  host: string;
  port: number;
  fingerprint: string;
  dir: string;
  dbPath: string;
  child: ChildProcess;
  /** Everything the tracker wrote to stdout and stderr so far, interleaved as it arrived. */
  output(): string;
  /** Resolves with the first output line (from now or earlier) that matches. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Signals the tracker and resolves with its exit code (null if a signal ended it). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** A connection pinned to this tracker's fingerprint, closed in teardown. */
  connect(opts?: Partial<TrackerConnectOptions>): Promise<TrackerConnection>;
}

// A folder this module created is removed when the last tracker using it is torn down, so a
// restarted tracker keeps its files while the first one's teardown runs.
const dirUsers = new Map<string, number>();

export async function startTracker(t: Teardown, opts: StartTrackerOptions = {}): Promise<TrackerProcess> {
  checkBundle();
  const ownsDir = opts.dir === undefined || dirUsers.has(opts.dir);
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'p2p-chat-tracker-')));
  if (ownsDir) dirUsers.set(dir, (dirUsers.get(dir) ?? 0) + 1);
  const dbPath = join(dir, 'tracker.db');

  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('P2P_TRACKER_')) env[k] = v;
  Object.assign(env, opts.env);
  const args = [TRACKER_ENTRY, '--host', '127.0.0.1', '--port', '0', '--db', dbPath, ...(opts.args ?? [])];
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });

  let output = '';
  let stderr = '';
  const lineWaiters = new Set<(line: string) => void>();
  const lines: string[] = [];
  const partial = { stdout: '', stderr: '' };
  const onChunk = (stream: 'stdout' | 'stderr') => (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    output += text;
    if (stream === 'stderr') stderr += text;
    const parts = (partial[stream] + text).split('\n');
    partial[stream] = parts.pop()!;
    for (const line of parts) {
      lines.push(line);
      for (const waiter of lineWaiters) waiter(line);
    }
  };
  child.stdout!.on('data', onChunk('stdout'));
  child.stderr!.on('data', onChunk('stderr'));
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
  });
  const running = () => child.exitCode === null && child.signalCode === null;

  const connections = new Set<TrackerConnection>();
  t.after(async () => {
    await Promise.all([...connections].map((c) => c.close()));
    if (running()) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS);
      await exited;
      clearTimeout(timer);
    }
    if (ownsDir) {
      const left = (dirUsers.get(dir) ?? 1) - 1;
      if (left > 0) dirUsers.set(dir, left);
      else {
        dirUsers.delete(dir);
        await rm(dir, { recursive: true, force: true });
      }
    }
  });

  const waitForLine = (pattern: RegExp, timeoutMs: number, what: string): Promise<string> =>
    new Promise((resolve, reject) => {
      const seen = lines.find((l) => pattern.test(l));
      if (seen !== undefined) return resolve(seen);
      const done = (fn: () => void) => {
        clearTimeout(timer);
        lineWaiters.delete(onLine);
        child.off('exit', onExit);
        fn();
      };
      const onLine = (line: string) => {
        if (pattern.test(line)) done(() => resolve(line));
      };
      const onExit = (code: number | null, signal: NodeJS.Signals | null) =>
        done(() => reject(new Error(`the tracker exited (${signal ?? `code ${code}`}) before printing a ${what}\n--- tracker stderr ---\n${stderr}`)));
      const timer = setTimeout(
        () => done(() => reject(new Error(`the tracker printed no ${what} within ${timeoutMs} ms\n--- tracker output ---\n${output}`))),
        timeoutMs,
      );
      lineWaiters.add(onLine);
      if (!running()) onExit(child.exitCode, child.signalCode);
      else child.once('exit', onExit);
    });

  const readyTimeoutMs = opts.readyTimeoutMs ?? READY_TIMEOUT_MS;
  try {
    await waitForLine(/^ready$/, readyTimeoutMs, 'ready line');
  } catch (err) {
    if (running()) child.kill('SIGKILL');
    throw err;
  }
  const fingerprint = match(lines, /^certificate fingerprint \(SHA-256\): (.+)$/, output)[1].trim();
  const listening = match(lines, /^listening on (.+):(\d+)$/, output);

  const tracker: TrackerProcess = {
    host: '127.0.0.1',
    port: Number(listening[2]),
    fingerprint,
    dir,
    dbPath,
    child,
    output: () => output,
    waitForOutput: (pattern, timeoutMs = 10_000) => waitForLine(pattern, timeoutMs, `line matching ${pattern}`),
    async stop(signal = 'SIGTERM') {
      if (running()) child.kill(signal);
      return exited;
    },
    async connect(connectOpts = {}) {
      const conn = await TrackerConnection.connect({
        host: tracker.host,
        port: tracker.port,
        expectedFingerprint: fingerprint,
        ...connectOpts,
      });
      connections.add(conn);
      conn.once('close', () => connections.delete(conn));
      return conn;
    },
  };
  return tracker;
}

/** Starts a tracker again on the same folder (same database, certificate and secret), after stopping the old one. */
export async function restartTracker(t: Teardown, old: TrackerProcess, opts: Omit<StartTrackerOptions, 'dir'> = {}): Promise<TrackerProcess> {
  await old.stop();
  return startTracker(t, { ...opts, dir: old.dir });
}

function match(lines: string[], pattern: RegExp, output: string): RegExpExecArray {
  for (const line of lines) {
    const m = pattern.exec(line);
    if (m) return m;
  }
  throw new Error(`the tracker printed no line matching ${pattern}\n--- tracker output ---\n${output}`);
}

// Tests run the bundle, not the sources: a bundle older than the sources would test old code.
function checkBundle(): void {
  const bundle = BUNDLES.find((p) => existsSync(p));
  if (!bundle) throw new Error(`no tracker bundle in dist/: run \`node scripts/build.mjs\` (npm test does)`);
  const built = statSync(bundle).mtimeMs;
  for (const folder of ['tracker', 'protocol']) {
    for (const name of readdirSync(join(REPO_ROOT, folder), { recursive: true }) as string[]) {
      if (!name.endsWith('.ts')) continue;
      if (statSync(join(REPO_ROOT, folder, name)).mtimeMs > built) {
        throw new Error(`${folder}/${name} is newer than ${bundle}: run \`node scripts/build.mjs\` (npm test does)`);
      }
    }
  }
}
