// Issue 7, the security tester's holes in the tracker's bounds: a flood of connections from many
// addresses (--max-pending-conns, eviction of the biggest holder's oldest, the open-file limit),
// a flood of failed TLS handshakes in the log, requests without logging in, registrations refused
// for a taken name using up an address's quota, join/leave churn growing a room's log
// (--room-joins-per-day, --max-room-log), and the data folder's modes under a permissive umask.
// Each test runs real `node tracker` processes on loopback; other loopback addresses stand for
// other machines.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toBase64Url } from '../../protocol/crypto.ts';
import type { ProtocolError } from '../../protocol/errors.ts';
import { MAX_REQUESTS_BEFORE_LOGIN } from '../../protocol/tracker.ts';
import { FAST_SCRYPT_PARAMS, registerUser } from '../helpers/accounts.ts';
import { expectCode, nextEvent } from '../helpers/events.ts';
import { FAST_TRACKER_ARGS, REPO_ROOT, restartTracker, startTracker } from '../helpers/tracker-process.ts';
import { appendEvent, createRoom, expectServing, headOf, join as joinRoom, leave, onlineMember, reconnectMember, startRamTracker, uniqueName, warmUp } from '../helpers/rooms.ts';

const FAST = { scryptParams: FAST_SCRYPT_PARAMS };

/**
 * Keeps `perAddress` raw TCP connections (no TLS) open from `address`, opening a new one whenever
 * one is closed, as the tester's flood did. Returns how many are open now and a stop function.
 */
function flood(t: { after(fn: () => unknown): void }, port: number, address: string, perAddress: number) {
  const open = new Set<net.Socket>();
  let closedByTracker = 0;
  let stopped = false;
  let firstClose!: () => void;
  const cut = new Promise<void>((resolve) => (firstClose = resolve));
  const connect = () => {
    if (stopped) return;
    const socket = net.connect({ host: '127.0.0.1', port, localAddress: address });
    open.add(socket);
    socket.on('error', () => {});
    socket.once('close', () => {
      open.delete(socket);
      if (stopped) return;
      closedByTracker++;
      firstClose();
      setImmediate(connect);
    });
  };
  for (let i = 0; i < perAddress; i++) connect();
  const stop = () => {
    stopped = true;
    for (const s of open) s.destroy();
  };
  t.after(stop);
  return { open: () => [...open].filter((s) => !s.connecting && !s.destroyed).length, closed: () => closedByTracker, cut, stop };
}

test('F2: a flood from many addresses at --max-pending-conns evicts the biggest holders; a real client logs in meanwhile, and nobody logged in is evicted', async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS, '--max-pending-conns', '20', '--max-conns-per-address', '8'] });
  const member = await onlineMember(tracker, 'stays');
  await warmUp('newcomer');
  // Five addresses hold 8 each (16 would pass the per-address limit): 40 for 20 slots.
  const floods = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6'].map((a) => flood(t, tracker.port, a, 8));
  await tracker.waitForOutput(/warn connection evicted: too many connections not logged in address=127\.0\.0\.[2-6]/);
  // Every address has been cut down while the flood reconnects: the slots are shared.
  await Promise.all(floods.map((f) => f.cut));
  // A newcomer from another address gets a slot, finishes TLS and logs in during the flood.
  const conn = await tracker.connect({ heartbeatMs: 0, localAddress: '127.0.0.7' });
  const user = await registerUser(conn, 'newcomer', FAST);
  const session = await conn.request('login', { user: 'newcomer', authKey: toBase64Url(user.keys.authKey), peerPort: 0 });
  assert.equal(session.user, 'newcomer');
  // The logged-in member was never evicted.
  await member.conn.request('ping', {});
  const held = floods.reduce((n, f) => n + f.open(), 0);
  t.diagnostic(`flood sockets open at the end: ${held}; closed by the tracker: ${floods.map((f) => f.closed()).join(', ')}`);
  for (const f of floods) f.stop();
  await expectServing(tracker);
});

test('F2: idle connections from more addresses than --max-pending-conns go before a client that sent prelogin and is deriving its key; it then logs in', async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS, '--max-pending-conns', '20', '--max-conns-per-address', '8'] });
  const setup = await tracker.connect({ heartbeatMs: 0 });
  const user = await registerUser(setup, 'patient', FAST);
  await setup.close();
  // The client asks for its salt at once, then (as with a real scrypt of about a second) waits.
  const conn = await tracker.connect({ heartbeatMs: 0, localAddress: '127.0.0.7' });
  const { salt } = await conn.request('prelogin', { user: 'patient' });
  assert.equal(salt, toBase64Url(user.salt));
  // 30 addresses, one idle connection each, reopened as soon as it is cut: 31 for 20 slots, and
  // every address holds one, so the oldest (the waiting client's, before) was the one to go.
  const addresses = Array.from({ length: 30 }, (_, i) => `127.0.1.${i + 2}`);
  const floods = addresses.map((a) => flood(t, tracker.port, a, 1));
  // Every flooding address has been cut at least once: the slots went round past the client.
  await Promise.all(floods.map((f) => f.cut));
  assert.equal(conn.closed, false, 'the client that spoke was not evicted');
  const session = await conn.request('login', { user: 'patient', authKey: toBase64Url(user.keys.authKey), peerPort: 0 });
  assert.equal(session.user, 'patient');
  t.diagnostic(`closed by the tracker: ${floods.reduce((n, f) => n + f.closed(), 0)} flood connections`);
  for (const f of floods) f.stop();
  await expectServing(tracker);
});

test('F2: under ulimit -n 100 the tracker lowers --max-pending-conns to a quarter of the open-file limit', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'p2p-chat-ulimit-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const child = spawn('sh', ['-c', `ulimit -n 100 && exec "${process.execPath}" tracker --host 127.0.0.1 --port 0 --db "${join(dir, 'tracker.db')}" --bcrypt-cost 10`], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c));
  child.stderr.on('data', (c: Buffer) => (output += c));
  await new Promise<void>((resolve, reject) => {
    const check = () => (/\nready\n/.test(output) ? resolve() : undefined);
    child.stdout.on('data', check);
    child.once('exit', (code) => reject(new Error(`the tracker exited (${code}): ${output}`)));
  });
  assert.match(output, /connections not logged in limited by the open-file limit \(ulimit -n\) max-pending-conns=25/);
  child.kill('SIGTERM');
  await once(child, 'exit');
});

test('F3: a flood of failed TLS handshakes from one address writes one log line per 10 s, not one per handshake', async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const garbage = Buffer.from('GET / HTTP/1.1\r\n\r\n');
  for (let i = 0; i < 60; i++) {
    const socket = net.connect({ host: tracker.host, port: tracker.port, localAddress: '127.0.0.8' });
    socket.on('error', () => {});
    socket.once('connect', () => socket.write(garbage));
    await once(socket, 'close');
  }
  await expectServing(tracker);
  const lines = tracker.output().split('\n').filter((l) => /TLS handshake failed address=127\.0\.0\.8/.test(l));
  assert.equal(lines.length, 1, lines.join('\n'));
});

test(`a connection that sends ${MAX_REQUESTS_BEFORE_LOGIN} requests without logging in is closed with rate_limited and the reason; pings do not count`, async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const conn = await tracker.connect({ heartbeatMs: 0 });
  for (let i = 0; i < MAX_REQUESTS_BEFORE_LOGIN * 2; i++) await conn.request('ping', {});
  for (let i = 0; i < MAX_REQUESTS_BEFORE_LOGIN; i++) await conn.request('prelogin', { user: `name${i}` });
  const closing = nextEvent(conn, 'closing');
  const err = await expectCode(conn.request('prelogin', { user: 'onemore' }), 'rate_limited');
  assert.match(err.message, /requests without logging in.*reconnect and log in/);
  assert.equal((await closing).code, 'rate_limited');
  await tracker.waitForOutput(/warn closed a connection address=127\.0\.0\.1 code=rate_limited/);
  await expectServing(tracker);
});

test('refused logins from one address are logged at most 20 per 10 s, not one line each', async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS, '--failed-login-delay', '600000'] });
  // Past the pair's free tries the refusals are cheap (no bcrypt): what a log flood would use.
  const conn = await tracker.connect({ heartbeatMs: 0, localAddress: '127.0.0.10' });
  for (let i = 0; i < 45; i++) await conn.request('login', { user: 'someone', authKey: toBase64Url(Buffer.alloc(32, i)), peerPort: 0 }).catch(() => {});
  await expectServing(tracker);
  const lines = tracker.output().split('\n').filter((l) => /login refused .*address=127\.0\.0\.10/.test(l));
  assert.equal(lines.length, 20, lines.join('\n'));
});

test('F6: refused registrations (a taken name) use none of the address quota; only created accounts count', async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS, '--registrations-per-address', '3'] });
  await registerUser(await tracker.connect(), 'taken', FAST);
  for (let i = 0; i < 3; i++) {
    const conn = await tracker.connect({ localAddress: '127.0.0.9' });
    for (let j = 0; j < 10; j++) await expectCode(registerUser(conn, 'taken', FAST), 'auth.user_exists');
    await conn.close();
  }
  // A colleague at that address still creates accounts, up to the quota.
  const conn = await tracker.connect({ localAddress: '127.0.0.9' });
  for (const name of ['colla', 'collb', 'collc']) await registerUser(conn, name, FAST);
  const err = await expectCode(registerUser(conn, 'colld', FAST), 'rate_limited');
  assert.match(err.message, /too many new accounts from 127\.0\.0\.9/);
});

test('F4: --room-joins-per-day bounds one member\'s join/leave churn in one room; leaving always works; another room is not affected', async (t) => {
  const tracker = await startRamTracker(t, ['--room-joins-per-day', '3']);
  const [owner, churner] = await Promise.all(['owner', 'churner'].map((u) => onlineMember(tracker, u)));
  const room = await createRoom(owner!, uniqueName('churn'));
  const other = await createRoom(owner!, uniqueName('other'));
  // The third leave comes after the day's last join: leaving needs no allowance.
  for (let i = 0; i < 3; i++) {
    await joinRoom(churner!, room);
    await leave(churner!, room);
  }
  const before = await headOf(owner!.conn, room.id);
  const err = await expectCode(joinRoom(churner!, room), 'rate_limited');
  assert.match(err.message, /you joined room churn\d+ 3 times within a day.*try again in \d+ min/);
  assert.ok((err as ProtocolError).retryAfterMs! > 0);
  assert.deepEqual(await headOf(owner!.conn, room.id), before, 'the refused join was not stored');
  await joinRoom(churner!, other);
  await leave(churner!, other);
  // A restart does not give the day's allowance back: the stored joins are counted again.
  await churner!.conn.close();
  await owner!.conn.close();
  const again = await restartTracker(t, tracker, { args: [...FAST_TRACKER_ARGS, '--room-joins-per-day', '3'] });
  const back = await reconnectMember(again, 'churner');
  await expectCode(joinRoom(back, room), 'rate_limited');
});

test('F4: past --max-room-log only leave, kick and close are accepted; joins get quota.exceeded saying what to do', async (t) => {
  const tracker = await startRamTracker(t, ['--max-room-log', '4']);
  const [owner, a, b, c, d] = await Promise.all(['logowner', 'loga', 'logb', 'logc', 'logd'].map((u) => onlineMember(tracker, u)));
  const room = await createRoom(owner!, uniqueName('full'));
  await joinRoom(a!, room);
  await joinRoom(b!, room);
  await joinRoom(c!, room); // the 4th event: the log is full
  const err = await expectCode(joinRoom(d!, room), 'quota.exceeded');
  assert.match(err.message, /has 4 events in its log, the most this tracker keeps \(4\); members can still leave\. Create a new room to go on, or ask the tracker admin/);
  await leave(a!, room);
  await appendEvent(owner!, room, 'kick', { subject: 'logb' });
  await appendEvent(owner!, room, 'close');
  assert.equal((await owner!.conn.request('room_log', { room: room.id, from: 0 })).events.length, 7);
});

test('F8: under umask 000 the folder the tracker creates is 0700 and its certificate 0644', async (t) => {
  const base = await mkdtemp(join(tmpdir(), 'p2p-chat-umask-'));
  t.after(() => rm(base, { recursive: true, force: true }));
  const preload = join(base, 'umask.cjs');
  writeFileSync(preload, 'process.umask(0);\n');
  const data = join(base, 'data', 'tracker');
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS, '--db', join(data, 'tracker.db')], env: { NODE_OPTIONS: `--require ${preload}` } });
  const mode = (p: string) => statSync(p).mode & 0o777;
  assert.equal(mode(join(base, 'data')), 0o700);
  assert.equal(mode(data), 0o700);
  assert.equal(mode(join(data, 'tracker-cert.pem')), 0o644);
  for (const f of ['tracker-key.pem', 'tracker.secret', 'tracker.db']) assert.equal(mode(join(data, f)), 0o600, f);
  await expectServing(tracker);
});
