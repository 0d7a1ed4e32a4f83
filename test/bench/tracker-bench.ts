// `npm run bench:tracker [-- --clients N --bcrypt-cost N --room-members N --cycles N --json FILE]`
//
// Load on a real `node tracker` over loopback TLS: N clients register and log in at once (bcrypt
// bound), stay online, reconnect with resume tokens after a tracker restart, and a room of 200
// members measures event fan-out. Prints a table and writes JSON (bench-results/tracker.json).
// Not a test: nothing here asserts a threshold.
//
// Client-side costs are kept out of the tracker's numbers: every bench user shares ONE pair of RSA
// keys (only the user name in the key certification differs, via makeIdentity) and ONE scrypt
// result derived with fast parameters (scrypt runs on the client; the tracker only sees the
// authKey). The bench and the tracker still share this machine's cores, so client work (TLS,
// parsing every pushed event) competes with the tracker; the tracker's own CPU time per phase is
// reported from /proc so the two can be told apart.
//
// Every client keeps itself online with its own ping every HEARTBEAT_INTERVAL_MS and a long
// timeout instead of the client's built-in heartbeat (see keepalive), and requests that wait
// behind a bcrypt herd or a reconnect storm get long timeouts: the bench measures how long they
// take and counts how many exceed the real client's and tracker's timeouts, instead of failing.

import { teardownStack } from '../helpers/teardown.ts';
import { writeFileSync, mkdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { encryptKeyBlob, createIdentityKeys, type IdentityKeys } from '../../peer/account.ts';
import type { TrackerConnection } from '../../peer/tracker-connection.ts';
import { randomBytes, toBase64Url } from '../../protocol/crypto.ts';
import { makeIdentity, type Identity } from '../../protocol/identity.ts';
import { eventHash, signRoomEvent, type RoomEvent, type RoomHead } from '../../protocol/room-log.ts';
import { HEARTBEAT_INTERVAL_MS, HEARTBEAT_TIMEOUT_MS, type TrackerEvent } from '../../protocol/tracker.ts';
import { REQUEST_TIMEOUT_MS } from '../../peer/tracker-connection.ts';
import { FAST_SCRYPT_PARAMS, cachedAccountKeys, defaultPassword, testSalt } from '../helpers/accounts.ts';
import { startTracker, type Teardown, type TrackerProcess } from '../helpers/tracker-process.ts';
import { report, type ReportRow } from './report.ts';
import { cpuMeter, cpuSplit, formatSplit, peakRssMiB, percentile, progress, rssMiB, type CpuSplit } from './stats.ts';

// ---- options -----------------------------------------------------------------------------------

const { values: flags } = parseArgs({
  options: {
    clients: { type: 'string', default: '1000' },
    'bcrypt-cost': { type: 'string', default: '12' },
    'room-members': { type: 'string', default: '200' },
    cycles: { type: 'string', default: '200' },
    json: { type: 'string', default: 'bench-results/tracker.json' },
  },
  strict: true,
});

function intFlag(name: string, raw: string, min: number): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) {
    process.stderr.write(`--${name} must be a whole number >= ${min} (got "${raw}")\n`);
    process.exit(2);
  }
  return n;
}

const N = intFlag('clients', flags.clients!, 2);
const BCRYPT_COST = intFlag('bcrypt-cost', flags['bcrypt-cost']!, 10);
const ROOM_MEMBERS = Math.min(N, intFlag('room-members', flags['room-members']!, 2));
const CYCLES = intFlag('cycles', flags.cycles!, 1);
const JSON_PATH = flags.json!;
/** The trackers' own output (one log line per login, resume, append) goes beside the JSON. */
const logPath = (k: number) => resolve(JSON_PATH.replace(/\.json$/, '') + `-output-${k}.log`);
const trackers: TrackerProcess[] = [];

/** Requests that wait behind a herd of bcrypt jobs: the bench measures their latency, it does not time them out. */
const LONG_MS = 30 * 60_000;
/** Room for N bench clients plus the watcher and the probe from 127.0.0.1 (the tracker's default is 32). */
const MAX_CONNS = 2 * N + 16;
/** The tracker's default auth timeout is 10 s; a login queued behind N bcrypt jobs takes far longer. */
const AUTH_TIMEOUT_MS = 3_600_000;
const TRACKER_ARGS = ['--bcrypt-cost', String(BCRYPT_COST), '--max-conns-per-address', String(MAX_CONNS), '--registrations-per-address', String(N + 10), '--auth-timeout', String(AUTH_TIMEOUT_MS)];
/** Over this, registration is slow enough to mention (the brief's ~5 minutes). */
const SLOW_REGISTRATION_MS = 5 * 60_000;

const benchStart = performance.now();
const now = () => performance.now();
const say = (line = '') => process.stdout.write(line + '\n');
const note = (line: string) => process.stderr.write(`[${((now() - benchStart) / 1000).toFixed(1)}s] ${line}\n`);

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
  process.stderr.write('interrupted: stopping the tracker\n');
  void tearDown().then(() => process.exit(130));
});

// ---- bench users -------------------------------------------------------------------------------

interface BenchUser {
  name: string;
  identity: Identity;
  keyBlob: string;
  conn?: TrackerConnection;
  token?: string;
}

interface Shared {
  keys: IdentityKeys;
  salt: Buffer;
  authKey: string;
  keyKey: Buffer;
  users: BenchUser[];
}

async function makeUsers(): Promise<Shared> {
  const password = defaultPassword('bench');
  const salt = testSalt('bench', password);
  const [keys, account] = await Promise.all([createIdentityKeys('bench-template'), cachedAccountKeys(password, salt, FAST_SCRYPT_PARAMS)]);
  const width = String(N).length;
  const users: BenchUser[] = [];
  for (let i = 0; i < N; i++) {
    const name = `bench-u${String(i).padStart(width, '0')}`;
    users.push({ name, identity: makeIdentity(name, keys.signing, keys.encryption), keyBlob: encryptKeyBlob(account.keyKey, name, keys) });
  }
  return { keys, salt, authKey: toBase64Url(account.authKey), keyKey: account.keyKey, users };
}

// ---- helpers -----------------------------------------------------------------------------------

/**
 * Pings every HEARTBEAT_INTERVAL_MS with a long timeout, so the tracker (which drops a client
 * silent for HEARTBEAT_TIMEOUT_MS) keeps a connection whose login waits behind a bcrypt herd. The
 * built-in heartbeat cannot be used there: its ping times out after one interval, and the tracker
 * answers a connection's requests in order, so the ping waits behind the queued login and the
 * client destroys its own link.
 */
function keepalive(conn: TrackerConnection): void {
  const timer = setInterval(() => {
    conn.request('ping', {}, { timeoutMs: LONG_MS }).catch(() => {});
  }, HEARTBEAT_INTERVAL_MS + Math.floor(Math.random() * 1000));
  timer.unref();
  conn.once('close', () => clearInterval(timer));
}

/** Resolves once `conn` closes (at once if it already has). */
function closedPromise(conn: TrackerConnection): Promise<void> {
  return new Promise((resolve) => (conn.rawSocket.destroyed && conn.closed ? resolve() : conn.once('close', () => resolve())));
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: not done within ${ms} ms`)), ms);
    }),
  ]);
}

/** Counts distinct users the watcher hears come online; resolves when all expected are. */
class OnlineWatch {
  readonly seen = new Set<string>();
  lastAt = NaN;
  private resolveAll?: () => void;
  readonly all: Promise<void>;
  private readonly tick: (done: number) => void;

  constructor(
    conn: TrackerConnection,
    private readonly expected: ReadonlySet<string>,
    label: string,
    alreadyOnline: Iterable<string> = [],
  ) {
    this.all = new Promise((resolve) => (this.resolveAll = resolve));
    this.tick = progress(label, expected.size);
    for (const u of alreadyOnline) if (expected.has(u)) this.seen.add(u);
    conn.on('event', (e: TrackerEvent) => {
      if (e.event !== 'presence' || !e.online || !this.expected.has(e.user) || this.seen.has(e.user)) return;
      this.seen.add(e.user);
      this.lastAt = now();
      this.tick(this.seen.size);
      if (this.seen.size === this.expected.size) this.resolveAll!();
    });
    if (this.seen.size === this.expected.size) this.resolveAll!();
  }
}

/** Runs `fn` every `everyMs` (after the previous one finished) until stopped; collects latencies. */
function probe(fn: () => Promise<unknown>, everyMs: number): { samples: number[]; stop(): Promise<void> } {
  const samples: number[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const start = now();
      try {
        await fn();
        samples.push(now() - start);
      } catch {
        if (stopped) break;
      }
      await sleep(everyMs);
    }
  })();
  return {
    samples,
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

const firstError = (results: PromiseSettledResult<unknown>[]): string | undefined => {
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  return failed ? String((failed.reason as Error)?.message ?? failed.reason) : undefined;
};

const round = (x: number | null, digits = 1) => (x === null || !Number.isFinite(x) ? null : Number(x.toFixed(digits)));

// ---- phases ------------------------------------------------------------------------------------

const rows: ReportRow[] = [];
const notes: string[] = [];
/** Cores other processes used during each measured phase: a busy machine makes the wall-clock rows pessimistic. */
const otherLoad: { phase: string; other: number }[] = [];
const split = (phase: string, value: CpuSplit | null): string | null => {
  if (value) otherLoad.push({ phase, other: value.other });
  return formatSplit(value, 'tracker');
};
const loadAtStart = loadavg()[0];
const row = (phase: string, metric: string, value: number | string | null, unit: string, extra: Partial<ReportRow> = {}) =>
  rows.push({ phase, metric, value, unit, ...extra });

async function main(): Promise<void> {
  say(`tracker benchmark: ${N} clients, bcrypt cost ${BCRYPT_COST}, a room of ${ROOM_MEMBERS} members, ${CYCLES} leave/join cycles`);
  say(`tracker flags: ${TRACKER_ARGS.join(' ')}`);
  say(`  --max-conns-per-address ${MAX_CONNS}: all ${N} clients connect from 127.0.0.1 (the tracker's default allows 32 per address)`);
  say(`  --registrations-per-address ${N + 10}: all ${N} accounts are created from 127.0.0.1 (the default allows 100 an hour)`);
  say(`  --auth-timeout ${AUTH_TIMEOUT_MS}: with the default 10 s, logins queued behind ${N} bcrypt jobs would be cut off`);
  say(`  heartbeat timeout left at the tracker's default ${HEARTBEAT_TIMEOUT_MS} ms`);
  say('client keys: ONE pair of RSA-2048 keys shared by every bench user (makeIdentity certifies it per user name),');
  say(`  ONE scrypt result with fast parameters (N=${FAST_SCRYPT_PARAMS.N}; scrypt is client-side cost, the tracker sees only the authKey)`);
  say(`keepalive: every client pings every ${HEARTBEAT_INTERVAL_MS} ms (the client's interval) with a long timeout, not with the`);
  say('  built-in heartbeatMs: its ping times out after one interval and waits behind a slow login or resume on the tracker,');
  say('  so under load the client would destroy its own link (the bench counts how many requests exceed the client\'s timeouts)');
  say('all traffic on loopback (127.0.0.1)');
  say();

  note('deriving the shared keys and making the users');
  const shared = await makeUsers();
  const { users } = shared;
  const userNames = new Set(users.map((u) => u.name));

  // -- start ---------------------------------------------------------------------------------------
  note('starting the tracker');
  let startAt = now();
  const tracker1 = await startTracker(t, { args: TRACKER_ARGS });
  trackers.push(tracker1);
  row('start', 'tracker start (spawn to ready, new database)', round(now() - startAt, 0), 'ms');
  const pid1 = tracker1.child.pid!;
  await sleep(500);
  row('memory', 'tracker RSS idle after start', round(rssMiB(pid1)), 'MiB');

  // The watcher counts presence events (it is not one of the N); the probe measures how long a
  // database read (prelogin) waits while the login herd runs.
  const watcherName = 'bench-watch';
  const watcherIdentity = makeIdentity(watcherName, shared.keys.signing, shared.keys.encryption);
  const watcher1 = await tracker1.connect({ heartbeatMs: 0, requestTimeoutMs: LONG_MS });
  keepalive(watcher1);
  await watcher1.request('register', {
    user: watcherName,
    salt: toBase64Url(shared.salt),
    authKey: shared.authKey,
    identity: watcherIdentity,
    keyBlob: encryptKeyBlob(shared.keyKey, watcherName, shared.keys),
  });
  const watcherToken = (await watcher1.request('login', { user: watcherName, authKey: shared.authKey, peerPort: 0 })).token;
  const probeConn = await tracker1.connect({ heartbeatMs: 0, requestTimeoutMs: LONG_MS });
  keepalive(probeConn);

  // -- connect and register ------------------------------------------------------------------------
  note(`connecting ${N} clients`);
  let at = now();
  const connected = await Promise.allSettled(
    users.map(async (u) => {
      u.conn = await tracker1.connect({ heartbeatMs: 0, requestTimeoutMs: LONG_MS, timeoutMs: 120_000 });
      keepalive(u.conn);
    }),
  );
  const connectFailures = connected.filter((r) => r.status === 'rejected').length;
  if (connectFailures) throw new Error(`${connectFailures} of ${N} clients could not connect: ${firstError(connected)}`);
  row('register', `connect ${N} clients at once (TLS)`, round(now() - at, 0), 'ms');

  note(`registering ${N} users at once (bcrypt cost ${BCRYPT_COST})`);
  const regTick = progress('registered', N);
  let registered = 0;
  const regCpu = cpuMeter(pid1);
  const regSplit = cpuSplit(pid1);
  at = now();
  const regResults = await Promise.allSettled(
    users.map(async (u) => {
      await u.conn!.request(
        'register',
        { user: u.name, salt: toBase64Url(shared.salt), authKey: shared.authKey, identity: u.identity, keyBlob: u.keyBlob },
        { timeoutMs: LONG_MS },
      );
      regTick(++registered);
    }),
  );
  const regMs = now() - at;
  const regFailures = regResults.filter((r) => r.status === 'rejected').length;
  if (regFailures) throw new Error(`${regFailures} of ${N} registrations failed: ${firstError(regResults)}`);
  row('register', 'registrations per second', round((N / regMs) * 1000, 2), '/s', { note: `${N} at once, cost ${BCRYPT_COST}` });
  row('register', 'registration of all users', round(regMs / 1000), 's');
  row('register', 'tracker CPU during registration', round(regCpu(), 1), 's');
  row('register', 'CPU split during registration', split('registration', regSplit()), 'cores');
  if (regMs > SLOW_REGISTRATION_MS) {
    notes.push(`registering ${N} users at bcrypt cost ${BCRYPT_COST} took ${(regMs / 1000).toFixed(0)} s (over 5 minutes on this machine); the login measurement still uses cost ${BCRYPT_COST}`);
  }

  // -- login herd ----------------------------------------------------------------------------------
  note('prelogin for every user');
  const salts = await Promise.all(users.map((u) => u.conn!.request('prelogin', { user: u.name }, { timeoutMs: LONG_MS })));
  if (salts.some((s) => s.salt !== toBase64Url(shared.salt))) throw new Error('prelogin returned another salt');

  const watch1 = new OnlineWatch(watcher1, userNames, 'online (watcher, login)');
  const dbProbe = probe(() => probeConn.request('prelogin', { user: users[0].name }, { timeoutMs: LONG_MS }), 250);
  const pingProbe = probe(() => watcher1.request('ping', {}, { timeoutMs: LONG_MS }), 250);
  note(`logging in ${N} users at once with their password (bcrypt cost ${BCRYPT_COST})`);
  const loginTick = progress('logged in', N);
  let loggedIn = 0;
  const loginLatency: number[] = [];
  let lastLoginAt = 0;
  const loginCpu = cpuMeter(pid1);
  const loginSplit = cpuSplit(pid1);
  const herdStart = now();
  const loginResults = await Promise.allSettled(
    users.map(async (u) => {
      const start = now();
      const session = await u.conn!.request('login', { user: u.name, authKey: shared.authKey, peerPort: 0 }, { timeoutMs: LONG_MS });
      lastLoginAt = now();
      loginLatency.push(lastLoginAt - start);
      if (session.identity.signingKey !== u.identity.signingKey) throw new Error(`login of ${u.name} returned another identity`);
      u.token = session.token;
      loginTick(++loggedIn);
    }),
  );
  const herdMs = lastLoginAt - herdStart;
  const loginCpuS = loginCpu();
  const loginSplitNow = loginSplit();
  await Promise.all([dbProbe.stop(), pingProbe.stop()]);
  const loginFailures = loginResults.filter((r) => r.status === 'rejected').length;
  if (loginFailures) notes.push(`${loginFailures} of ${N} logins failed: ${firstError(loginResults)}`);
  row('login', 'logins per second', round((loggedIn / herdMs) * 1000, 2), '/s', { note: `${N} at once, cost ${BCRYPT_COST}` });
  row('login', 'first login answered after', round(percentile(loginLatency, 0), 0), 'ms');
  row('login', 'login latency p50', round(percentile(loginLatency, 50), 0), 'ms');
  row('login', 'login latency p99', round(percentile(loginLatency, 99), 0), 'ms');
  row('login', 'logins slower than the default auth timeout (10 s)', round((loginLatency.filter((x) => x > 10_000).length / N) * 100, 1), '%');
  row('login', 'tracker CPU during the login herd', round(loginCpuS, 1), 's');
  row('login', 'tracker CPU per login (bcrypt included)', loginCpuS === null ? null : round((loginCpuS / N) * 1000, 1), 'ms', {
    note: 'logins/s on an otherwise idle machine ~ cores x 1000 / this',
  });
  row('login', 'CPU split during the login herd', split('login herd', loginSplitNow), 'cores');
  row('login', 'prelogin (DB read) during the herd p50', round(percentile(dbProbe.samples, 50), 0), 'ms', { note: `${dbProbe.samples.length} samples` });
  row('login', 'prelogin (DB read) during the herd max', round(percentile(dbProbe.samples, 100), 0), 'ms');
  row('login', 'ping (event loop) during the herd p99', round(percentile(pingProbe.samples, 99), 1), 'ms', { note: `${pingProbe.samples.length} samples` });
  if (loginFailures) row('login', 'failed logins', loginFailures, '');
  const online = users.filter((u) => u.token);
  const onlineNames = new Set(online.map((u) => u.name));

  await withTimeout(
    new Promise<void>((resolve) => {
      const check = () => (online.every((u) => watch1.seen.has(u.name)) ? resolve() : setTimeout(check, 100));
      check();
    }),
    60_000,
    'the watcher hearing every login',
  );
  await sleep(1000);
  row('memory', `tracker RSS with ${online.length} online`, round(rssMiB(pid1)), 'MiB');
  const peak1 = peakRssMiB(pid1);

  // -- restart and resume --------------------------------------------------------------------------
  note('restarting the tracker (SIGTERM, then start on the same folder)');
  const allClosed = Promise.all([...users.map((u) => (u.conn ? closedPromise(u.conn) : undefined)), closedPromise(watcher1), closedPromise(probeConn)]);
  at = now();
  const exitCode = await tracker1.stop();
  row('restart', `shutdown with ${online.length} online (SIGTERM to exit)`, round(now() - at, 0), 'ms', { note: `exit code ${exitCode}` });
  await withTimeout(allClosed, 30_000, 'clients noticing the shutdown');

  startAt = now();
  const tracker2 = await startTracker(t, { dir: tracker1.dir, args: TRACKER_ARGS });
  trackers.push(tracker2);
  const readyAt = now();
  row('restart', 'tracker start (spawn to ready, existing database)', round(readyAt - startAt, 0), 'ms');
  const pid2 = tracker2.child.pid!;
  const resumeCpu = cpuMeter(pid2);
  const resumeSplit = cpuSplit(pid2);

  note(`${online.length} clients reconnect with their resume tokens`);
  const watcher2 = await tracker2.connect({ heartbeatMs: 0, requestTimeoutMs: LONG_MS });
  keepalive(watcher2);
  await watcher2.request('resume', { token: watcherToken, peerPort: 0 });
  const watch2 = new OnlineWatch(watcher2, onlineNames, 'online again (watcher)');
  const connectLatency: number[] = [];
  const resumeLatency: number[] = [];
  const resumeTick = progress('resumed', online.length);
  let resumedCount = 0;
  const resumeResults = await Promise.allSettled(
    online.map(async (u) => {
      let start = now();
      const conn = await tracker2.connect({ heartbeatMs: 0, requestTimeoutMs: LONG_MS, timeoutMs: 120_000 });
      keepalive(conn);
      connectLatency.push(now() - start);
      start = now();
      const session = await conn.request('resume', { token: u.token!, peerPort: 0 });
      resumeLatency.push(now() - start);
      resumeTick(++resumedCount);
      if (session.user !== u.name) throw new Error(`resume of ${u.name} answered for ${session.user}`);
      u.conn = conn;
    }),
  );
  const lastResumeAt = now();
  const resumeFailures = resumeResults.filter((r) => r.status === 'rejected').length;
  if (resumeFailures) {
    notes.push(`${resumeFailures} of ${online.length} resumes failed: ${firstError(resumeResults)}`);
    row('resume', 'failed resumes', resumeFailures, '');
  }
  const resumed = online.filter((_, i) => resumeResults[i].status === 'fulfilled');
  await withTimeout(
    new Promise<void>((resolve) => {
      const check = () => (resumed.every((u) => watch2.seen.has(u.name)) ? resolve() : setTimeout(check, 50));
      check();
    }),
    60_000,
    'the watcher hearing every resume',
  );
  const resumeCpuS = resumeCpu();
  const resumeSplitNow = resumeSplit();
  row('resume', `ready until all ${resumed.length} online again (watcher's presence events)`, round(watch2.lastAt - readyAt, 0), 'ms');
  row('resume', 'ready until the last resume answer', round(lastResumeAt - readyAt, 0), 'ms');
  row('resume', 'connect (TCP + TLS) p50', round(percentile(connectLatency, 50), 0), 'ms');
  row('resume', 'connect (TCP + TLS) p99', round(percentile(connectLatency, 99), 0), 'ms');
  row('resume', 'resume request p50', round(percentile(resumeLatency, 50), 0), 'ms');
  row('resume', 'resume request p99', round(percentile(resumeLatency, 99), 0), 'ms');
  row('resume', `resumes slower than the client's request timeout (${REQUEST_TIMEOUT_MS / 1000} s)`, resumeLatency.filter((x) => x > REQUEST_TIMEOUT_MS).length, '', {
    note: 'the bench waits; the real client would give up',
  });
  row('resume', 'tracker CPU during the reconnect storm', round(resumeCpuS, 2), 's');
  row('resume', 'tracker CPU per resume', resumeCpuS === null ? null : round((resumeCpuS / resumed.length) * 1000, 2), 'ms', {
    note: 'each resume pushes presence to every online client and answers with every online peer',
  });
  row('resume', 'CPU split during the reconnect storm', split('reconnect storm', resumeSplitNow), 'cores');
  // list_peers answers a page at a time: follow `next`.
  let listed = 0;
  for (let after: string | undefined, page; ; after = page.next) {
    page = await watcher2.request('list_peers', { online: true, ...(after !== undefined ? { after } : {}) });
    listed += page.peers.length;
    if (page.next === undefined) break;
  }
  row('resume', 'users the tracker lists as online', listed, '', { note: `expected ${resumed.length} + the watcher` });
  await sleep(1000);
  row('memory', `tracker RSS with ${resumed.length} online after the restart`, round(rssMiB(pid2)), 'MiB');

  // -- room fan-out --------------------------------------------------------------------------------
  if (resumed.length < ROOM_MEMBERS) throw new Error(`only ${resumed.length} clients are online; the room needs ${ROOM_MEMBERS}`);
  const members = resumed.slice(0, ROOM_MEMBERS);
  const memberSet = new Set(members);
  const signingKey = shared.keys.signing.privateKey;
  note(`making a room of ${ROOM_MEMBERS} members (create + ${ROOM_MEMBERS - 1} signed joins)`);
  const create = signRoomEvent(
    { v: 1, room: '', seq: 0, prev: '', type: 'create', actor: members[0].name, time: Date.now(), name: 'bench-fanout', private: false, salt: toBase64Url(randomBytes(16)) },
    signingKey,
  );
  at = now();
  const created = await members[0].conn!.request('create_room', { event: create }, { timeoutMs: LONG_MS });
  row('fan-out', 'setup: create_room round trip', round(now() - at, 1), 'ms');
  const roomId = created.room.id;
  let head: RoomHead = created.room.head;
  // Each member's latest seq of this room, to wait for the setup to reach everyone.
  const seenSeq = new Map<BenchUser, number>();
  for (const m of members) {
    m.conn!.on('event', (e) => {
      if (e.event === 'room_event' && e.room.id === roomId) seenSeq.set(m, Math.max(seenSeq.get(m) ?? -1, e.entry.seq));
    });
  }
  const joinTick = progress('joined', ROOM_MEMBERS - 1);
  const joinLatency: number[] = [];
  at = now();
  for (let i = 1; i < members.length; i++) {
    const event = signRoomEvent({ v: 1, room: roomId, seq: head.seq + 1, prev: head.hash, type: 'join', actor: members[i].name, time: Date.now() }, signingKey);
    const start = now();
    const answer = await members[i].conn!.request('append', { event }, { timeoutMs: LONG_MS });
    joinLatency.push(now() - start);
    if (answer.room.head.hash !== eventHash(event)) throw new Error('the room head is not the join just appended');
    head = answer.room.head;
    joinTick(i);
  }
  row('fan-out', 'setup: sequential joins (append round trip) p50', round(percentile(joinLatency, 50), 1), 'ms', { note: `${online.length} connections hear each` });
  await withTimeout(
    new Promise<void>((resolve) => {
      const check = () => (members.every((m) => (seenSeq.get(m) ?? -1) >= head.seq) ? resolve() : setTimeout(check, 50));
      check();
    }),
    60_000,
    'the room setup reaching every member',
  );

  // The chain is signed in advance so the client's RSA signing stays out of the measurement.
  const actor = members[1];
  const chain: RoomEvent[] = [];
  let prev = head;
  for (let k = 0; k < 2 * CYCLES; k++) {
    const event = signRoomEvent(
      { v: 1, room: roomId, seq: prev.seq + 1, prev: prev.hash, type: k % 2 === 0 ? 'leave' : 'join', actor: actor.name, time: Date.now() },
      signingKey,
    );
    chain.push(event);
    prev = { seq: event.seq, hash: eventHash(event) };
  }
  const firstSeq = chain[0].seq;
  const deliveries = new Array<number>(chain.length).fill(0);
  const sentAt = new Array<number>(chain.length).fill(NaN);
  const doneAt = new Array<number>(chain.length).fill(NaN);
  const appendLatency: number[] = [];
  let complete = 0;
  let otherFrames = 0;
  let resolveDelivered!: () => void;
  const delivered = new Promise<void>((resolve) => (resolveDelivered = resolve));
  for (const m of members) {
    m.conn!.on('event', (e) => {
      if (e.event !== 'room_event' || e.room.id !== roomId) return;
      const k = e.entry.seq - firstSeq;
      if (k < 0 || k >= chain.length) return;
      if (++deliveries[k] === members.length) {
        doneAt[k] = now();
        if (++complete === chain.length) resolveDelivered();
      }
    });
  }
  for (const u of [...resumed.filter((u) => !memberSet.has(u))]) {
    u.conn!.on('event', (e) => {
      if (e.event === 'room_listed' && e.room.id === roomId) otherFrames++;
    });
  }
  note(`fan-out: ${CYCLES} leave/join cycles (${chain.length} events) by ${actor.name}, each to ${members.length} members`);
  const fanTick = progress('appended', chain.length);
  const fanCpu = cpuMeter(pid2);
  const fanSplit = cpuSplit(pid2);
  const fanStart = now();
  for (let k = 0; k < chain.length; k++) {
    sentAt[k] = now();
    await actor.conn!.request('append', { event: chain[k] }, { timeoutMs: LONG_MS });
    appendLatency.push(now() - sentAt[k]);
    fanTick(k + 1);
  }
  await withTimeout(delivered, 120_000, 'every room event reaching every member');
  const fanMs = Math.max(...doneAt) - fanStart;
  const fanCpuS = fanCpu();
  const fanSplitNow = fanSplit();
  const perEvent = doneAt.map((d, k) => d - sentAt[k]);
  const totalDeliveries = chain.length * members.length;
  await sleep(200);
  row('fan-out', 'room_event deliveries per second', round((totalDeliveries / fanMs) * 1000, 0), '/s', { note: `${totalDeliveries} to ${members.length} members` });
  row('fan-out', 'room events per second (appended and delivered)', round((chain.length / fanMs) * 1000, 1), '/s');
  row('fan-out', `time for one event to reach all ${members.length} p50`, round(percentile(perEvent, 50), 1), 'ms');
  row('fan-out', `time for one event to reach all ${members.length} p99`, round(percentile(perEvent, 99), 1), 'ms');
  row('fan-out', 'append round trip p50', round(percentile(appendLatency, 50), 1), 'ms');
  row('fan-out', 'tracker CPU per room event', fanCpuS === null ? null : round((fanCpuS / chain.length) * 1000, 2), 'ms', {
    note: `also sends room_listed to the ${resumed.length - members.length} non-members + the watcher (${otherFrames} received by non-members)`,
  });
  row('fan-out', 'room_event deliveries per tracker CPU second', fanCpuS ? round(totalDeliveries / fanCpuS, 0) : null, '/s', {
    note: 'the rate with a whole core for the tracker',
  });
  row('fan-out', 'CPU split during the fan-out', split('fan-out', fanSplitNow), 'cores');
  row('memory', 'tracker RSS after the fan-out', round(rssMiB(pid2)), 'MiB');
  const peak2 = peakRssMiB(pid2);
  row('memory', 'tracker peak RSS, first process (VmHWM)', round(peak1), 'MiB', { note: 'registration + login herd' });
  row('memory', 'tracker peak RSS, restarted process (VmHWM)', round(peak2), 'MiB', { note: 'reconnect storm + fan-out' });

  note('stopping the tracker');
  await tracker2.stop();
}

let failed: unknown;
try {
  await main();
} catch (err) {
  failed = err;
}
for (const [i, tr] of trackers.entries()) {
  try {
    mkdirSync(dirname(logPath(i + 1)), { recursive: true });
    writeFileSync(logPath(i + 1), tr.output());
  } catch (err) {
    process.stderr.write(`could not save the tracker's output: ${(err as Error).message}\n`);
  }
}
await tearDown();
const totalS = (now() - benchStart) / 1000;
if (failed) {
  process.stderr.write(`benchmark failed after ${totalS.toFixed(0)} s: ${(failed as Error)?.stack ?? failed}\n`);
  if (rows.length) process.stderr.write('partial results:\n');
}
row('total', 'benchmark runtime', round(totalS, 0), 's');
const busy = otherLoad.filter((o) => o.other >= 0.25);
if (busy.length) {
  notes.push(
    `the machine was shared: other processes used ${busy.map((o) => `${o.other.toFixed(2)} cores during the ${o.phase}`).join(', ')} ` +
      `(load average ${loadAtStart.toFixed(1)} at the start, ${loadavg()[0].toFixed(1)} at the end); wall-clock rates and latencies are lower ` +
      'bounds for a dedicated machine, the "tracker CPU" rows are not affected',
  );
}
notes.push(
  `tracker flags: ${TRACKER_ARGS.join(' ')} (connection limit raised for ${N} loopback clients; auth timeout raised for the login herd)`,
  'every bench user shares one RSA key pair set (certified per name by makeIdentity) and one scrypt result with fast parameters: client-side cost, not the tracker\'s',
  `the trackers' own output: ${trackers.map((_, i) => logPath(i + 1)).join(', ')}`,
  'the bench clients run on the same cores as the tracker; "tracker CPU" rows are the tracker process\'s own CPU time (/proc); "CPU split" rows are average cores used by the tracker, the bench process, other processes on the machine, and idle',
);
report(`Tracker benchmark (${N} clients, bcrypt cost ${BCRYPT_COST})`, rows, JSON_PATH, {
  meta: { loadAverage: { start: loadAtStart, end: loadavg()[0] }, otherCores: otherLoad, clients: N, bcryptCost: BCRYPT_COST, roomMembers: ROOM_MEMBERS, cycles: CYCLES, trackerArgs: TRACKER_ARGS, failed: failed ? String((failed as Error)?.message ?? failed) : undefined },
  notes,
});
process.exit(failed ? 1 : 0);
