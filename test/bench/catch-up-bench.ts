// `node --import tsx test/bench/catch-up-bench.ts [--quick] [--messages N] [--room N] [--memory-big N] [--json FILE]`
//
// "Nothing lost" at scale (DESIGN.md "Delivery, history, nothing lost"), with real processes: a
// real `node tracker` and one `node peer --json` per user, each with its own --data folder,
// registered and logged in through the CLI (real scrypt and RSA-2048, as test/bench/run.ts does).
//   1. catch-up: a room of 10; the "late" member logs out and its process stops; another member
//      sends N messages (default 10,000) which the 8 others receive; the sender stops too; the
//      late member starts again and logs in. Measured: from its login answer until it has shown
//      all N (messages/s, total), and the time per 1,000 shown (percentiles). Its catch-up comes
//      from the 8 online members (peer/catch-up.ts: summaries, then pages of 500 paced by acks).
//   2. memory: a `node peer` process (dist/peer.cjs) signed in (its saved session resumed) with a
//      store holding 100,000 messages of one of its rooms, against one holding 1,000: RSS and
//      heap after a GC (a preloaded probe, memory-probe.cjs) and the newest page through the CLI;
//      the store is filled directly (peer/history.ts, peer/store-db.ts) in the user's data folder
//      before the peer starts. The same for the engine in-process (ChatEngine, as the extension
//      host runs it): a fresh node process that only runs the engine, so it is the engine's share
//      of an extension host, not a whole VS Code process.
// Not a test: targets are printed next to the numbers, never enforced. test/bench/run.ts calls
// catchUpBench and memoryBench.

import { execFileSync } from 'node:child_process';
import { mkdirSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { History } from '../../peer/history.ts';
import { StoreDb } from '../../peer/store-db.ts';
import { AT_REST_KEY_FILE, loadOrCreateAtRestKey } from '../../peer/at-rest-key.ts';
import { PeerProcess, checkPeerBundle, type PeerEvent } from '../helpers/peer-process.ts';
import { REPO_ROOT, startTracker, type Teardown, type TrackerProcess } from '../helpers/tracker-process.ts';
import { formatProfile, summarizeProfile } from './cpuprofile.ts';
import { teardownStack } from '../helpers/teardown.ts';
import { report, type ReportRow } from './report.ts';
import { cpuSeconds, percentile, progress } from './stats.ts';

const PASSWORD = 'plum kettle orbit 93 lantern';
const PROBE = fileURLToPath(new URL('./memory-probe.cjs', import.meta.url));
const CATCH_UP_TIMEOUT_MS = 600_000;
export const CATCH_UP_TARGET_MS = 2000;
export const NEWEST_PAGE_TARGET_MS = 50;

/** The tracker flags the benchmarks here need (bcrypt at its minimum; many peers on 127.0.0.1). */
export const CATCH_UP_TRACKER_ARGS = ['--bcrypt-cost', '10', '--max-conns-per-address', '64', '--registrations-per-address', '64', '--auth-timeout', '600000'];

const round = (x: number | null | undefined, digits = 1): number | null => (x === null || x === undefined || !Number.isFinite(x) ? null : Number(x.toFixed(digits)));

export interface CatchUpOptions {
  tracker: { host: string; port: number };
  /** Where the users' data folders go. */
  root: string;
  t: Teardown;
  /** Members of the room, the sender and the late member included (default 10). */
  roomSize?: number;
  /** Messages the late member misses (default 10,000). */
  messages?: number;
  /** Registrations/logins at once (default 2 per core). */
  concurrency?: number;
  peerEntry?: string;
  /** Prefix of the user names (unique per tracker). */
  prefix?: string;
  log?: (line: string) => void;
  /** Run the late member, when it comes back, with --cpu-prof into this folder (catch-up-late.cpuprofile, written when it stops at the end). */
  profileDir?: string;
  /**
   * The sender leaves the room (forced) before it stops: what it sent then reaches the late member
   * as a departed member's, up to what its leave names (protocol/room-log.ts `sent`).
   */
  senderLeaves?: boolean;
}

export interface CatchUpResult {
  roomSize: number;
  messages: number;
  forwarders: number;
  /** From the login answer until the last of the N was shown (ms), null if not all came. */
  allMs: number | null;
  /** From writing `login` (scrypt, tracker, links) until the last was shown. */
  fromLoginWrittenMs: number | null;
  loginAnswerMs: number;
  firstShownMs: number | null;
  msgsPerSec: number | null;
  /** Time per `bucket` messages shown (1,000 when N >= 5,000, else N/10). */
  per1000: { bucket: number; p50: number | null; p90: number | null; max: number | null; samples: (number | null)[] };
  shown: number;
  lost: number;
  duplicates: number;
  outOfOrder: number;
  sendMs: number;
  cpu: { lateS: number | null; forwardersS: number | null; forwarderMaxS: number | null; trackerS: number | null; wallS: number; cores: number };
  rows: ReportRow[];
  notes: string[];
}

interface BenchUser {
  name: string;
  data: string;
  peer: PeerProcess;
}

function startPeer(tracker: { host: string; port: number }, name: string, data: string, t: Teardown, peerEntry?: string, nodeArgs?: string[]): PeerProcess {
  const peer = new PeerProcess({ tracker: `${tracker.host}:${tracker.port}`, data, label: name, ...(peerEntry ? { entry: peerEntry } : {}), ...(nodeArgs ? { nodeArgs } : {}) });
  t.after(() => peer.stop());
  return peer;
}

async function inBatches<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]);
  }));
}

/** Starts, registers and logs in `names`, each in its own data folder under root. */
async function signedInUsers(o: { tracker: { host: string; port: number }; root: string; t: Teardown; peerEntry?: string; concurrency: number }, names: string[]): Promise<BenchUser[]> {
  const users = names.map((name) => {
    const data = join(o.root, name);
    mkdirSync(data, { recursive: true });
    return { name, data, peer: startPeer(o.tracker, name, data, o.t, o.peerEntry) };
  });
  await Promise.all(users.map((u) => u.peer.waitEvent('connection', (e) => e.state === 'offline', 120_000)));
  await inBatches(users, o.concurrency, async (u) => {
    await u.peer.ok({ cmd: 'register', user: u.name, password: PASSWORD });
    await u.peer.ok({ cmd: 'login', user: u.name, password: PASSWORD });
  });
  return users;
}

/** Counts `message` events of `room` whose text starts with `<prefix>#<seq>|`, per receiver. */
class Shown {
  readonly got: Set<number>[];
  readonly at: number[][] = [];
  duplicates = 0;
  outOfOrder = 0;
  private readonly offs: (() => void)[] = [];
  private readonly last: number[];
  private waiters: (() => void)[] = [];

  constructor(peers: PeerProcess[], room: string, prefix: string) {
    this.got = peers.map(() => new Set());
    this.last = peers.map(() => -1);
    const head = `${prefix}#`;
    peers.forEach((p, i) => {
      this.at.push([]);
      const on = (e: PeerEvent, at: number) => {
        if (e.event !== 'message' || e.room !== room) return;
        const text = String(e.text);
        if (!text.startsWith(head)) return;
        const seq = Number(text.slice(head.length, text.indexOf('|')));
        if (this.got[i].has(seq)) {
          this.duplicates++;
          return;
        }
        if (seq < this.last[i]) this.outOfOrder++;
        this.last[i] = Math.max(this.last[i], seq);
        this.got[i].add(seq);
        this.at[i].push(at);
        for (const w of this.waiters) w();
      };
      p.on('event', on);
      this.offs.push(() => p.off('event', on));
    });
  }

  /** Resolves true once every receiver has `n` messages, false after `ms`. */
  async all(n: number, ms: number, tick?: (done: number) => void): Promise<boolean> {
    const deadline = performance.now() + ms;
    const total = () => this.got.reduce((a, s) => a + s.size, 0);
    while (performance.now() < deadline) {
      if (this.got.every((s) => s.size >= n)) return true;
      tick?.(total());
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1000);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      this.waiters = [];
    }
    return this.got.every((s) => s.size >= n);
  }

  stop(): void {
    for (const off of this.offs) off();
  }
}

/** Scenario 1: a late member catches up on N messages in a room of `roomSize`. */
export async function catchUpBench(opts: CatchUpOptions): Promise<CatchUpResult> {
  const roomSize = opts.roomSize ?? 10;
  const n = opts.messages ?? 10_000;
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const prefix = opts.prefix ?? 'cu';
  const concurrency = opts.concurrency ?? Math.max(2, cpus().length * 2);
  if (roomSize < 3) throw new Error('catch-up needs a room of at least 3: a sender, a late member and a forwarder');
  const names = Array.from({ length: roomSize }, (_, i) => `${prefix}-u${String(i).padStart(2, '0')}`);
  log(`catch-up: starting, registering and logging in ${roomSize} users`);
  const users = await signedInUsers({ tracker: opts.tracker, root: opts.root, t: opts.t, concurrency, ...(opts.peerEntry ? { peerEntry: opts.peerEntry } : {}) }, names);
  const [sender, ...others] = users;
  const late = others.pop()!;
  const forwarders = others;
  const room = `${prefix}-room-${roomSize}`;
  log(`catch-up: ${sender.name} creates ${room}; ${roomSize - 1} members join`);
  await sender.peer.ok({ cmd: 'create_room', room });
  for (const u of [...forwarders, late]) await u.peer.ok({ cmd: 'join_room', room });
  await Promise.all([...forwarders, late].map((u) => sender.peer.waitEvent('member_joined', (e) => e.room === room && e.user === u.name, 60_000)));

  // A first message that everyone gets (links up, sender session known to all, the late one included).
  const warm = new Shown([...forwarders, late].map((u) => u.peer), room, `${prefix}warm`);
  await sender.peer.ok({ cmd: 'msg_room', room, text: `${prefix}warm#0|hello` });
  if (!(await warm.all(1, 60_000))) throw new Error('catch-up: the warm-up message did not reach every member');
  warm.stop();

  log(`catch-up: ${late.name} logs out and stops`);
  const lateGone = sender.peer.waitEvent('presence', (e) => e.user === late.name && e.online === false, 60_000);
  await late.peer.ok({ cmd: 'logout' });
  await late.peer.stop();
  await lateGone;

  log(`catch-up: ${sender.name} sends ${n} messages (pipelined); ${forwarders.length} members online receive them`);
  const text = (i: number) => `${prefix}#${i}|catch-up message ${i} of ${n}, with a few more words to make it a typical chat line`;
  const atForwarders = new Shown(forwarders.map((u) => u.peer), room, prefix);
  const sendStart = performance.now();
  const chunk = 1000;
  const answers: Promise<unknown>[] = [];
  for (let i = 0; i < n; i += chunk) {
    const cmds = Array.from({ length: Math.min(chunk, n - i) }, (_, j) => ({ cmd: 'msg_room', room, text: text(i + j) }));
    const { answers: a } = sender.peer.pipeline(cmds, CATCH_UP_TIMEOUT_MS);
    answers.push(...a);
    // Stay a little ahead of the sender, not 10,000 commands in its pipe at once.
    await a[a.length - 1];
  }
  const tick = progress('messages at the forwarders', forwarders.length * n, 10_000);
  const reached = await atForwarders.all(n, CATCH_UP_TIMEOUT_MS, tick);
  const sendMs = performance.now() - sendStart;
  atForwarders.stop();
  const failed = (await Promise.allSettled(answers)).filter((s) => s.status === 'rejected' || !(s.value as { answer: { ok: boolean } }).answer.ok).length;
  if (!reached) throw new Error(`catch-up: the ${forwarders.length} online members did not all get the ${n} messages (${atForwarders.got.map((s) => s.size).join(', ')})`);
  log(`catch-up: sent and received by ${forwarders.length} in ${(sendMs / 1000).toFixed(1)} s; ${sender.name} ${opts.senderLeaves ? 'leaves the room and ' : ''}stops`);
  if (opts.senderLeaves) {
    const left = forwarders[0].peer.waitEvent('member_left', (e) => e.room === room && e.user === sender.name, 60_000);
    await sender.peer.ok({ cmd: 'leave_room', room, force: true });
    await left;
  }
  const senderGone = forwarders[0].peer.waitEvent('presence', (e) => e.user === sender.name && e.online === false, 60_000);
  await sender.peer.stop();
  await senderGone;

  log(`catch-up: ${late.name} starts again and logs in`);
  const prof = (who: string) => (opts.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.profileDir}`, `--cpu-prof-name=catch-up-${who}.cpuprofile`] : undefined);
  late.peer = startPeer(opts.tracker, late.name, late.data, opts.t, opts.peerEntry, prof('late'));
  await late.peer.waitEvent('connection', (e) => e.state === 'offline', 120_000);
  const atLate = new Shown([late.peer], room, prefix);
  const cpu0 = { late: cpuSeconds(late.peer.pid), fw: forwarders.map((u) => cpuSeconds(u.peer.pid)), wall: performance.now() };
  const login = await late.peer.request({ cmd: 'login', user: late.name, password: PASSWORD });
  if (!login.answer.ok) throw new Error(`catch-up: ${late.name} could not log in: ${JSON.stringify(login.answer.error)}`);
  const complete = await atLate.all(n, CATCH_UP_TIMEOUT_MS, progress('caught up', n, 5_000));
  const fw1 = forwarders.map((u) => cpuSeconds(u.peer.pid));
  const fwUse = fw1.map((v, i) => (v === null || cpu0.fw[i] === null ? null : v - cpu0.fw[i]!)).filter((x): x is number => x !== null);
  const lateEnd = cpuSeconds(late.peer.pid);
  const wallS = (performance.now() - cpu0.wall) / 1000;
  // Duplicates a second forwarder would show after the first: give them a moment to arrive.
  await sleep(500);
  atLate.stop();
  if (opts.profileDir) await late.peer.stop(); // writes its profile

  const times = atLate.at[0];
  const lastAt = times.length ? times[times.length - 1] : null;
  const allMs = complete && lastAt !== null ? lastAt - login.at : null;
  // Time per `bucket` shown (1,000; a tenth of a smaller run), the first bucket from the login answer.
  const bucket = n >= 5000 ? 1000 : Math.max(1, Math.floor(n / 10));
  const per1000: number[] = [];
  for (let k = bucket; k <= times.length; k += bucket) per1000.push(times[k - 1] - (k === bucket ? login.at : times[k - 1 - bucket]));
  const result: CatchUpResult = {
    roomSize,
    messages: n,
    forwarders: forwarders.length,
    allMs: round(allMs, 1),
    fromLoginWrittenMs: round(complete && lastAt !== null ? lastAt - login.writtenAt : null, 1),
    loginAnswerMs: round(login.at - login.writtenAt, 1)!,
    firstShownMs: round(times.length ? times[0] - login.at : null, 1),
    msgsPerSec: round(allMs ? (n / allMs) * 1000 : null, 0),
    per1000: { bucket, p50: round(percentile(per1000, 50), 1), p90: round(percentile(per1000, 90), 1), max: round(percentile(per1000, 100), 1), samples: per1000.map((x) => round(x, 1)) },
    shown: atLate.got[0].size,
    lost: n - atLate.got[0].size,
    duplicates: atLate.duplicates,
    outOfOrder: atLate.outOfOrder,
    sendMs: round(sendMs, 0)!,
    cpu: {
      lateS: round(cpu0.late === null || lateEnd === null ? null : lateEnd - cpu0.late, 2),
      forwardersS: round(fwUse.length ? fwUse.reduce((a, b) => a + b, 0) : null, 2),
      forwarderMaxS: round(fwUse.length ? Math.max(...fwUse) : null, 2),
      trackerS: null,
      wallS: round(wallS, 2)!,
      cores: cpus().length,
    },
    rows: [],
    notes: [],
  };
  const departed = opts.senderLeaves ? ' (the sender left)' : '';
  const target = n === 10_000 && roomSize === 10 ? `; target < ${CATCH_UP_TARGET_MS} ms: ${allMs !== null && allMs < CATCH_UP_TARGET_MS ? 'met' : 'MISSED'}` : `; target for 10,000 in a room of 10: < ${CATCH_UP_TARGET_MS} ms`;
  result.rows.push(
    { metric: `catch-up of ${n} missed${departed}, room of ${roomSize}: login answer -> all shown`, value: result.allMs, unit: 'ms', note: `${formatRate(result.msgsPerSec)} msgs/s from ${forwarders.length} online members${target}`, ...result, rows: undefined, notes: undefined },
    { metric: `catch-up of ${n}${departed}, room of ${roomSize}: per ${bucket.toLocaleString('en-US')} shown`, value: result.per1000.p50, unit: 'ms p50', note: `p90 ${result.per1000.p90} ms, max ${result.per1000.max} ms over ${per1000.length} groups of ${bucket} (the first from the login answer)`, roomSize, messages: n },
    { metric: `catch-up of ${n}${departed}, room of ${roomSize}: lost / duplicates / out of order`, value: `${result.lost} / ${result.duplicates} / ${result.outOfOrder}`, unit: 'messages', note: `${result.shown} of ${n} shown`, roomSize, messages: n },
  );
  result.notes.push(
    `catch-up, room of ${roomSize}, ${n} messages: login answered ${result.loginAnswerMs} ms after it was written (scrypt N=2^17 in the peer, the tracker); ` +
      `first message shown ${result.firstShownMs} ms after the answer; all ${result.fromLoginWrittenMs} ms after writing login. ` +
      `CPU s over the catch-up (${result.cpu.wallS} s wall, ${result.cpu.cores} cores): late member ${result.cpu.lateS}, ${forwarders.length} forwarders ${result.cpu.forwardersS} (max one ${result.cpu.forwarderMaxS}). ` +
      `Sending: ${n} messages to ${forwarders.length} online members took ${(sendMs / 1000).toFixed(1)} s${failed ? `, ${failed} sends failed` : ''}.`,
  );
  if (!complete) result.notes.push(`catch-up, room of ${roomSize}: only ${result.shown} of ${n} shown within ${CATCH_UP_TIMEOUT_MS / 1000} s`);
  return result;
}

const formatRate = (x: number | null) => (x === null ? 'n/a' : x.toLocaleString('en-US'));

// ---- memory ------------------------------------------------------------------------------------

export interface MemoryOptions {
  tracker: { host: string; port: number };
  root: string;
  t: Teardown;
  /** Messages in the big store (default 100,000) and the small one (default 1,000). */
  big?: number;
  small?: number;
  /** Fresh processes measured per store (default 3; the median is reported). */
  runs?: number;
  peerEntry?: string;
  prefix?: string;
  log?: (line: string) => void;
}

interface MemorySample {
  rss: number;
  heapUsed: number;
  external: number;
  pageMs: number;
}

const WORDS = ['the', 'build', 'is', 'green', 'again', 'after', 'we', 'fixed', 'flaky', 'test', 'review', 'merge', 'ship', 'today', 'lunch'];

/** Fills the user's store (`<data>/store.db`, key `<data>/at-rest.key`) with `count` messages of `roomId`, in transactions of 1,000. */
function fillStore(data: string, roomId: string, members: string[], count: number, log: (line: string) => void): number {
  const db = new StoreDb(join(data, 'store.db'), loadOrCreateAtRestKey(join(data, AT_REST_KEY_FILE)));
  const history = new History(db);
  const t0 = performance.now();
  const start = Date.now() - count * 1000 - 60_000;
  try {
    for (let i = 0; i < count; i += 1000) {
      db.transaction(() => {
        for (let j = i; j < Math.min(count, i + 1000); j++) {
          let text = `#${j}`;
          for (let w = 0; text.length < 120; w++) text += ` ${WORDS[(j * 7 + w * 13) % WORDS.length]}`;
          history.add({ conversation: roomId, id: `fill-${j}`, from: members[j % members.length], session: `F${Math.floor(j / 1000)}`, seq: j % 1000, sentAt: start + j * 1000, text });
        }
      });
      if (i % 20_000 === 19_000) log(`  filled ${i + 1000}/${count}`);
    }
  } finally {
    db.close();
  }
  return performance.now() - t0;
}

/** A `node peer` with the probe preloaded: resumes its saved session, reads the newest page; memory after a GC. */
async function peerMemory(o: MemoryOptions, u: { name: string; data: string }, roomId: string): Promise<MemorySample> {
  const peer = new PeerProcess({ tracker: `${o.tracker.host}:${o.tracker.port}`, data: u.data, label: u.name, nodeArgs: ['--expose-gc', '--require', PROBE], ...(o.peerEntry ? { entry: o.peerEntry } : {}) });
  try {
    await peer.waitEvent('connection', (e) => e.state === 'online', 120_000);
    const page = await peer.request({ cmd: 'history', room: roomId, limit: 50 });
    if (!page.answer.ok) throw new Error(`${u.name}: history failed: ${JSON.stringify(page.answer.error)}`);
    await sleep(1000); // let sign-in work (links, catch-up with nobody) settle
    const before = peer.stderrTail(1_000_000).length;
    process.kill(peer.pid, 'SIGUSR2');
    const deadline = performance.now() + 10_000;
    let line: RegExpExecArray | null = null;
    while (!line && performance.now() < deadline) {
      await sleep(50);
      line = /MEMORY-PROBE (\{.*\})/.exec(peer.stderrTail(1_000_000).slice(Math.max(0, before - 100)));
    }
    if (!line) throw new Error(`${u.name}: no memory line from the probe${peer.describe()}`);
    const m = JSON.parse(line[1]) as { rss: number; heapUsed: number; external: number };
    return { rss: m.rss / 2 ** 20, heapUsed: m.heapUsed / 2 ** 20, external: m.external / 2 ** 20, pageMs: page.at - page.writtenAt };
  } finally {
    await peer.stop();
  }
}

/** The engine in a fresh node process (tsx, not the bundle), as the extension host runs it. */
function engineMemory(o: MemoryOptions, u: { data: string }, roomId: string): MemorySample {
  const out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url), '--engine-memory-child', u.data, `${o.tracker.host}:${o.tracker.port}`, roomId], { encoding: 'utf8', timeout: 120_000 });
  return JSON.parse(out.trim().split('\n').pop()!) as MemorySample;
}

async function engineMemoryChild(data: string, tracker: string, roomId: string): Promise<void> {
  const { ChatEngine } = await import('../../peer/engine.ts');
  const [host, port] = tracker.split(':');
  // The extension: perUserFolders and its SecretStorage key; here the terminal client's folder
  // layout (at-rest.key beside the store), the same engine and store.
  const engine = new ChatEngine({ dataDir: data, perUserFolders: false, tracker: { host: host!, port: Number(port) } });
  if (!(await engine.resume())) throw new Error('no saved session');
  const t0 = performance.now();
  const page = await engine.history({ room: roomId }, { limit: 50 });
  const pageMs = performance.now() - t0;
  if (page.messages.length !== 50) throw new Error(`the newest page has ${page.messages.length} messages`);
  await sleep(1000);
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  await engine.close();
  process.stdout.write(`${JSON.stringify({ rss: m.rss / 2 ** 20, heapUsed: m.heapUsed / 2 ** 20, external: m.external / 2 ** 20, pageMs })}\n`);
  process.exit(0);
}

function median(samples: MemorySample[]): MemorySample {
  const pick = (k: keyof MemorySample) => percentile(samples.map((s) => s[k]), 50);
  return { rss: pick('rss'), heapUsed: pick('heapUsed'), external: pick('external'), pageMs: pick('pageMs') };
}

/** Scenario 2: peer and engine memory with a big store against a small one. */
export async function memoryBench(o: MemoryOptions): Promise<{ rows: ReportRow[]; notes: string[] }> {
  const big = o.big ?? 100_000;
  const small = o.small ?? 1_000;
  const runs = o.runs ?? 3;
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const prefix = o.prefix ?? 'mem';
  const sizes = [small, big];
  const names = sizes.map((s) => `${prefix}-${s}`);
  log(`memory: registering ${names.join(', ')}`);
  const users = await signedInUsers({ tracker: o.tracker, root: o.root, t: o.t, concurrency: 2, ...(o.peerEntry ? { peerEntry: o.peerEntry } : {}) }, names);
  const rooms: string[] = [];
  for (const u of users) {
    const a = await u.peer.ok({ cmd: 'create_room', room: `${u.name}-room` });
    rooms.push(String(a.roomId));
    await u.peer.stop(); // the saved session stays: the next start resumes it
  }
  const rows: ReportRow[] = [];
  const notes: string[] = [];
  const results: { size: number; peer: MemorySample; engine: MemorySample; storeMiB: number }[] = [];
  for (let i = 0; i < sizes.length; i++) {
    const u = users[i]!;
    log(`memory: filling ${u.name}'s store with ${sizes[i]} messages`);
    const fillMs = fillStore(u.data, rooms[i]!, [u.name, 'alice', 'bob', 'carol'], sizes[i]!, log);
    const storeMiB = statSync(join(u.data, 'store.db')).size / 2 ** 20;
    notes.push(`memory: ${u.name}'s store filled with ${sizes[i]} messages in ${(fillMs / 1000).toFixed(1)} s; store.db ${storeMiB.toFixed(1)} MiB`);
    const peerRuns: MemorySample[] = [];
    const engineRuns: MemorySample[] = [];
    for (let r = 0; r < runs; r++) {
      log(`memory: ${sizes[i]} messages, run ${r + 1}/${runs}: node peer, then the engine in-process`);
      peerRuns.push(await peerMemory(o, u, rooms[i]!));
      engineRuns.push(engineMemory(o, u, rooms[i]!));
    }
    results.push({ size: sizes[i]!, peer: median(peerRuns), engine: median(engineRuns), storeMiB });
  }
  const [s, b] = results as [(typeof results)[number], (typeof results)[number]];
  const f = (x: number) => Math.round(x * 10) / 10;
  for (const [what, key, detail] of [
    ['`node peer` process', 'peer', 'dist/peer.cjs, saved session resumed, newest page read, after a GC'],
    ['engine in-process (extension host share)', 'engine', 'ChatEngine alone in a node process (tsx, not the bundle): the engine\'s share of an extension host, not the whole VS Code process'],
  ] as const) {
    for (const r of [b, s]) {
      rows.push({ metric: `${what}: RSS with ${r.size.toLocaleString('en-US')} stored messages`, value: f(r[key].rss), unit: 'MiB', note: `heap ${r[key].heapUsed.toFixed(1)} MiB, external ${r[key].external.toFixed(1)} MiB; median of ${runs}`, storedMessages: r.size, storeMiB: f(r.storeMiB), ...r[key] });
    }
    const growth = b[key].rss - s[key].rss;
    rows.push({
      metric: `${what}: growth ${small.toLocaleString('en-US')} -> ${big.toLocaleString('en-US')} messages`,
      value: f(growth),
      unit: 'MiB RSS',
      note: `heap ${(b[key].heapUsed - s[key].heapUsed).toFixed(1)} MiB (must not grow with history size but for the search index, held in memory only: about 0.36 KiB a message, see "search: index memory"; ${detail})`,
      heapGrowthMiB: f(b[key].heapUsed - s[key].heapUsed),
    });
  }
  rows.push(
    { metric: `newest page (50) of ${big.toLocaleString('en-US')} through \`node peer\` (history command)`, value: round(b.peer.pageMs, 1), unit: 'ms', note: `first read after sign-in, CLI round trip included; ${small.toLocaleString('en-US')}: ${round(s.peer.pageMs, 1)} ms; target < ${NEWEST_PAGE_TARGET_MS} ms`, storedMessages: big },
    { metric: `newest page (50) of ${big.toLocaleString('en-US')} through the engine (engine.history)`, value: round(b.engine.pageMs, 2), unit: 'ms', note: `first read after sign-in; ${small.toLocaleString('en-US')}: ${round(s.engine.pageMs, 2)} ms; target < ${NEWEST_PAGE_TARGET_MS} ms`, storedMessages: big },
  );
  return { rows, notes };
}

// ---- standalone --------------------------------------------------------------------------------

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values, positionals } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      messages: { type: 'string' },
      room: { type: 'string' },
      'memory-big': { type: 'string' },
      'no-memory': { type: 'boolean', default: false },
      'no-catch-up': { type: 'boolean', default: false },
      'engine-memory-child': { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      json: { type: 'string', default: 'bench-results/catch-up.json' },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values['engine-memory-child']) {
    const [data, tracker, roomId] = positionals;
    await engineMemoryChild(data!, tracker!, roomId!);
  } else {
    checkPeerBundle();
    const t = teardownStack((err) => process.stderr.write(`teardown: ${(err as Error).message}\n`));
    const root = await mkdtemp(join(tmpdir(), 'p2p-catch-up-bench-'));
    t.after(() => rm(root, { recursive: true, force: true }));
    try {
      const tracker: TrackerProcess = await startTracker(t, { args: CATCH_UP_TRACKER_ARGS });
      const rows: ReportRow[] = [];
      const notes: string[] = [];
      if (!values['no-catch-up']) {
        const profileDir = values.profile ? join(root, 'profiles') : undefined;
        if (profileDir) mkdirSync(profileDir, { recursive: true });
        const r = await catchUpBench({ tracker, root, t, messages: values.messages ? Number(values.messages) : values.quick ? 1_000 : 10_000, roomSize: values.room ? Number(values.room) : 10, ...(profileDir ? { profileDir } : {}) });
        rows.push(...r.rows);
        notes.push(...r.notes);
        if (profileDir) process.stdout.write(formatProfile('catch-up: the late member, from its start to the end of its catch-up', summarizeProfile(join(profileDir, 'catch-up-late.cpuprofile'), REPO_ROOT, 25)));
      }
      if (!values['no-memory']) {
        const m = await memoryBench({ tracker, root, t, big: values['memory-big'] ? Number(values['memory-big']) : values.quick ? 20_000 : 100_000 });
        rows.push(...m.rows);
        notes.push(...m.notes);
      }
      notes.push(`${cpus().length} cores; load average at the end ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
      report('Nothing lost: catch-up and memory with history', rows, values.json, { notes });
    } finally {
      await t.runAll();
    }
  }
}
