// A real `node peer --json` child for benchmarks (and tests that want one): commands written to
// its stdin, answers awaited by id, events delivered to listeners as they are read. Every line
// read from its stdout carries the time (performance.now() of THIS process) at which its chunk
// arrived, so one process reading many peers measures them all on one clock.

import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { REPO_ROOT, type Teardown } from './tracker-process.ts';

export const PEER_ENTRY = join(REPO_ROOT, 'peer');
export const PEER_BUNDLE = join(REPO_ROOT, 'dist/peer.cjs');

/** Registration and login run the real scrypt (N=2^17) and RSA key generation in the child. */
export const DEFAULT_ANSWER_TIMEOUT_MS = 120_000;
export const DEFAULT_EVENT_TIMEOUT_MS = 30_000;
/** After SIGTERM, a peer that has not exited by then is killed. */
const KILL_AFTER_MS = 5_000;
/** Events kept for waitEvent() (high-volume ones are only given to listeners). */
const BACKLOG_MAX = 10_000;
const NOT_KEPT = new Set(['message', 'delivered', 'typing']);
const STDERR_KEEP_CHARS = 64 * 1024;

export type JsonLine = Record<string, unknown>;
export interface PeerAnswer extends JsonLine {
  id: number | null;
  ok: boolean;
  error?: { code: string; message: string };
}
export interface PeerEvent extends JsonLine {
  event: string;
}
/** An answer with the times its command was written and its answer read (performance.now()). */
export interface TimedAnswer {
  answer: PeerAnswer;
  writtenAt: number;
  at: number;
}

export interface PeerProcessOptions {
  /** HOST:PORT of the tracker. */
  tracker: string;
  /** The data folder (`--data`). */
  data: string;
  /** The peer port (default 0: any free port). */
  port?: number;
  /** The program to run instead of `peer` (e.g. an experimental build of dist/peer.cjs). */
  entry?: string;
  /** Flags for node itself, before the program (e.g. `--cpu-prof`). */
  nodeArgs?: string[];
  /** A short name for messages. */
  label?: string;
  env?: NodeJS.ProcessEnv;
}

type Events = {
  /** Every event line, with the time its chunk was read. */
  event: [event: PeerEvent, at: number];
  exit: [code: number | null, signal: NodeJS.Signals | null];
};

/** Peer processes not exited yet, by data folder (removeDataFolder stops them first). */
const running = new Map<string, Set<PeerProcess>>();

export class PeerProcess extends EventEmitter<Events> {
  readonly child: ChildProcess;
  readonly label: string;
  readonly data: string;
  readonly exited: Promise<number | null>;
  /** Lines on stdout that were not JSON objects (the protocol allows none). */
  readonly strayLines: string[] = [];
  private partial = '';
  private stderr = '';
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (a: TimedAnswer) => void; reject: (e: Error) => void; writtenAt: number; timer?: NodeJS.Timeout }>();
  private readonly backlog: { event: PeerEvent; at: number }[] = [];
  private readonly waiters = new Set<(e: PeerEvent, at: number) => boolean>();

  constructor(opts: PeerProcessOptions) {
    super();
    this.setMaxListeners(0);
    this.label = opts.label ?? opts.data;
    this.data = opts.data;
    const args = [...(opts.nodeArgs ?? []), opts.entry ?? PEER_ENTRY, '--json', '--tracker', opts.tracker, '--data', opts.data];
    if (opts.port) args.push(String(opts.port));
    this.child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'], env: opts.env ?? process.env });
    const onFolder = running.get(opts.data) ?? new Set();
    running.set(opts.data, onFolder.add(this));
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code, signal) => {
        onFolder.delete(this);
        const err = new Error(`${this.label} exited (${signal ?? `code ${code}`})${this.describe()}`);
        for (const p of this.pending.values()) {
          clearTimeout(p.timer);
          p.reject(err);
        }
        this.pending.clear();
        this.emit('exit', code, signal);
        resolve(code);
      }),
    );
    this.child.stdin!.on('error', () => {}); // EPIPE after the child died: the exit says why
    this.child.stderr!.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString('utf8');
      if (this.stderr.length > 2 * STDERR_KEEP_CHARS) this.stderr = this.stderr.slice(-STDERR_KEEP_CHARS);
    });
    this.child.stdout!.on('data', (chunk: Buffer) => this.onChunk(chunk));
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Writes one command (with the next id) and resolves with its answer, whatever `ok` says. */
  request(cmd: JsonLine, timeoutMs = DEFAULT_ANSWER_TIMEOUT_MS): Promise<TimedAnswer> {
    const { line, answer } = this.prepare(cmd, timeoutMs);
    const writtenAt = performance.now();
    this.setWrittenAt(answer.id, writtenAt);
    this.child.stdin!.write(line);
    return answer.promise;
  }

  /** Writes one command and resolves with its answer; rejects when `ok` is false. */
  async ok(cmd: JsonLine, timeoutMs = DEFAULT_ANSWER_TIMEOUT_MS): Promise<PeerAnswer> {
    const { answer } = await this.request(cmd, timeoutMs);
    if (!answer.ok) throw new Error(`${this.label}: ${JSON.stringify(cmd).slice(0, 200)} failed: ${answer.error?.code}: ${answer.error?.message}`);
    return answer;
  }

  /**
   * Writes many commands in one write (the client handles them in order, one at a time) and
   * returns the time of the write and one answer promise per command.
   */
  pipeline(cmds: JsonLine[], timeoutMs = DEFAULT_ANSWER_TIMEOUT_MS): { writtenAt: number; answers: Promise<TimedAnswer>[] } {
    const prepared = cmds.map((c) => this.prepare(c, timeoutMs));
    const text = prepared.map((p) => p.line).join('');
    const writtenAt = performance.now();
    for (const p of prepared) this.setWrittenAt(p.answer.id, writtenAt);
    this.child.stdin!.write(text);
    return { writtenAt, answers: prepared.map((p) => p.answer.promise) };
  }

  /** The first event `name` matching `predicate`, among those kept (not message/delivered/typing) or still to come; it is used up. */
  waitEvent(name: string, predicate: (e: PeerEvent) => boolean = () => true, timeoutMs = DEFAULT_EVENT_TIMEOUT_MS): Promise<{ event: PeerEvent; at: number }> {
    const match = (e: PeerEvent) => e.event === name && predicate(e);
    const i = this.backlog.findIndex((b) => match(b.event));
    if (i >= 0) return Promise.resolve(this.backlog.splice(i, 1)[0]);
    return new Promise((resolve, reject) => {
      const waiter = (e: PeerEvent, at: number) => {
        if (!match(e)) return false;
        clearTimeout(timer);
        this.waiters.delete(waiter);
        resolve({ event: e, at });
        return true;
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`${this.label}: no ${name} event matching ${predicate.toString()} within ${timeoutMs} ms${this.describe()}`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** SIGTERM (the client closes cleanly and exits 0), SIGKILL if it hangs. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (!this.running) return this.child.exitCode;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), KILL_AFTER_MS);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }

  stderrTail(chars = 4000): string {
    return this.stderr.slice(-chars);
  }

  describe(): string {
    const kept = this.backlog.slice(-20).map((b) => JSON.stringify(b.event).slice(0, 200));
    return `\n--- ${this.label}: last kept events ---\n${kept.join('\n')}\n--- ${this.label}: stderr ---\n${this.stderrTail()}`;
  }

  private prepare(cmd: JsonLine, timeoutMs: number): { line: string; answer: { id: number; promise: Promise<TimedAnswer> } } {
    const id = this.nextId++;
    const promise = new Promise<TimedAnswer>((resolve, reject) => {
      const entry: { resolve: (a: TimedAnswer) => void; reject: (e: Error) => void; writtenAt: number; timer?: NodeJS.Timeout } = { resolve, reject, writtenAt: 0 };
      entry.timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.label}: no answer to ${JSON.stringify(cmd).slice(0, 200)} within ${timeoutMs} ms${this.describe()}`));
      }, timeoutMs);
      this.pending.set(id, entry);
    });
    if (!this.running) {
      const entry = this.pending.get(id)!;
      clearTimeout(entry.timer);
      this.pending.delete(id);
      entry.reject(new Error(`${this.label} is not running${this.describe()}`));
    }
    return { line: JSON.stringify({ id, ...cmd }) + '\n', answer: { id, promise } };
  }

  private setWrittenAt(id: number, at: number): void {
    const entry = this.pending.get(id);
    if (entry) entry.writtenAt = at;
  }

  private onChunk(chunk: Buffer): void {
    const at = performance.now();
    const text = this.partial + chunk.toString('utf8');
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      const line = text.slice(start, nl);
      start = nl + 1;
      if (line) this.onLine(line, at);
    }
    this.partial = text.slice(start);
  }

  private onLine(line: string, at: number): void {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      this.strayLines.push(line.slice(0, 500));
      return;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      this.strayLines.push(line.slice(0, 500));
      return;
    }
    const obj = value as JsonLine;
    if (typeof obj.event === 'string') {
      const e = obj as PeerEvent;
      this.emit('event', e, at);
      for (const waiter of this.waiters) if (waiter(e, at)) return;
      if (NOT_KEPT.has(e.event)) return;
      this.backlog.push({ event: e, at });
      if (this.backlog.length > BACKLOG_MAX) this.backlog.shift();
      return;
    }
    const answer = obj as PeerAnswer;
    const entry = typeof answer.id === 'number' ? this.pending.get(answer.id) : undefined;
    if (!entry) {
      this.strayLines.push(line.slice(0, 500));
      return;
    }
    clearTimeout(entry.timer);
    this.pending.delete(answer.id as number);
    entry.resolve({ answer, writtenAt: entry.writtenAt, at });
  }
}

/**
 * A `node peer --json` process started with `opts` (stopped in teardown), once it said `ready`;
 * with every message text it shows and every error event it emits, in order, from the start.
 */
export async function startWatchedPeer(t: Teardown, opts: PeerProcessOptions, readyTimeoutMs = DEFAULT_EVENT_TIMEOUT_MS): Promise<{ peer: PeerProcess; shown: string[]; errors: PeerEvent[] }> {
  const peer = new PeerProcess(opts);
  t.after(() => peer.stop());
  const shown: string[] = [];
  const errors: PeerEvent[] = [];
  peer.on('event', (e) => {
    if (e.event === 'message') shown.push(String(e.text));
    if (e.event === 'error') errors.push(e);
  });
  await peer.waitEvent('ready', () => true, readyTimeoutMs);
  return { peer, shown, errors };
}

/** Resolves with `peer`'s first message event with this text from now on (message events are not kept for waitEvent). */
export function messageShown(peer: PeerProcess, text: string, timeoutMs = DEFAULT_EVENT_TIMEOUT_MS): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${peer.label} did not show "${text}" within ${timeoutMs} ms${peer.describe()}`)), timeoutMs);
    const on = (e: PeerEvent) => {
      if (e.event !== 'message' || e.text !== text) return;
      clearTimeout(timer);
      peer.off('event', on);
      resolve(e);
    };
    peer.on('event', on);
  });
}

/**
 * A `node peer --json` process on a fresh data folder (named `dataPrefix`...), registered as `user`
 * and logged in; teardown stops it, then removes the folder.
 */
export async function signedInPeer(t: Teardown, tracker: string, user: string, password: string, dataPrefix: string): Promise<{ peer: PeerProcess; data: string }> {
  const data = await mkdtemp(join(tmpdir(), dataPrefix));
  removeDataFolder(t, data);
  const peer = new PeerProcess({ tracker, data, label: user });
  t.after(() => peer.stop());
  await peer.ok({ cmd: 'register', user, password });
  await peer.ok({ cmd: 'login', user, password });
  return { peer, data };
}

/**
 * Removes data folder `dir` in teardown, once every peer process started on it has stopped (it
 * stops those still running). node:test runs a test's after hooks in the order they were added,
 * so a folder's removal added before its peers' stops would run while they still write to it
 * (ENOTEMPTY), and a failing hook leaves the later ones, and the peers, running.
 */
export function removeDataFolder(t: Teardown, dir: string): void {
  t.after(async () => {
    await Promise.all([...(running.get(dir) ?? [])].map((p) => p.stop()));
    running.delete(dir);
    await rm(dir, { recursive: true, force: true, maxRetries: 3 });
  });
}

/** Throws when dist/peer.cjs is missing or older than the sources it is built from. */
export function checkPeerBundle(): void {
  if (!existsSync(PEER_BUNDLE)) throw new Error('no dist/peer.cjs: run `node scripts/build.mjs`');
  const built = statSync(PEER_BUNDLE).mtimeMs;
  for (const folder of ['peer', 'protocol']) {
    for (const name of readdirSync(join(REPO_ROOT, folder), { recursive: true }) as string[]) {
      if (name.endsWith('.ts') && statSync(join(REPO_ROOT, folder, name)).mtimeMs > built) {
        throw new Error(`${folder}/${name} is newer than dist/peer.cjs: run \`node scripts/build.mjs\``);
      }
    }
  }
}

// ---- `node peer` run once, fed a script ---------------------------------------------------------

/** Long enough for a script that registers or logs in (real scrypt and key generation in the child). */
export const RUN_PEER_TIMEOUT_MS = 60_000;

export interface PeerRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `node peer ARGS` with `input` on stdin (then closed) and resolves with its exit code and
 * output once it exits; killed, and rejected with its output, if it has not exited within `timeoutMs`.
 */
export function runPeer(args: string[], input = '', timeoutMs = RUN_PEER_TIMEOUT_MS): Promise<PeerRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [PEER_ENTRY, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`node peer ${args.join(' ')} did not exit within ${timeoutMs} ms\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input);
  });
}
