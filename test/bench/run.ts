// `npm run bench [-- --sizes 2,5,10,25,50 --quick --profile --json FILE ...]`
//
// Messaging between real `node peer --json` processes, set up the way users run them: a real
// `node tracker` (bcrypt cost 10, its minimum, to keep setup short: the tracker only takes part
// in logins and room changes, never in messages), one peer process per user, each with its own
// `--data` folder, registered and logged in through the CLI (real scrypt N=2^17 and RSA-2048 key
// generation in every peer). The accounts are made once; the processes stay up for the whole run
// and each room size gets a new room. Scenarios, per room size:
//   1. paced: one sender, 5 messages/s; latency of every delivery
//      (and in the smallest room, test/bench/actions-bench.ts: the same plain messages alone and
//      while the other member sends reactions and edits, 20/s: do actions slow messages down?)
//   2. burst: 1,000 messages written at once (pipelined commands) by one sender; time until every
//      member has every message, messages/s, and nothing lost or duplicated
//   3. join: a newcomer joins; time from writing join_room to its first message event, for a
//      message the room's owner sends as soon as it sees member_joined
//   4. a 64 KiB message: time until it has reached every member
// And once, after the rooms (test/bench/catch-up-bench.ts, history-bench.ts; each with a flag to skip):
//   5. catch-up: in a room of 10 (its own tracker and 10 new users), a member away while another
//      sends 10,000 messages (--quick: 1,000) and then leaves too; from the late member's login
//      answer until it has shown all of them, and the time per 1,000 shown
//   6. memory: `node peer` and the engine in-process signed in with 100,000 stored messages
//      against 1,000 (--quick: 20,000)
//   7. the message store (history-bench): append cost, the newest page of 100,000 (--quick: 20,000)
//   8. search (search-bench): a real sealed store of 100,000 messages (--quick: 20,000), the
//      in-memory index's cold build, memory and warm searches
//   9. code threads (anchor-bench): placing 1/50/200 threads of one file of 20 KiB / 2 MiB after an
//      edit above, inside one snippet, far away (extension-host time after typing pauses)
//
// One clock: this process writes every command and reads every peer's stdout, and timestamps are
// its performance.now() when it writes a command and when the chunk holding an event line arrives.
// A latency therefore includes two pipe hops (this process -> sender's stdin, receiver's stdout ->
// this process) and the clients' JSON handling; the idle round trip of a local command is reported
// as that overhead. Not a test: targets are printed next to the numbers, never enforced.

import { teardownStack } from '../helpers/teardown.ts';
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { PeerProcess, checkPeerBundle, type PeerEvent, type TimedAnswer } from '../helpers/peer-process.ts';
import { REPO_ROOT, startTracker, type Teardown, type TrackerProcess } from '../helpers/tracker-process.ts';
import { formatProfile, summarizeProfile, type ProfileSummary } from './cpuprofile.ts';
import { formatTable, formatValue, report, type ReportRow } from './report.ts';
import { CATCH_UP_TARGET_MS, CATCH_UP_TRACKER_ARGS, catchUpBench, memoryBench } from './catch-up-bench.ts';
import { historyBench } from './history-bench.ts';
import { actionsBench } from './actions-bench.ts';
import { SEARCH_TARGET_MS, searchBench } from './search-bench.ts';
import { anchorBench } from './anchor-bench.ts';
import { cpuSeconds, machineCpuSeconds, percentile, progress, rssMiB } from './stats.ts';

// ---- options -----------------------------------------------------------------------------------

const { values: flags } = parseArgs({
  options: {
    sizes: { type: 'string' },
    quick: { type: 'boolean', default: false },
    paced: { type: 'string' },
    rate: { type: 'string', default: '5' },
    burst: { type: 'string' },
    'big-reps': { type: 'string' },
    'join-reps': { type: 'string' },
    concurrency: { type: 'string' },
    profile: { type: 'boolean', default: false },
    'peer-entry': { type: 'string' },
    'catch-up': { type: 'string' },
    'no-catch-up': { type: 'boolean', default: false },
    'catch-up-departed': { type: 'boolean', default: false },
    'memory-messages': { type: 'string' },
    'no-memory': { type: 'boolean', default: false },
    'history-messages': { type: 'string' },
    'no-history': { type: 'boolean', default: false },
    'no-rooms': { type: 'boolean', default: false },
    'actions-rate': { type: 'string', default: '20' },
    'no-actions': { type: 'boolean', default: false },
    'actions-on': { type: 'string', default: 'recent' },
    'search-messages': { type: 'string' },
    'no-search': { type: 'boolean', default: false },
    'no-anchor': { type: 'boolean', default: false },
    json: { type: 'string', default: 'bench-results/peer.json' },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});

const USAGE = `Usage: npm run bench -- [--sizes 2,5,10,25,50] [--quick] [--paced N] [--rate R] [--burst N]
                      [--big-reps N] [--join-reps N] [--concurrency N] [--profile] [--peer-entry FILE]
                      [--catch-up N | --no-catch-up] [--memory-messages N | --no-memory]
                      [--history-messages N | --no-history] [--actions-rate R | --no-actions] [--actions-on recent|one]
                      [--search-messages N | --no-search] [--no-anchor] [--no-rooms] [--json FILE]

  --sizes      room sizes (members, sender included); default 2,5,10,25,50 (--quick: 2,5,10)
  --quick      a smaller run: sizes 2,5,10, 20 paced messages, a burst of 300, 2 repetitions
  --paced N    messages in the paced scenario (default 50)      --rate R  messages/s (default 5)
  --burst N    messages in the burst (default 1000)
  --big-reps N 64 KiB messages, one after the other (default 5)
  --join-reps N  newcomer joins (it leaves in between; default 5)
  --concurrency N  registrations/logins at once (default 2 per core)
  --profile    run the sender and one receiver (and the catch-up's late member) with --cpu-prof and rank their hot functions
  --peer-entry FILE  run FILE instead of \`peer\` (an experimental build, for what-if comparisons)
  --catch-up N messages a member misses and catches up on, room of 10 (default 10000; --quick 1000)
  --memory-messages N  stored messages for the memory comparison with 1,000 (default 100000; --quick 20000)
  --history-messages N  messages in the store benchmark's big conversation (default 100000; --quick 20000)
  --actions-rate R  reactions + edits per second the other member sends while plain messages are paced, smallest room (default 20)
  --actions-on W  recent: reactions on the newest messages received, edits of a few own ones (default); one: all on one message (stress)
  --search-messages N  stored messages searched (default 100000; --quick 20000)
  --catch-up-departed  scenario 5 again, the sender leaving the room before the late member comes back
  --no-catch-up, --no-memory, --no-history, --no-actions, --no-search, --no-anchor  skip those scenarios; --no-rooms skips scenarios 1-4
  --json FILE  where the results go (default bench-results/peer.json)`;

if (flags.help) {
  process.stdout.write(USAGE + '\n');
  process.exit(0);
}

function intFlag(name: string, raw: string | undefined, fallback: number, min: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) {
    process.stderr.write(`--${name} must be a whole number >= ${min} (got "${raw}")\n`);
    process.exit(2);
  }
  return n;
}

const QUICK = flags.quick!;
const SIZES = (flags.sizes ?? (QUICK ? '2,5,10' : '2,5,10,25,50')).split(',').map((s) => intFlag('sizes', s.trim(), 0, 2));
const PACED = intFlag('paced', flags.paced, QUICK ? 20 : 50, 1);
const RATE = Number(flags.rate);
if (!(RATE > 0 && RATE <= 1000)) {
  process.stderr.write(`--rate must be a number of messages per second from 0 to 1000 (got "${flags.rate}")\n`);
  process.exit(2);
}
const BURST = intFlag('burst', flags.burst, QUICK ? 300 : 1000, 1);
const BIG_REPS = intFlag('big-reps', flags['big-reps'], QUICK ? 2 : 5, 1);
const JOIN_REPS = intFlag('join-reps', flags['join-reps'], QUICK ? 2 : 5, 1);
const CONCURRENCY = intFlag('concurrency', flags.concurrency, Math.max(2, cpus().length * 2), 1);
const PROFILE = flags.profile!;
const JSON_PATH = flags.json!;
const PEER_PROGRAM = flags['peer-entry'] ? resolve(flags['peer-entry']) : undefined;
const CATCH_UP = flags['no-catch-up'] ? 0 : intFlag('catch-up', flags['catch-up'], QUICK ? 1_000 : 10_000, 1);
const CATCH_UP_ROOM = 10;
const MEMORY_MESSAGES = flags['no-memory'] ? 0 : intFlag('memory-messages', flags['memory-messages'], QUICK ? 20_000 : 100_000, 1);
const HISTORY_MESSAGES = flags['no-history'] ? 0 : intFlag('history-messages', flags['history-messages'], QUICK ? 20_000 : 100_000, 1_000);
const ROOMS = !flags['no-rooms'];
const ACTIONS_RATE = flags['no-actions'] ? 0 : Number(flags['actions-rate']);
const ACTIONS_ON = flags['actions-on'] as 'recent' | 'one';
if (ACTIONS_ON !== 'recent' && ACTIONS_ON !== 'one') {
  process.stderr.write(`--actions-on must be recent or one (got "${ACTIONS_ON}")\n`);
  process.exit(2);
}
if (!(ACTIONS_RATE >= 0 && ACTIONS_RATE <= 1000)) {
  process.stderr.write(`--actions-rate must be a number of actions per second from 0 to 1000 (got "${flags['actions-rate']}")\n`);
  process.exit(2);
}
const SEARCH_MESSAGES = flags['no-search'] ? 0 : intFlag('search-messages', flags['search-messages'], QUICK ? 20_000 : 100_000, 100);
const ANCHOR = !flags['no-anchor'];

/** Users: the largest room plus the newcomer of scenario 3. */
const USERS = Math.max(...SIZES) + 1;
const PASSWORD = 'plum kettle orbit 93 lantern';
const BCRYPT_COST = 10;
const TRACKER_ARGS = [
  '--bcrypt-cost', String(BCRYPT_COST),
  // Every peer connects from 127.0.0.1; the default allows 32 connections per address.
  '--max-conns-per-address', String(2 * USERS + 16),
  // ... and registers from it (the default allows 100 accounts an hour).
  '--registrations-per-address', String(USERS + 10),
  // A registration waits behind others' scrypt on 2 cores: keep its connection open meanwhile.
  '--auth-timeout', '600000',
];
const BIG_BYTES = 64 * 1024;
/** How long to wait for a scenario to complete before counting what is missing as lost. */
const PACED_GRACE_MS = 15_000;
const BURST_TIMEOUT_MS = 300_000;
const BIG_TIMEOUT_MS = 60_000;
const JOIN_TIMEOUT_MS = 60_000;
const SETTLE_TIMEOUT_MS = 60_000;
const TARGETS = {
  pacedP99Ms: { size: 10, value: 10 },
  burstAllMs: { size: 10, value: 2000, messages: 1000 },
};

const benchStart = performance.now();
const now = () => performance.now();
const say = (line = '') => process.stdout.write(line + '\n');
const note = (line: string) => process.stderr.write(`[${((now() - benchStart) / 1000).toFixed(1)}s] ${line}\n`);
const round = (x: number | null | undefined, digits = 1): number | null =>
  x === null || x === undefined || !Number.isFinite(x) ? null : Number(x.toFixed(digits));

// ---- teardown ----------------------------------------------------------------------------------

const teardowns = teardownStack((err) => process.stderr.write(`teardown: ${(err as Error).message}\n`));
const t: Teardown = teardowns;
let tornDown = false;
async function tearDown(): Promise<void> {
  if (tornDown) return;
  tornDown = true;
  await teardowns.runAll();
}
process.once('SIGINT', () => {
  process.stderr.write('interrupted: stopping the peers and the tracker\n');
  void tearDown().then(() => process.exit(130));
});

// ---- users -------------------------------------------------------------------------------------

interface User {
  name: string;
  index: number;
  data: string;
  peer: PeerProcess;
  /** `error` events seen (a refused link, a failed send...), with their code. */
  errors: Map<string, number>;
  firstErrors: string[];
}

async function startUsers(tracker: TrackerProcess, root: string, profileDir?: string): Promise<User[]> {
  const width = String(USERS - 1).length;
  const users: User[] = [];
  for (let i = 0; i < USERS; i++) {
    const name = `bench-p${String(i).padStart(width, '0')}`;
    const data = join(root, name);
    mkdirSync(data, { recursive: true });
    const profiled = profileDir && (i === 0 || i === 1);
    const peer = new PeerProcess({
      tracker: `${tracker.host}:${tracker.port}`,
      data,
      label: name,
      ...(PEER_PROGRAM ? { entry: PEER_PROGRAM } : {}),
      ...(profiled ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${i === 0 ? 'sender' : 'receiver'}-${name}.cpuprofile`] } : {}),
    });
    const user: User = { name, index: i, data, peer, errors: new Map(), firstErrors: [] };
    peer.on('event', (e) => {
      if (e.event !== 'error') return;
      const code = String(e.code);
      user.errors.set(code, (user.errors.get(code) ?? 0) + 1);
      if (user.firstErrors.length < 5) user.firstErrors.push(`${code}: ${String(e.message).slice(0, 300)}`);
    });
    users.push(user);
  }
  t.after(async () => {
    note(`stopping ${users.length} peers`);
    await Promise.all(users.map((u) => u.peer.stop()));
  });
  return users;
}

/** Runs `fn` over `items`, at most `limit` at once. */
async function inBatches<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]);
  });
  await Promise.all(workers);
}

// ---- deliveries --------------------------------------------------------------------------------

/**
 * Watches `message` events of one scenario on the receivers: texts start with `<prefix>#<seq>|`.
 * Latency of a delivery = the time its event line was read minus the time its command was written.
 */
class DeliveryWatch {
  /** seq -> when this process wrote the command */
  readonly sentAt = new Map<number, number>();
  readonly latencies: number[] = [];
  /** Receipt (this process's clock, as epoch ms) minus the sender engine's own `sentAt` (Date.now(), 1 ms steps). */
  readonly engineLatencies: number[] = [];
  /** seq -> time from its send until the last receiver had it */
  readonly toAll = new Map<number, number>();
  duplicates = 0;
  corrupted = 0;
  unexpected = 0;
  firstAt = Infinity;
  lastAt = 0;
  readonly done: Promise<void>;
  private resolveDone!: () => void;
  private readonly got: Map<number, number>[];
  private readonly countBySeq = new Map<number, number>();
  private unique = 0;
  private readonly listeners: (() => void)[] = [];

  constructor(
    private readonly receivers: User[],
    room: string,
    prefix: string,
    private readonly expected: number,
    private readonly expectedText?: (seq: number) => string,
  ) {
    this.got = receivers.map(() => new Map());
    this.done = new Promise((r) => (this.resolveDone = r));
    const head = `${prefix}#`;
    receivers.forEach((u, i) => {
      const onEvent = (e: PeerEvent, at: number) => {
        if (e.event !== 'message' || e.room !== room) return;
        const text = String(e.text);
        if (!text.startsWith(head)) return;
        const seq = Number(text.slice(head.length, text.indexOf('|')));
        const sent = this.sentAt.get(seq);
        if (sent === undefined || !Number.isInteger(seq)) {
          this.unexpected++;
          return;
        }
        if (this.expectedText && text !== this.expectedText(seq)) {
          this.corrupted++;
          return;
        }
        const seen = this.got[i].get(seq) ?? 0;
        this.got[i].set(seq, seen + 1);
        if (seen > 0) {
          this.duplicates++;
          return;
        }
        this.latencies.push(at - sent);
        this.engineLatencies.push(performance.timeOrigin + at - Number(e.sentAt));
        this.firstAt = Math.min(this.firstAt, at);
        this.lastAt = Math.max(this.lastAt, at);
        const count = (this.countBySeq.get(seq) ?? 0) + 1;
        this.countBySeq.set(seq, count);
        if (count === this.receivers.length) this.toAll.set(seq, at - sent);
        if (++this.unique === this.receivers.length * this.expected) this.resolveDone();
      };
      u.peer.on('event', onEvent);
      this.listeners.push(() => u.peer.off('event', onEvent));
    });
    if (this.expected === 0 || receivers.length === 0) this.resolveDone();
  }

  /** Resolves once every receiver has every message, or after `ms` (then some are lost). */
  async wait(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const complete = await Promise.race([this.done.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)))]);
    clearTimeout(timer);
    return complete;
  }

  /** Has receiver `i` (index into receivers) got message `seq`? */
  has(i: number, seq: number): boolean {
    return (this.got[i].get(seq) ?? 0) > 0;
  }

  get delivered(): number {
    return this.unique;
  }

  get lost(): number {
    return this.receivers.length * this.expected - this.unique;
  }

  /** Which receivers miss messages, for the notes. */
  missing(): string[] {
    const out: string[] = [];
    this.receivers.forEach((u, i) => {
      const n = this.expected - this.got[i].size;
      if (n > 0) out.push(`${u.name} missed ${n}`);
    });
    return out;
  }

  stop(): void {
    for (const off of this.listeners) off();
    this.listeners.length = 0;
  }
}

/** The sender's `delivered` events for one room: when each message id was acknowledged by all. */
class AckWatch {
  readonly ackedAllAt = new Map<string, number>();
  private readonly off: () => void;
  constructor(sender: User, room: string) {
    const onEvent = (e: PeerEvent, at: number) => {
      if (e.event === 'delivered' && e.room === room && e.count === e.of) this.ackedAllAt.set(String(e.id), at);
    };
    sender.peer.on('event', onEvent);
    this.off = () => sender.peer.off('event', onEvent);
  }

  /** Waits until every id is acknowledged by all its recipients (or `ms` passed). */
  async waitAll(ids: string[], ms: number): Promise<boolean> {
    const deadline = now() + ms;
    while (now() < deadline) {
      if (ids.every((id) => this.ackedAllAt.has(id))) return true;
      await sleep(20);
    }
    return ids.every((id) => this.ackedAllAt.has(id));
  }

  stop(): void {
    this.off();
  }
}

// ---- CPU accounting ----------------------------------------------------------------------------

interface CpuUse {
  wallS: number;
  senderS: number | null;
  receiversS: number | null;
  receiverMaxS: number | null;
  trackerS: number | null;
  benchS: number;
  /** Whole machine: core-seconds busy over the interval, and the part not used by the tracker, the room's peers or this process. */
  machineBusyS: number | null;
  otherS: number | null;
  cores: number;
  /** Share of the sender's and the receivers' CPU spent in the kernel (system calls: socket and pipe writes, fsync). */
  senderSysShare: number | null;
  receiversSysShare: number | null;
}

/** utime and stime of a process in seconds (/proc/<pid>/stat), or null. */
function userSys(pid: number): { user: number; sys: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { user: Number(fields[11]) / 100, sys: Number(fields[12]) / 100 };
  } catch {
    return null;
  }
}

function sysShare(before: ({ user: number; sys: number } | null)[], after: ({ user: number; sys: number } | null)[]): number | null {
  let user = 0;
  let sys = 0;
  for (let i = 0; i < before.length; i++) {
    const a = before[i];
    const b = after[i];
    if (!a || !b) continue;
    user += b.user - a.user;
    sys += b.sys - a.sys;
  }
  return user + sys > 0 ? sys / (user + sys) : null;
}

function cpuMeterAll(sender: User, receivers: User[], trackerPid: number): () => CpuUse {
  const wall = now();
  const bench = process.cpuUsage();
  const s0 = cpuSeconds(sender.peer.pid);
  const r0 = receivers.map((r) => cpuSeconds(r.peer.pid));
  const tr0 = cpuSeconds(trackerPid);
  const m0 = machineCpuSeconds();
  const us0 = [userSys(sender.peer.pid)];
  const ur0 = receivers.map((r) => userSys(r.peer.pid));
  return () => {
    const s1 = cpuSeconds(sender.peer.pid);
    const r1 = receivers.map((r) => cpuSeconds(r.peer.pid));
    const tr1 = cpuSeconds(trackerPid);
    const per = r1.map((v, i) => (v === null || r0[i] === null ? null : v - r0[i]!));
    const known = per.filter((v): v is number => v !== null);
    const b = process.cpuUsage(bench);
    const m1 = machineCpuSeconds();
    const use = {
      wallS: (now() - wall) / 1000,
      senderS: s0 === null || s1 === null ? null : s1 - s0,
      receiversS: known.length ? known.reduce((a, c) => a + c, 0) : null,
      receiverMaxS: known.length ? Math.max(...known) : null,
      trackerS: tr0 === null || tr1 === null ? null : tr1 - tr0,
      benchS: (b.user + b.system) / 1e6,
      machineBusyS: m0 && m1 ? m1.busy - m0.busy : null,
      otherS: null as number | null,
      cores: cpus().length,
      senderSysShare: sysShare(us0, [userSys(sender.peer.pid)]),
      receiversSysShare: sysShare(ur0, receivers.map((r) => userSys(r.peer.pid))),
    };
    if (use.machineBusyS !== null) use.otherS = Math.max(0, use.machineBusyS - (use.senderS ?? 0) - (use.receiversS ?? 0) - (use.trackerS ?? 0) - use.benchS);
    return use;
  };
}

const pct = (x: number | null) => (x === null ? 'n/a' : `${Math.round(x * 100)}%`);

function formatCpu(c: CpuUse): string {
  const f = (x: number | null) => (x === null ? 'n/a' : x.toFixed(2));
  return (
    `wall ${c.wallS.toFixed(2)} s; CPU s: sender ${f(c.senderS)}, receivers ${f(c.receiversS)} (max one ${f(c.receiverMaxS)}), tracker ${f(c.trackerS)}, ` +
    `bench ${c.benchS.toFixed(2)}, other processes on the machine ${f(c.otherS)} (of ${(c.wallS * c.cores).toFixed(2)} core-s); ` +
    `in the kernel: sender ${pct(c.senderSysShare)}, receivers ${pct(c.receiversSysShare)}`
  );
}

// ---- results -----------------------------------------------------------------------------------

interface Result {
  scenario: string;
  roomSize: number;
  messages: number;
  p50: number | null;
  p99: number | null;
  max: number | null;
  /** Time until every member had every message (or, per message, the worst such time). */
  all: number | null;
  msgsPerSec: number | null;
  lost: number | null;
  target?: string;
  [extra: string]: unknown;
}

const results: Result[] = [];
/** Rows of the second table measured in the rooms (reactions and edits against plain messages). */
const roomRows: ReportRow[] = [];
const context: { size: number; what: string; value: string }[] = [];
const notes: string[] = [];

function latencyStats(samples: number[]): Pick<Result, 'p50' | 'p99' | 'max'> {
  return { p50: round(percentile(samples, 50), 2), p99: round(percentile(samples, 99), 2), max: round(percentile(samples, 100), 2) };
}

function answerFailures(settled: PromiseSettledResult<TimedAnswer>[]): { failed: number; first?: string; answers: TimedAnswer[] } {
  const answers: TimedAnswer[] = [];
  let failed = 0;
  let first: string | undefined;
  for (const s of settled) {
    if (s.status === 'fulfilled' && s.value.answer.ok) answers.push(s.value);
    else {
      failed++;
      first ??= s.status === 'rejected' ? String((s.reason as Error).message).slice(0, 300) : `${s.value.answer.error?.code}: ${s.value.answer.error?.message}`;
    }
  }
  return { failed, ...(first ? { first } : {}), answers };
}

// ---- scenarios ---------------------------------------------------------------------------------

interface Room {
  name: string;
  size: number;
  sender: User;
  receivers: User[];
  trackerPid: number;
}

async function makeRoom(users: User[], size: number, trackerPid: number): Promise<Room> {
  const name = `bench-room-${size}`;
  const [sender, ...receivers] = users.slice(0, size);
  note(`room of ${size}: ${sender.name} creates ${name}; ${receivers.length} members join one after the other`);
  await sender.peer.ok({ cmd: 'create_room', room: name });
  const tick = progress('joined', receivers.length);
  let joined = 0;
  const at = now();
  for (const r of receivers) {
    await r.peer.ok({ cmd: 'join_room', room: name });
    tick(++joined);
  }
  const joinsMs = now() - at;
  // The sender must have applied every join before its first message names the recipients.
  await Promise.all(receivers.map((r) => sender.peer.waitEvent('member_joined', (e) => e.room === name && e.user === r.name, 60_000)));
  context.push({ size, what: 'room set-up: joins, one after the other', value: `${receivers.length} in ${(joinsMs / 1000).toFixed(2)} s (${(joinsMs / Math.max(1, receivers.length)).toFixed(0)} ms each)` });
  return { name, size, sender, receivers, trackerPid };
}

/** Round trips of a local command (no network): the pipes' and the CLI's own overhead. */
async function pipeRoundTrip(room: Room): Promise<void> {
  const samples: number[] = [];
  for (let i = 0; i < 20; i++) {
    const { writtenAt, at } = await room.sender.peer.request({ cmd: 'fingerprint' });
    samples.push(at - writtenAt);
  }
  const s = latencyStats(samples);
  context.push({ size: room.size, what: 'CLI round trip of a local command (fingerprint), idle: pipe overhead', value: `p50 ${s.p50} ms, max ${s.max} ms` });
}

/** A first message after the joins: new sender session (key bundle for every member) and, on the first room, new links. */
async function warmUp(room: Room): Promise<void> {
  const prefix = `warm${room.size}`;
  const watch = new DeliveryWatch(room.receivers, room.name, prefix, 1);
  watch.sentAt.set(0, now());
  const answer = room.sender.peer.request({ cmd: 'msg_room', room: room.name, text: `${prefix}#0|warm-up` });
  const complete = await watch.wait(60_000);
  watch.stop();
  const { answer: a } = await answer;
  if (!a.ok) throw new Error(`warm-up send failed: ${JSON.stringify(a.error)}`);
  if (!complete) throw new Error(`warm-up message in the room of ${room.size} did not reach ${watch.missing().join(', ')} within 60 s`);
  const s = latencyStats(watch.latencies);
  context.push({ size: room.size, what: 'first message after the joins (new session key bundle; new links on first use)', value: `p50 ${s.p50} ms, max ${s.max} ms` });
}

async function paced(room: Room): Promise<void> {
  const prefix = `paced${room.size}`;
  const interval = 1000 / RATE;
  note(`room of ${room.size}: paced, ${PACED} messages at ${RATE}/s`);
  const watch = new DeliveryWatch(room.receivers, room.name, prefix, PACED);
  const cpu = cpuMeterAll(room.sender, room.receivers, room.trackerPid);
  const answers: Promise<TimedAnswer>[] = [];
  const start = now() + 20;
  for (let i = 0; i < PACED; i++) {
    const wait = start + i * interval - now();
    if (wait > 0) await sleep(wait);
    watch.sentAt.set(i, now());
    answers.push(room.sender.peer.request({ cmd: 'msg_room', room: room.name, text: `${prefix}#${i}|paced message ${i} of ${PACED}` }));
  }
  const lastSend = watch.sentAt.get(PACED - 1)!;
  const firstSend = watch.sentAt.get(0)!;
  const complete = await watch.wait(PACED_GRACE_MS);
  const cpuUse = cpu();
  watch.stop();
  const sent = answerFailures(await Promise.allSettled(answers));
  const toAll = [...watch.toAll.values()];
  const target = room.size === TARGETS.pacedP99Ms.size ? `p99 < ${TARGETS.pacedP99Ms.value} ms` : undefined;
  const stats = latencyStats(watch.latencies);
  results.push({
    scenario: `1 paced ${RATE}/s`,
    roomSize: room.size,
    messages: PACED,
    ...stats,
    all: round(percentile(toAll, 100), 2),
    msgsPerSec: round(PACED > 1 ? ((PACED - 1) / (lastSend - firstSend)) * 1000 : null, 2),
    lost: watch.lost,
    ...(target ? { target: `${target}: ${stats.p99 !== null && stats.p99 < TARGETS.pacedP99Ms.value ? 'met' : 'MISSED'}` } : {}),
    deliveries: watch.delivered,
    duplicates: watch.duplicates,
    corrupted: watch.corrupted,
    complete,
    sendFailures: sent.failed,
    ...(sent.first ? { firstSendFailure: sent.first } : {}),
    toAllP50: round(percentile(toAll, 50), 2),
    engineClock: { ...latencyStats(watch.engineLatencies), note: 'receipt minus the sender engine sentAt (Date.now, 1 ms steps): leaves out the hop into the sender' },
    answerLatency: latencyStats(sent.answers.map((a) => a.at - a.writtenAt)),
    cpu: cpuUse,
  });
  notes.push(`paced, room of ${room.size}: ${formatCpu(cpuUse)}`);
  if (!complete) notes.push(`paced, room of ${room.size}: ${watch.missing().join(', ')}`);
}

async function burst(room: Room): Promise<void> {
  const prefix = `burst${room.size}`;
  note(`room of ${room.size}: burst of ${BURST} messages written at once`);
  const watch = new DeliveryWatch(room.receivers, room.name, prefix, BURST);
  const acks = new AckWatch(room.sender, room.name);
  const cpu = cpuMeterAll(room.sender, room.receivers, room.trackerPid);
  const cmds = Array.from({ length: BURST }, (_, i) => ({ cmd: 'msg_room', room: room.name, text: `${prefix}#${i}|burst message ${i} of ${BURST}` }));
  const { writtenAt, answers } = room.sender.peer.pipeline(cmds, BURST_TIMEOUT_MS);
  for (let i = 0; i < BURST; i++) watch.sentAt.set(i, writtenAt);
  const tick = progress('burst deliveries', room.receivers.length * BURST, 5_000);
  const ticker = setInterval(() => tick(watch.delivered), 5_000);
  const complete = await watch.wait(BURST_TIMEOUT_MS);
  clearInterval(ticker);
  const cpuUse = cpu();
  watch.stop();
  const sent = answerFailures(await Promise.allSettled(answers));
  const lastAnswerAt = Math.max(...sent.answers.map((a) => a.at));
  // Let the sender finish taking the acknowledgements before the next scenario starts.
  const ids = sent.answers.map((a) => String(a.answer.messageId));
  const acked = await acks.waitAll(ids, SETTLE_TIMEOUT_MS);
  const ackTimes = ids.map((id) => acks.ackedAllAt.get(id)).filter((x): x is number => x !== undefined);
  acks.stop();
  const allMs = complete ? watch.lastAt - writtenAt : null;
  const target = room.size === TARGETS.burstAllMs.size && BURST === TARGETS.burstAllMs.messages ? `all < ${TARGETS.burstAllMs.value} ms` : undefined;
  results.push({
    scenario: `2 burst ${BURST}`,
    roomSize: room.size,
    messages: BURST,
    ...latencyStats(watch.latencies),
    all: round(allMs, 1),
    msgsPerSec: round(complete ? (BURST / allMs!) * 1000 : null, 1),
    lost: watch.lost,
    ...(target ? { target: `${target}: ${allMs !== null && allMs < TARGETS.burstAllMs.value ? 'met' : 'MISSED'}` } : {}),
    deliveries: watch.delivered,
    deliveriesPerSec: round(complete ? (watch.delivered / allMs!) * 1000 : null, 0),
    duplicates: watch.duplicates,
    corrupted: watch.corrupted,
    complete,
    sendFailures: sent.failed,
    ...(sent.first ? { firstSendFailure: sent.first } : {}),
    firstDeliveryMs: round(watch.firstAt - writtenAt, 1),
    allAnsweredMs: round(lastAnswerAt - writtenAt, 1),
    ackedByAllMs: round(acked && ackTimes.length ? Math.max(...ackTimes) - writtenAt : null, 1),
    engineClock: latencyStats(watch.engineLatencies),
    cpu: cpuUse,
  });
  const perMsg = (x: number | null, n: number) => (x === null ? 'n/a' : ((x / n) * 1000).toFixed(2));
  notes.push(
    `burst, room of ${room.size}: sender answered all ${BURST} commands after ${formatValue(round(lastAnswerAt - writtenAt, 0))} ms; ${formatCpu(cpuUse)}; ` +
      `CPU per message: sender ${perMsg(cpuUse.senderS, BURST)} ms, each receiver ${perMsg(cpuUse.receiversS, BURST * room.receivers.length)} ms ` +
      `(all ${BURST} on ${cpuUse.cores} idle cores would take at least ${formatValue(round((((cpuUse.senderS ?? 0) + (cpuUse.receiversS ?? 0)) / cpuUse.cores) * 1000, 0))} ms)`,
  );
  if (!complete) notes.push(`burst, room of ${room.size}: not complete after ${BURST_TIMEOUT_MS / 1000} s: ${watch.missing().slice(0, 10).join(', ')}`);
  if (!acked) notes.push(`burst, room of ${room.size}: the sender had not seen every acknowledgement ${SETTLE_TIMEOUT_MS / 1000} s later`);
}

function bigText(prefix: string, seq: number): string {
  const head = `${prefix}#${seq}|`;
  return head + 'x'.repeat(BIG_BYTES - head.length);
}

async function big(room: Room): Promise<void> {
  const prefix = `big${room.size}`;
  note(`room of ${room.size}: ${BIG_REPS} messages of 64 KiB, one after the other`);
  const watch = new DeliveryWatch(room.receivers, room.name, prefix, BIG_REPS, (seq) => bigText(prefix, seq));
  const cpu = cpuMeterAll(room.sender, room.receivers, room.trackerPid);
  const answers: Promise<TimedAnswer>[] = [];
  let complete = true;
  for (let i = 0; i < BIG_REPS; i++) {
    const text = bigText(prefix, i);
    watch.sentAt.set(i, now());
    answers.push(room.sender.peer.request({ cmd: 'msg_room', room: room.name, text }));
    const deadline = now() + BIG_TIMEOUT_MS;
    while (!room.receivers.every((_, r) => watch.has(r, i)) && now() < deadline) await sleep(2);
    if (!room.receivers.every((_, r) => watch.has(r, i))) complete = false;
  }
  const cpuUse = cpu();
  watch.stop();
  const sent = answerFailures(await Promise.allSettled(answers));
  const toAll = [...watch.toAll.values()];
  results.push({
    scenario: '4 64 KiB message',
    roomSize: room.size,
    messages: BIG_REPS,
    ...latencyStats(watch.latencies),
    all: round(percentile(toAll, 100), 2),
    msgsPerSec: null,
    lost: watch.lost,
    deliveries: watch.delivered,
    duplicates: watch.duplicates,
    corrupted: watch.corrupted,
    complete,
    sendFailures: sent.failed,
    ...(sent.first ? { firstSendFailure: sent.first } : {}),
    toAllP50: round(percentile(toAll, 50), 2),
    toAllSamples: toAll.map((x) => round(x, 2)),
    answerLatency: latencyStats(sent.answers.map((a) => a.at - a.writtenAt)),
    cpu: cpuUse,
  });
  if (watch.corrupted) notes.push(`64 KiB, room of ${room.size}: ${watch.corrupted} deliveries arrived with a different text`);
}

async function join_(room: Room, newcomer: User): Promise<void> {
  const prefix = `join${room.size}`;
  note(`room of ${room.size}: ${newcomer.name} joins ${JOIN_REPS} times (leaving in between); ${room.sender.name} sends on member_joined`);
  const samples: { firstMessageMs: number | null; answerMs: number; seenMs: number | null; messageMs: number | null }[] = [];
  let lost = 0;
  const cpu = cpuMeterAll(room.sender, [...room.receivers, newcomer], room.trackerPid);
  for (let rep = 0; rep < JOIN_REPS; rep++) {
    const text = `${prefix}#${rep}|hello ${newcomer.name}`;
    let sendAt: number | undefined;
    let seenAt: number | undefined;
    let sendAnswer: Promise<TimedAnswer> | undefined;
    const onOwner = (e: PeerEvent, at: number) => {
      if (sendAt !== undefined || e.event !== 'member_joined' || e.room !== room.name || e.user !== newcomer.name) return;
      seenAt = at;
      sendAt = now();
      sendAnswer = room.sender.peer.request({ cmd: 'msg_room', room: room.name, text });
    };
    let gotAt: number | undefined;
    let resolveGot!: () => void;
    const got = new Promise<void>((r) => (resolveGot = r));
    const onNewcomer = (e: PeerEvent, at: number) => {
      if (gotAt === undefined && e.event === 'message' && e.room === room.name && e.text === text) {
        gotAt = at;
        resolveGot();
      }
    };
    room.sender.peer.on('event', onOwner);
    newcomer.peer.on('event', onNewcomer);
    const t0 = now();
    const joined = await newcomer.peer.request({ cmd: 'join_room', room: room.name });
    if (!joined.answer.ok) throw new Error(`${newcomer.name} could not join ${room.name}: ${JSON.stringify(joined.answer.error)}`);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([got, new Promise<void>((r) => (timer = setTimeout(r, JOIN_TIMEOUT_MS)))]);
    clearTimeout(timer);
    room.sender.peer.off('event', onOwner);
    newcomer.peer.off('event', onNewcomer);
    if (sendAnswer) {
      const a = await sendAnswer;
      if (!a.answer.ok) notes.push(`join, room of ${room.size}: the owner's message failed: ${JSON.stringify(a.answer.error)}`);
    }
    if (gotAt === undefined) lost++;
    samples.push({
      firstMessageMs: gotAt === undefined ? null : gotAt - t0,
      answerMs: joined.at - t0,
      seenMs: seenAt === undefined ? null : seenAt - t0,
      messageMs: gotAt === undefined || sendAt === undefined ? null : gotAt - sendAt,
    });
    // Leave again (and let the owner see it), so the next repetition is a fresh join.
    await newcomer.peer.ok({ cmd: 'leave_room', room: room.name });
    await room.sender.peer.waitEvent('member_left', (e) => e.room === room.name && e.user === newcomer.name, 60_000);
  }
  const first = samples.map((s) => s.firstMessageMs).filter((x): x is number => x !== null);
  const stat = (pick: (s: (typeof samples)[number]) => number | null) => latencyStats(samples.map(pick).filter((x): x is number => x !== null));
  results.push({
    scenario: '3 join → 1st message',
    roomSize: room.size,
    messages: JOIN_REPS,
    ...latencyStats(first),
    all: null,
    msgsPerSec: null,
    lost,
    definition: 'from writing join_room to the newcomer, to reading its first message event; the owner sends that message when this process reads its member_joined event',
    joinAnswer: stat((s) => s.answerMs),
    ownerSawJoin: stat((s) => s.seenMs),
    ownerMessageToNewcomer: stat((s) => s.messageMs),
    samples: samples.map((s) => ({ firstMessageMs: round(s.firstMessageMs, 2), answerMs: round(s.answerMs, 2), seenMs: round(s.seenMs, 2), messageMs: round(s.messageMs, 2) })),
    cpu: cpu(),
  });
  const f = (x: number | null | undefined) => (x === null || x === undefined ? 'n/a' : x.toFixed(1));
  const s0 = samples[0];
  notes.push(
    `join, room of ${room.size} (p50 over ${JOIN_REPS}): join_room answered ${f(stat((s) => s.answerMs).p50)} ms, owner saw member_joined ${f(stat((s) => s.seenMs).p50)} ms, ` +
      `owner's message reached the newcomer ${f(stat((s) => s.messageMs).p50)} ms later; first repetition ${f(s0?.firstMessageMs)} ms`,
  );
}

function stateKiB(u: User | undefined): string {
  if (!u) return 'n/a';
  try {
    return (statSync(join(u.data, 'state.json')).size / 1024).toFixed(0);
  } catch {
    return 'n/a';
  }
}

// ---- the table ---------------------------------------------------------------------------------

function formatResults(rows: Result[]): string {
  const head = ['scenario', 'room', 'msgs', 'p50 ms', 'p99 ms', 'max ms', 'all ms', 'msgs/s', 'lost', 'others', 'target'];
  const others = (r: Result) => {
    const c = r.cpu as CpuUse | undefined;
    return c && typeof c.otherS === 'number' ? `${Math.round((c.otherS / (c.wallS * c.cores)) * 100)}%` : '';
  };
  const cells = rows.map((r) => [r.scenario, String(r.roomSize), String(r.messages), formatValue(r.p50), formatValue(r.p99), formatValue(r.max), formatValue(r.all), formatValue(r.msgsPerSec), formatValue(r.lost), others(r), r.target ?? '']);
  const width = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((v, i) => (i === 0 || i === c.length - 1 ? v.padEnd(width[i]) : v.padStart(width[i]))).join('  ').trimEnd();
  const rule = '-'.repeat(width.reduce((a, b) => a + b + 2, 0) - 2);
  return [rule, line(head), rule, ...cells.map(line), rule].join('\n') + '\n';
}

// ---- main --------------------------------------------------------------------------------------

async function main(): Promise<void> {
  // An experimental --peer-entry brings its own bundle (an A/B build from other sources).
  if (!PEER_PROGRAM) checkPeerBundle();
  say(`peer benchmark: rooms of ${SIZES.join(', ')}; ${PACED} paced messages at ${RATE}/s, a burst of ${BURST}, ${BIG_REPS} messages of 64 KiB, ${JOIN_REPS} joins${QUICK ? ' (--quick)' : ''}`);
  say(`every peer is a \`node peer --json\` process with its own --data folder; ${USERS} users, registered and logged in once through the CLI`);
  say(`  (real scrypt N=2^17 and RSA-2048 keys in each peer; ${CONCURRENCY} at once), then kept running; each room size gets a new room`);
  say(`tracker: a real \`node tracker\` with ${TRACKER_ARGS.join(' ')}`);
  say(`  --bcrypt-cost ${BCRYPT_COST} (its minimum, default 12) to shorten setup: bcrypt runs at login only, never per message`);
  say('latency = this process reading the event line from the receiver minus this process writing the command to the sender');
  say('  (one clock; includes two pipe hops and both clients\' JSON handling: see the round trip of a local command below)');
  say(`all traffic on loopback; ${cpus().length} cores shared by the tracker, ${USERS} peers and this process (load average at start ${loadavg().map((x) => x.toFixed(1)).join(' ')}:`);
  say('  anything else running on the machine competes too; each scenario\'s CPU split below says how much)');
  if (PROFILE) say('--profile: the sender and one receiver run with --cpu-prof (a little slower)');
  if (PEER_PROGRAM) say(`--peer-entry: the peers run ${PEER_PROGRAM}, not \`peer\``);
  say();

  const dataRoot = await mkdtemp(join(tmpdir(), 'p2p-chat-peer-bench-'));
  t.after(() => rm(dataRoot, { recursive: true, force: true }));
  let profileDir: string | undefined;
  if (PROFILE) {
    profileDir = resolve(REPO_ROOT, 'bench-results/profiles');
    rmSync(profileDir, { recursive: true, force: true });
    mkdirSync(profileDir, { recursive: true });
  }

  // A scenario that fails is noted and the run goes on with the next one.
  const attempt = async (what: string, fn: () => Promise<void>): Promise<boolean> => {
    try {
      await fn();
      return true;
    } catch (err) {
      const message = String((err as Error)?.message ?? err);
      note(`${what} failed: ${message.split('\n')[0]}`);
      notes.push(`${what} FAILED: ${message.slice(0, 2000)}`);
      return false;
    }
  };

  let users: User[] = [];
  if (ROOMS) users = await rooms(dataRoot, profileDir, attempt);
  const extraRows = await onceScenarios(dataRoot, profileDir, attempt);

  // ---- report ----
  await report_(users, extraRows, profileDir);
}

/** Scenarios 1-4 in rooms of each size; returns the users (their processes stopped). */
async function rooms(dataRoot: string, profileDir: string | undefined, attempt: (what: string, fn: () => Promise<void>) => Promise<boolean>): Promise<User[]> {
  note('starting the tracker');
  const tracker = await startTracker(t, { args: TRACKER_ARGS });
  const trackerPid = tracker.child.pid!;
  note(`starting ${USERS} peer processes`);
  let at = now();
  const users = await startUsers(tracker, dataRoot, profileDir);
  await Promise.all(users.map((u) => u.peer.waitEvent('connection', (e) => e.state === 'offline', 120_000)));
  const startMs = now() - at;
  context.push({ size: 0, what: `start ${USERS} peer processes (spawn to "no saved session")`, value: `${(startMs / 1000).toFixed(1)} s` });

  note(`registering and logging in ${USERS} users, ${CONCURRENCY} at once (scrypt runs twice per user: register, then login)`);
  const tick = progress('logged in', USERS, 5_000);
  let done = 0;
  const registerMs: number[] = [];
  const loginMs: number[] = [];
  at = now();
  await inBatches(users, CONCURRENCY, async (u) => {
    let a = now();
    await u.peer.ok({ cmd: 'register', user: u.name, password: PASSWORD });
    registerMs.push(now() - a);
    a = now();
    await u.peer.ok({ cmd: 'login', user: u.name, password: PASSWORD });
    loginMs.push(now() - a);
    tick(++done);
  });
  const setupMs = now() - at;
  context.push({
    size: 0,
    what: `register + log in ${USERS} users through the CLI, ${CONCURRENCY} at once`,
    value: `${(setupMs / 1000).toFixed(1)} s (register p50 ${percentile(registerMs, 50).toFixed(0)} ms, login p50 ${percentile(loginMs, 50).toFixed(0)} ms)`,
  });
  const newcomer = users[USERS - 1];
  for (const size of SIZES) {
    let room: Room | undefined;
    if (!(await attempt(`room of ${size}: set-up`, async () => void (room = await makeRoom(users, size, trackerPid))))) continue;
    if (!(await attempt(`room of ${size}: warm-up`, () => warmUp(room!)))) continue;
    await attempt(`room of ${size}: pipe round trip`, () => pipeRoundTrip(room!));
    await attempt(`room of ${size}: paced`, () => paced(room!));
    if (ACTIONS_RATE && size === Math.min(...SIZES)) {
      await attempt(`room of ${size}: plain messages with reactions and edits`, async () => {
        // Short rounds, alternating: load from elsewhere on a shared machine falls on both sides alike.
        const r = await actionsBench({ sender: room!.sender.peer, member: room!.receivers[0]!.peer, room: room!.name, roomSize: size, messages: Math.ceil(PACED / 2), rounds: 4, rate: RATE, actionRate: ACTIONS_RATE, on: ACTIONS_ON, cores: cpus().length, log: note });
        roomRows.push(...r.rows);
        notes.push(...r.notes);
      });
    }
    await attempt(`room of ${size}: 64 KiB`, () => big(room!));
    await attempt(`room of ${size}: burst`, () => burst(room!));
    await attempt(`room of ${size}: join`, () => join_(room!, newcomer));
    if (!room) continue;
    const rss = room.receivers.map((r) => rssMiB(r.peer.pid)).filter((x): x is number => x !== null);
    context.push({ size, what: 'peer RSS after the room\'s scenarios (sender; receivers max)', value: `${formatValue(round(rssMiB(room.sender.peer.pid)))} MiB; ${formatValue(round(Math.max(...rss)))} MiB` });
    context.push({ size, what: 'state.json (rewritten and fsynced at most every 25 ms while messages flow): sender; a receiver', value: `${stateKiB(room.sender)} KiB; ${stateKiB(room.receivers[0])} KiB` });
  }

  const errors = new Map<string, number>();
  for (const u of users) for (const [code, n] of u.errors) errors.set(code, (errors.get(code) ?? 0) + n);
  if (errors.size) {
    const example = users.find((u) => u.firstErrors.length)!;
    notes.push(`error events from the peers: ${[...errors].map(([c, n]) => `${c} x${n}`).join(', ')}; e.g. ${example.name}: ${example.firstErrors[0]}`);
  }
  const stray = users.filter((u) => u.peer.strayLines.length);
  if (stray.length) notes.push(`${stray.length} peers wrote lines on stdout that are not JSON answers/events, e.g. ${stray[0].name}: ${stray[0].peer.strayLines[0]}`);
  // The rooms' peers are done: stopped before the scenarios below, which have their own
  // (idle peers would share the cores; profiles are written as they exit).
  note(`stopping the rooms' ${users.length} peers`);
  await Promise.all(users.map((u) => u.peer.stop()));
  return users;
}

/** Scenarios 5-7, each once: catch-up, memory with history, the message store. Returns the rows for the second table. */
async function onceScenarios(dataRoot: string, profileDir: string | undefined, attempt: (what: string, fn: () => Promise<void>) => Promise<boolean>): Promise<ReportRow[]> {
  const rows: ReportRow[] = [];
  if (CATCH_UP || MEMORY_MESSAGES) {
    note('catch-up and memory: starting their own tracker');
    const tracker = await startTracker(t, { args: CATCH_UP_TRACKER_ARGS });
    const root = join(dataRoot, 'catch-up');
    mkdirSync(root, { recursive: true });
    for (const senderLeaves of CATCH_UP ? (flags['catch-up-departed'] ? [false, true] : [false]) : []) {
      await attempt(`catch-up of ${CATCH_UP}${senderLeaves ? ' (the sender left)' : ''}, room of ${CATCH_UP_ROOM}`, async () => {
        const r = await catchUpBench({ tracker, root, t, roomSize: CATCH_UP_ROOM, messages: CATCH_UP, concurrency: CONCURRENCY, log: note, senderLeaves, ...(senderLeaves ? { prefix: 'cd' } : {}), ...(PEER_PROGRAM ? { peerEntry: PEER_PROGRAM } : {}), ...(profileDir && !senderLeaves ? { profileDir } : {}) });
        const targeted = r.messages === 10_000 && r.roomSize === 10;
        results.push({
          ...r,
          rows: undefined,
          notes: undefined,
          scenario: senderLeaves ? '5 catch-up (sender left)' : '5 catch-up',
          roomSize: r.roomSize,
          messages: r.messages,
          p50: r.per1000.p50,
          p99: r.per1000.p90,
          max: r.per1000.max,
          all: r.allMs,
          msgsPerSec: r.msgsPerSec,
          lost: r.lost,
          target: targeted ? `all < ${CATCH_UP_TARGET_MS} ms: ${r.allMs !== null && r.allMs < CATCH_UP_TARGET_MS ? 'met' : 'MISSED'}` : `(10,000: < ${CATCH_UP_TARGET_MS} ms)`,
          definition: `from the late member's login answer until it has shown all ${r.messages}; p50/p99/max columns: time per ${r.per1000.bucket} shown (p99 is the p90 of ${r.per1000.samples.length} groups)`,
        });
        rows.push(...r.rows);
        notes.push(...r.notes);
      });
    }
    if (MEMORY_MESSAGES) {
      await attempt(`memory with ${MEMORY_MESSAGES} stored messages`, async () => {
        const m = await memoryBench({ tracker, root, t, big: MEMORY_MESSAGES, small: 1_000, log: note, ...(PEER_PROGRAM ? { peerEntry: PEER_PROGRAM } : {}) });
        rows.push(...m.rows);
        notes.push(...m.notes);
      });
    }
  }
  if (HISTORY_MESSAGES) {
    await attempt(`message store with ${HISTORY_MESSAGES} messages`, async () => {
      rows.push(...(await historyBench({ messages: HISTORY_MESSAGES, log: note, ...(QUICK ? { paced: 50, reads: 20 } : {}) })).map((r) => ({ ...r, metric: `store: ${r.metric}` })));
    });
  }
  if (SEARCH_MESSAGES) {
    await attempt(`search over ${SEARCH_MESSAGES} stored messages`, async () => {
      rows.push(...(await searchBench({ messages: SEARCH_MESSAGES, log: note, ...(QUICK ? { reps: 20, coldReps: 1 } : {}) })).map((r) => ({ ...r, metric: `search: ${r.metric.replace(/^search: /, '')}` })));
    });
  }
  if (ANCHOR) {
    await attempt('code threads placed in one file', async () => {
      rows.push(...(await anchorBench({ log: note, ...(QUICK ? { reps: 3 } : {}) })));
    });
  }
  return rows;
}

async function report_(users: User[], extraRows: ReportRow[], profileDir: string | undefined): Promise<void> {
  const order = (r: Result) => Number(r.scenario[0]) * 1000 + r.roomSize;
  results.sort((a, b) => order(a) - order(b));
  say('peer messaging (ms; p50/p99/max: latency of each delivery; all: until every member had every message,');
  say(' for paced/64 KiB the worst message; join: join_room -> first message, over repetitions;');
  say(' others: share of the machine\'s CPU used by processes outside this bench during the scenario;');
  say(' catch-up: all = the late member\'s login answer -> all missed messages shown, p50/p99/max = time per 1,000 shown (p99: their p90))');
  say(formatResults(results).trimEnd());
  say(`targets: paced ${RATE}/s in a room of ${TARGETS.pacedP99Ms.size}: p99 < ${TARGETS.pacedP99Ms.value} ms; a burst of ${TARGETS.burstAllMs.messages} to a room of ${TARGETS.burstAllMs.size}: all delivered < ${TARGETS.burstAllMs.value} ms;`);
  say(`  catch-up of 10,000 in a room of 10: < ${CATCH_UP_TARGET_MS} ms; newest page of 100,000: < 50 ms; memory must not grow with history size (but for the search index: see its own row);`);
  say(`  a search over 100,000 stored messages: < ${SEARCH_TARGET_MS} ms; reactions and edits: no measurable change in the plain messages' p99`);
  extraRows.unshift(...roomRows);
  if (extraRows.length) say(formatTable('reactions and edits vs plain messages, catch-up, memory with history, message store, search, code threads (room size and counts in each metric)', extraRows).trimEnd());
  say();
  for (const c of context) say(`${c.size ? `room of ${c.size}: ` : ''}${c.what}: ${c.value}`);
  for (const n of notes) say(`* ${n}`);

  const profiles: ProfileSummary[] = [];
  const untilAll = (r: Result) => r.scenario.startsWith('2') || r.scenario.startsWith('5');
  const rows: ReportRow[] = [
    ...results.map((r) => ({ ...r, metric: `${r.scenario}, room of ${r.roomSize}`, value: untilAll(r) ? r.all : r.p99, unit: untilAll(r) ? 'ms until all delivered' : 'ms p99' })),
    ...extraRows,
  ];
  const meta = {
    sizes: SIZES, users: USERS, paced: PACED, rate: RATE, burst: BURST, bigReps: BIG_REPS, bigBytes: BIG_BYTES, joinReps: JOIN_REPS,
    catchUp: CATCH_UP, catchUpRoom: CATCH_UP_ROOM, memoryMessages: MEMORY_MESSAGES, historyMessages: HISTORY_MESSAGES, rooms: ROOMS,
    actionsRate: ACTIONS_RATE, actionsOn: ACTIONS_ON, searchMessages: SEARCH_MESSAGES, anchor: ANCHOR,
    quick: QUICK, peerEntry: PEER_PROGRAM ?? 'peer', trackerArgs: TRACKER_ARGS, bcryptCost: BCRYPT_COST, concurrency: CONCURRENCY, targets: TARGETS, context,
    clock: 'this process: performance.now() at the write of a command and at the arrival of the chunk holding an event line',
    runtimeS: 0, profiles,
  };

  if (PROFILE && profileDir) {
    // The profiles are written when the peers exit.
    await tearDown();
    for (const file of readdirSync(profileDir).filter((f) => f.endsWith('.cpuprofile')).sort()) {
      const summary = summarizeProfile(join(profileDir, file), REPO_ROOT, 25);
      profiles.push(summary);
      say();
      say(formatProfile(file.startsWith('sender') ? 'sender' : file.startsWith('catch-up') ? 'catch-up: the late member' : 'receiver', summary).trimEnd());
    }
  }
  const totalS = (now() - benchStart) / 1000;
  meta.runtimeS = round(totalS, 1)!;
  const path = report('peer messaging', rows, JSON_PATH, { meta, notes, write: () => {} });
  say();
  say(`results written to ${path}`);
  say(`total runtime ${totalS.toFixed(1)} s; load average at the end ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
}

main()
  .catch((err) => {
    process.stderr.write(`bench failed: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exitCode = 1;
  })
  .finally(() => tearDown());
