// The tracker's bounds (DESIGN.md "Tracker": unauthenticated connections have a short deadline;
// frames and connections per address are bounded; each connection has a bounded outgoing queue,
// and a client that stops reading is closed rather than growing the tracker's memory), and issue 7
// item 6: every list is paged, a big answer to a client that reads is not a slow consumer, what
// one user can create is bounded, and every forced close is logged and explained. Each test runs
// its own tracker with the limit under test set low.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import * as net from 'node:net';
import { ProtocolError } from '../../protocol/errors.ts';
import { encodeFrame } from '../../protocol/frame.ts';
import type { TrackerEvent } from '../../protocol/tracker.ts';
import type { TrackerConnection } from '../../peer/tracker-connection.ts';
import { TrackerSession } from '../../peer/tracker-session.ts';
import { expectCode } from '../helpers/events.ts';
import { expectNoEvent, nextEvent } from '../helpers/events.ts';
import { FAST_TRACKER_ARGS, startTracker } from '../helpers/tracker-process.ts';
import type { RoomHead } from '../../protocol/room-log.ts';
import { toBase64Url } from '../../protocol/crypto.ts';
import {
  RawClient,
  appendEvent,
  createRoom,
  expectServing,
  headOf,
  join,
  leave,
  listed,
  onlineMember,
  reconnectMember,
  signedEvent,
  startRamTracker,
  uniqueName,
  type CreatedRoom,
  type Member,
} from '../helpers/rooms.ts';

/** Resolves with the reason once `conn` has closed (at once if it already has). */
function closeOf(conn: TrackerConnection): Promise<Error | undefined> {
  return new Promise((resolve) => {
    if (conn.closed && conn.rawSocket.destroyed) resolve(undefined);
    else conn.once('close', resolve);
  });
}

test('a connection that says nothing is closed at --auth-timeout with server.timeout; a logged-in one is not', async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS, '--auth-timeout', '500'] });
  // Logged in first, so by the time the silent one is closed its own deadline has passed too.
  const member = await onlineMember(tracker, 'early');
  const silent = await tracker.connect({ heartbeatMs: 0 });
  const connectedAt = Date.now();
  const closing = nextEvent(silent, 'closing');
  const closed = closeOf(silent);
  assert.equal((await closing).code, 'server.timeout');
  // The tracker's timer started before the handshake ended here, so allow a little slack.
  assert.ok(Date.now() - connectedAt >= 400, `closed after ${Date.now() - connectedAt} ms, before the deadline`);
  const reason = await closed;
  assert.ok(reason instanceof ProtocolError && reason.code === 'server.timeout', String(reason));
  assert.ok(silent.rawSocket.destroyed);
  // Every forced close is in the log, with its address and reason.
  await tracker.waitForOutput(/warn closed a connection address=127\.0\.0\.1 code=server\.timeout reason="log in within the time allowed"/);

  await expectNoEvent(member.conn, (e) => e.event === 'closing', () => member.conn.request('ping', {}));
  await member.conn.request('list_rooms', {});
  // After logout the connection has a new deadline.
  const again = nextEvent(member.conn, 'closing');
  await member.conn.request('logout', {});
  assert.equal((await again).code, 'server.timeout');
  await closeOf(member.conn);
  await expectServing(tracker);
});

test('a TCP client that never finishes the TLS handshake is dropped', async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS, '--auth-timeout', '500'] });
  const open = (bytes?: Buffer) => {
    const socket = net.connect({ host: tracker.host, port: tracker.port });
    socket.on('error', () => {});
    t.after(() => {
      socket.destroy();
    });
    const closed = once(socket, 'close');
    socket.once('connect', () => bytes && socket.write(bytes));
    return closed;
  };
  // One says nothing; one starts a TLS record (handshake, TLS 1.0 header, 512 bytes) and stalls.
  await Promise.all([open(), open(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]))]);
  await tracker.waitForOutput(/TLS handshake failed/);
  await expectServing(tracker);
});

test('--max-conns-per-address 3 bounds connections that have not logged in: the 4th gets server.busy; logging in frees the slot', async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS, '--max-conns-per-address', '3', '--max-conns-per-user', '2'] });
  const refused = async () => {
    const conn = await tracker.connect({ heartbeatMs: 0 });
    const closing = nextEvent(conn, 'closing');
    const closed = closeOf(conn);
    assert.equal((await closing).code, 'server.busy');
    const reason = await closed;
    assert.ok(reason instanceof ProtocolError && reason.code === 'server.busy', String(reason));
    assert.match(reason.message, /not logged in/);
  };
  const idle = await Promise.all([1, 2, 3].map(() => tracker.connect({ heartbeatMs: 0 })));
  await refused();
  await tracker.waitForOutput(/warn closed a connection address=127\.0\.0\.1 code=server\.busy/);
  // Six people log in from the same address (a NAT, a jump host): the idle three do not stop
  // them, since each login frees its slot at once. More than the address's three stay online.
  await Promise.all(idle.map((c) => c.close()));
  const people = [];
  for (const user of ['nat1', 'nat2', 'nat3', 'nat4', 'nat5', 'nat6']) people.push(await onlineMember(tracker, user));
  for (const p of people) await p.conn.request('ping', {});
  // A stranger there holding three unauthenticated connections keeps nobody out who logs in.
  const held = await Promise.all([1, 2, 3].map(() => tracker.connect({ heartbeatMs: 0 })));
  await refused();
  await Promise.all(held.map((c) => c.close()));
  // One user holds at most --max-conns-per-user logged-in connections.
  const second = await reconnectMember(tracker, 'nat1');
  const third = await tracker.connect({ heartbeatMs: 0 });
  const err = await expectCode(third.request('login', { user: 'nat1', authKey: toBase64Url(people[0]!.login.keys.authKey), peerPort: 0 }), 'server.busy');
  assert.match(err.message, /nat1 already has 2 connections/);
  await second.conn.close();
  await expectServing(tracker);
});

test('a logged-in client that stops reading is dropped as a slow consumer; the others are served meanwhile', async (t) => {
  // The dropped socket is kept for --slow-consumer-timeout: long enough here for `slow` to read
  // its backlog and the reason behind it, even on a loaded machine.
  const tracker = await startRamTracker(t, ['--max-queue-bytes', '65536', '--slow-consumer-timeout', '5000', '--room-events-per-user', '1000000', '--room-joins-per-day', '1000000', '--max-room-log', '100000000']);
  const [owner, w1, w2, slow] = await Promise.all(['owner', 'writer1', 'writer2', 'slow'].map((u) => onlineMember(tracker, u)));
  // Two rooms, each with its own writer, so events are made twice as fast; all reach `slow`.
  const rooms = [await createRoom(owner!, uniqueName('busy')), await createRoom(owner!, uniqueName('busy'))];
  await join(w1!, rooms[0]!);
  await join(w2!, rooms[1]!);
  for (const room of rooms) await join(slow!, room);
  const start = await Promise.all(rooms.map((r) => headOf(owner!.conn, r.id)));

  let dropped = false;
  const offline = nextEvent(owner!.conn, 'presence', (e) => e.user === 'slow' && !e.online, 120_000).then(() => {
    dropped = true;
  });
  const socketClosed = once(slow!.conn.rawSocket, 'close');
  let heardByOwner = 0;
  owner!.conn.on('event', (e: TrackerEvent) => {
    const i = rooms.findIndex((r) => r.id === (e as { room?: { id: string } }).room?.id);
    if (e.event === 'room_event' && i >= 0 && e.entry.seq > start[i]!.seq) heardByOwner++;
  });
  slow!.conn.rawSocket.pause();

  // Each append is ~1 KB pushed to every member; the kernel's socket buffers take a few MB
  // before the tracker's own queue for `slow` grows, so it takes thousands.
  const MAX_APPENDS = 20_000;
  const write = async (writer: Member, room: CreatedRoom, from: RoomHead) => {
    let head = from;
    let appended = 0;
    while (!dropped && appended < MAX_APPENDS) {
      const event = signedEvent(writer, room, appended % 2 === 0 ? 'leave' : 'join', head);
      head = (await writer.conn.request('append', { event })).room.head;
      appended++;
    }
    return appended;
  };
  const appended = (await Promise.all([write(w1!, rooms[0]!, start[0]!), write(w2!, rooms[1]!, start[1]!)])).reduce((a, b) => a + b);
  assert.ok(dropped, `the tracker still holds a client that read nothing during ${appended} events`);
  t.diagnostic(`slow consumer dropped after ${appended} appends`);
  await offline;
  // Every event reached the member that reads, and the tracker answers requests.
  await owner!.conn.request('ping', {});
  assert.equal(heardByOwner, appended);
  // `slow` is still a member (membership is the log's), but no longer online.
  const summary = (await listed(owner!.conn, rooms[0]!.id))!;
  assert.equal(summary.online, summary.members - 1);

  // The slow client, reading again, reaches the tracker's reason behind its backlog: it is told
  // it was a slow consumer, not left to guess at a closed link.
  const reason = closeOf(slow!.conn);
  slow!.conn.rawSocket.resume();
  await socketClosed;
  const why = await reason;
  assert.ok(why instanceof ProtocolError && why.code === 'slow_consumer', String(why));
  assert.ok(slow!.conn.closed);
  await assert.rejects(slow!.conn.request('ping', {}));
  await tracker.waitForOutput(/warn closed a connection address=127\.0\.0\.1 user=slow code=slow_consumer/);
  await expectServing(tracker);
});

test('more than 64 pipelined requests are all answered in order; the connection stays', async (t) => {
  const tracker = await startRamTracker(t);
  const member = await onlineMember(tracker, 'piper');
  const ids: unknown[] = [];
  member.conn.on('frame', (f) => ids.push((f as { id?: unknown }).id));
  const results = await Promise.all(Array.from({ length: 300 }, (_, i) => (i % 3 === 0 ? member.conn.request('list_rooms', {}) : member.conn.request('ping', {}))));
  assert.equal(results.length, 300);
  const answered = ids.filter((id) => typeof id === 'number') as number[];
  assert.deepEqual(answered, [...answered].sort((a, b) => a - b), 'answers come in request order');
  assert.equal(answered.length, 300);

  // And 3000 in a single write, on a raw stream.
  const raw = await RawClient.connect(tracker, t);
  const count = 3000;
  raw.write(Buffer.concat(Array.from({ length: count }, (_, i) => encodeFrame({ id: i + 1, type: 'ping' }))));
  const frames = (await raw.waitFrames(count, 30_000)) as { id: number; ok: boolean }[];
  assert.deepEqual(frames.map((f) => f.id), Array.from({ length: count }, (_, i) => i + 1));
  assert.ok(frames.every((f) => f.ok));
  assert.equal(raw.isClosed, false);
  await member.conn.request('ping', {});
  await expectServing(tracker);
});

test('a client that floods requests and never reads the answers is dropped, not buffered', async (t) => {
  const tracker = await startRamTracker(t, ['--max-queue-bytes', '65536', '--slow-consumer-timeout', '1000']);
  const [flooder, watcher] = await Promise.all(['flooder', 'watcher'].map((u) => onlineMember(tracker, u)));
  // A log of a few dozen events, so each answer is tens of KB.
  const room = await createRoom(watcher!, uniqueName('log'));
  for (let i = 0; i < 20; i++) {
    await join(flooder!, room);
    await leave(flooder!, room);
  }
  let dropped = false;
  const offline = nextEvent(watcher!.conn, 'presence', (e) => e.user === 'flooder' && !e.online, 60_000).then(() => {
    dropped = true;
  });
  flooder!.conn.rawSocket.pause();
  const requests: Promise<unknown>[] = [];
  const MAX_REQUESTS = 50_000;
  while (!dropped && requests.length < MAX_REQUESTS) {
    for (let i = 0; i < 100; i++) {
      const request = flooder!.conn.request('room_log', { room: room.id, from: 0 }, { timeoutMs: 120_000 });
      request.catch(() => {}); // settled below; the drop rejects them before that
      requests.push(request);
    }
    // Let the tracker work; the watcher's answer says it is still serving others.
    await watcher!.conn.request('ping', {});
  }
  assert.ok(dropped, `the tracker still holds a client that read none of ${requests.length} answers`);
  await offline;
  flooder!.conn.rawSocket.resume();
  await closeOf(flooder!.conn);
  const settled = await Promise.allSettled(requests);
  assert.ok(settled.some((r) => r.status === 'rejected'), 'requests cut off by the drop fail');
  await expectServing(tracker);
});

// ---- issue 7, item 6: paged lists, quotas, slow consumers judged by draining, true reasons ----

/** A TrackerSession (the engine's link) on `tracker`, pinned, stopped in teardown. */
function sessionOn(t: { after(fn: () => unknown): void }, tracker: Awaited<ReturnType<typeof startRamTracker>>): TrackerSession {
  const session = new TrackerSession({ host: tracker.host, port: tracker.port, pins: { get: () => tracker.fingerprint, set: () => {} }, heartbeatMs: 0 });
  t.after(() => session.stop());
  return session;
}

test('--max-rooms-per-user 3: the 4th create is quota.exceeded with a clear message; closing one frees a slot; others are not affected', async (t) => {
  const tracker = await startRamTracker(t, ['--max-rooms-per-user', '3']);
  const [maker, other] = await Promise.all(['maker', 'other'].map((u) => onlineMember(tracker, u)));
  const made = [];
  for (let i = 0; i < 3; i++) made.push(await createRoom(maker!, uniqueName('quota')));
  const err = await expectCode(createRoom(maker!, uniqueName('quota')), 'quota.exceeded');
  assert.match(err.message, /created 3 open rooms, the most this tracker allows \(3\); close one you own/);
  // The refusal changed nothing, and another user may still create.
  assert.equal((await maker!.conn.request('list_rooms', {})).rooms.length, 3);
  await createRoom(other!, uniqueName('theirs'));
  await appendEvent(maker!, made[0]!, 'close');
  await createRoom(maker!, uniqueName('quota'));
  await expectServing(tracker);
});

test('--room-events-per-user 6: a seventh event within the minute is rate_limited with when to retry; others are not slowed', async (t) => {
  const tracker = await startRamTracker(t, ['--room-events-per-user', '6']);
  const [churner, other] = await Promise.all(['churner', 'calm'].map((u) => onlineMember(tracker, u)));
  const room = await createRoom(other!, uniqueName('churn'));
  const own = await createRoom(churner!, uniqueName('own'));
  for (let i = 0; i < 5; i++) await (i % 2 === 0 ? join(churner!, room) : leave(churner!, room));
  const err = await expectCode(leave(churner!, room), 'rate_limited');
  assert.ok(err.retryAfterMs! > 0 && err.retryAfterMs! <= 10_000, `retryAfterMs ${err.retryAfterMs}`);
  assert.match(err.message, /more than 6 times in a minute; try again in \d+ s/);
  await expectCode(appendEvent(churner!, own, 'close'), 'rate_limited');
  // The refused events were not stored, and another member is not slowed.
  assert.equal((await headOf(other!.conn, room.id)).seq, 5);
  await join(other!, own);
  await expectServing(tracker);
});

test('--max-joins-per-user 2: a third room is quota.exceeded (join or create); leaving one frees a slot', async (t) => {
  const tracker = await startRamTracker(t, ['--max-joins-per-user', '2']);
  const [owner, joiner] = await Promise.all(['owner', 'joiner'].map((u) => onlineMember(tracker, u)));
  const rooms = [await createRoom(owner!, uniqueName('j')), await createRoom(owner!, uniqueName('j'))];
  const third = await createRoom(joiner!, uniqueName('j'));
  await join(joiner!, rooms[0]!);
  const err = await expectCode(join(joiner!, rooms[1]!), 'quota.exceeded');
  assert.match(err.message, /you are in 2 rooms, the most this tracker allows \(2\); leave one/);
  await expectCode(createRoom(joiner!, uniqueName('j')), 'quota.exceeded');
  await leave(joiner!, third);
  await join(joiner!, rooms[1]!);
  await expectServing(tracker);
});

test('--page-size 5: list_rooms, list_peers, room_log and the login answer come in pages; the session follows them', async (t) => {
  const tracker = await startRamTracker(t, ['--page-size', '5']);
  const users = ['pager', 'pal1', 'pal2', 'pal3', 'pal4', 'pal5', 'pal6', 'pal7'];
  const members = [];
  for (const u of users) members.push(await onlineMember(tracker, u));
  const [pager, pal] = members;
  const rooms = [];
  for (let i = 0; i < 23; i++) rooms.push(await createRoom(pal!, `page${String(i).padStart(2, '0')}`));
  for (const room of rooms.slice(0, 12)) await join(pager!, room);

  // Raw pages: five entries and a cursor, then the next five after it.
  const first = await pager!.conn.request('list_rooms', {});
  assert.deepEqual(first.rooms.map((r) => r.name), ['page00', 'page01', 'page02', 'page03', 'page04']);
  assert.equal(first.next, 'page04');
  assert.deepEqual((await pager!.conn.request('list_rooms', { after: first.next! })).rooms.map((r) => r.name), ['page05', 'page06', 'page07', 'page08', 'page09']);
  const peersPage = await pager!.conn.request('list_peers', {});
  assert.equal(peersPage.peers.length, 5);
  assert.ok(peersPage.next);
  const log = await pager!.conn.request('room_log', { room: rooms[0]!.id, from: 0 });
  assert.equal(log.events.length, 2, 'create and one join');
  assert.equal(log.next, undefined);

  // The engine's session follows every page: whole lists, in name order, no duplicates.
  const session = sessionOn(t, tracker);
  const login = await session.start('login', { user: 'pager', authKey: toBase64Url(pager!.login.keys.authKey), peerPort: 0 });
  assert.deepEqual(login.rooms.map((r) => r.name), rooms.slice(0, 12).map((r) => r.name));
  assert.ok(login.rooms.every((r) => r.member));
  assert.deepEqual(login.peers.map((p) => p.user).sort(), [...users].sort());
  assert.equal('roomsNext' in login || 'peersNext' in login, false);
  assert.deepEqual((await session.listRooms()).map((r) => r.name), rooms.map((r) => r.name));
  assert.deepEqual((await session.listRooms({ mine: true })).map((r) => r.name), rooms.slice(0, 12).map((r) => r.name));
  assert.deepEqual((await session.listRooms({ name: 'page17' })).map((r) => r.id), [rooms[17]!.id]);
  assert.deepEqual(await session.listRooms({ name: 'nosuch' }), []);
  assert.deepEqual((await session.listPeers()).map((p) => p.user).sort(), [...users].sort());
  // A log of 12 events is three pages: 5, 5, 2.
  for (let i = 0; i < 5; i++) {
    await leave(pal!, rooms[0]!);
    await join(pal!, rooms[0]!);
  }
  const raw = await pager!.conn.request('room_log', { room: rooms[0]!.id, from: 0 });
  assert.equal(raw.events.length, 5);
  assert.equal(raw.next, 5);
  const whole = await session.roomLog(rooms[0]!.id, 0);
  assert.deepEqual(whole.events.map((e) => e.seq), Array.from({ length: 12 }, (_, i) => i));
  assert.deepEqual((await session.roomLog(rooms[0]!.id, 7)).events.map((e) => e.seq), [7, 8, 9, 10, 11]);
  await expectServing(tracker);
});

test('a big answer to a client that reads is not a slow consumer, even far over --max-queue-bytes', async (t) => {
  // One answer of about 150 KB against a 4 KB queue limit: the old rule (one write over the
  // limit is a slow consumer) dropped whoever asked.
  const tracker = await startRamTracker(t, ['--max-queue-bytes', '4096', '--page-size', '1000', '--slow-consumer-timeout', '60000', '--room-events-per-user', '100000', '--room-joins-per-day', '1000000', '--max-room-log', '100000000']);
  const [maker, reader] = await Promise.all(['maker', 'reader'].map((u) => onlineMember(tracker, u)));
  const room = await createRoom(maker!, uniqueName('long'));
  let head = await headOf(maker!.conn, room.id);
  for (let i = 0; i < 200; i++) {
    const event = signedEvent(reader!, room, i % 2 === 0 ? 'join' : 'leave', head);
    head = (await reader!.conn.request('append', { event })).room.head;
  }
  let closing: TrackerEvent | undefined;
  reader!.conn.on('event', (e: TrackerEvent) => {
    if (e.event === 'closing') closing = e;
  });
  let bytes = 0;
  for (let i = 0; i < 5; i++) {
    const log = await reader!.conn.request('room_log', { room: room.id, from: 0 });
    assert.equal(log.events.length, 201);
    bytes = JSON.stringify(log).length;
  }
  t.diagnostic(`room_log answer: ${bytes} bytes; queue limit 4096`);
  assert.ok(bytes > 100_000, `the answer is big (${bytes} bytes)`);
  assert.equal(closing, undefined);
  assert.equal(reader!.conn.closed, false);
  await reader!.conn.request('ping', {});
  assert.doesNotMatch(tracker.output(), /slow_consumer/);
});

test('with 300 rooms and a small page, every client lists them all and nobody is dropped', async (t) => {
  const tracker = await startRamTracker(t, ['--max-queue-bytes', '4096', '--page-size', '50', '--max-rooms-per-user', '300', '--room-events-per-user', '100000', '--room-joins-per-day', '1000000', '--max-room-log', '100000000']);
  const [maker, ...readers] = await Promise.all(['maker', 'reader1', 'reader2', 'reader3'].map((u) => onlineMember(tracker, u)));
  for (let i = 0; i < 300; i++) await createRoom(maker!, `many${String(i).padStart(3, '0')}`);
  const sessions = readers.map(() => sessionOn(t, tracker));
  await Promise.all(sessions.map((s, i) => s.start('login', { user: readers[i]!.user, authKey: toBase64Url(readers[i]!.login.keys.authKey), peerPort: 0 })));
  const lists = await Promise.all(sessions.map((s) => s.listRooms()));
  for (const list of lists) assert.equal(new Set(list.map((r) => r.name)).size, 300);
  for (const s of sessions) assert.equal(s.state, 'online');
  for (const r of readers) await r!.conn.request('ping', {});
  assert.doesNotMatch(tracker.output(), /slow_consumer/);
});

test('a tracker shutting down tells its clients so: the reason is server.shutdown, not an unreachable tracker', async (t) => {
  const tracker = await startRamTracker(t);
  const member = await onlineMember(tracker, 'told');
  const session = sessionOn(t, tracker);
  await session.start('login', { user: 'told', authKey: toBase64Url(member.login.keys.authKey), peerPort: 0 });
  const reconnecting = new Promise<string>((resolve) => session.on('state', (state, detail) => state === 'reconnecting' && resolve(detail)));
  const closed = closeOf(member.conn);
  await tracker.stop();
  const reason = await closed;
  assert.ok(reason instanceof ProtocolError && reason.code === 'server.shutdown', String(reason));
  assert.match(await reconnecting, /the tracker is shutting down/);
  const err = await expectCode(session.request('ping', {}), 'server.timeout');
  assert.match(err.message, /not connected to the tracker at .*\(the tracker is shutting down; your client will reconnect\); reconnecting/);
});
