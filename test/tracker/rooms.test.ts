// Rooms on a real tracker (DESIGN.md "Rooms: a signed membership log" and "Tracker"): public and
// private rooms, what list_rooms shows, who hears about each appended event, ownership computed
// from the log, closing, and the tracker's first gate against forged or stale events. Each
// refused request is followed by a fresh client that logs in and lists rooms (expectServing).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, toBase64Url } from '../../protocol/crypto.ts';
import { deriveRoomPasswordKeys, eventHash, signRoomEvent, type RoomEvent } from '../../protocol/room-log.ts';
import type { RoomSummary } from '../../protocol/tracker.ts';
import { expectCode, expectNoEvent, nextEvent } from '../helpers/events.ts';
import { FAST_TRACKER_ARGS, restartTracker, startTracker, type TrackerProcess } from '../helpers/tracker-process.ts';
import {
  FAST_ROOM_SCRYPT,
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
  uniqueName,
  unsignedCreate,
  unsignedNext,
  type CreatedRoom,
  type Member,
} from '../helpers/rooms.ts';

let tracker: TrackerProcess;
let alice: Member;
let bob: Member;
let carol: Member;
let dave: Member;

// One tracker for the file: teardown collected here, run by the file's after hook (an `after`
// registered from inside `before` would run as soon as that hook ends).
const teardown: (() => unknown)[] = [];
after(async () => {
  for (const fn of teardown) await fn();
});
before(async () => {
  tracker = await startTracker({ after: (fn) => teardown.push(fn) }, { args: [...FAST_TRACKER_ARGS] });
  [alice, bob, carol, dave] = await Promise.all(['alice', 'bob', 'carol', 'dave'].map((u) => onlineMember(tracker, u)));
});

const roomEventOf = (m: Member, room: CreatedRoom, seq: number) =>
  nextEvent(m.conn, 'room_event', (e) => e.room.id === room.id && e.entry.seq === seq);
const isRoomEvent = (room: CreatedRoom) => (e: { event: string; room?: RoomSummary }) => e.event === 'room_event' && e.room?.id === room.id;

/** A public room of `owner` that `others` joined, in that order. */
async function roomWith(owner: Member, ...others: Member[]): Promise<CreatedRoom> {
  const room = await createRoom(owner, uniqueName('room'));
  for (const m of others) await join(m, room);
  return room;
}

describe('creating and listing rooms', () => {
  test('a public room is listed with every field, to its owner as a member and to others as not', async () => {
    const name = uniqueName('pub');
    const created = nextEvent(alice.conn, 'room_event', (e) => e.room.name === name);
    const listedToBob = nextEvent(bob.conn, 'room_listed', (e) => e.room.name === name);
    const room = await createRoom(alice, name);

    const id = eventHash(room.create);
    const expected = { id, name, private: false, owner: 'alice', members: 1, online: 1, closed: false, head: { seq: 0, hash: id } };
    assert.deepEqual(room.summary, { ...expected, member: true });
    assert.deepEqual(await listed(alice.conn, id), { ...expected, member: true });
    assert.deepEqual(await listed(bob.conn, id), { ...expected, member: false });
    // The creator hears its own create as a room_event; everyone else sees the room listed.
    assert.deepEqual((await created).entry, room.create);
    assert.deepEqual((await listedToBob).room, { ...expected, member: false });
  });

  test('online counts only members with a connection', async () => {
    const erin = await onlineMember(tracker, uniqueName('erin'));
    const room = await roomWith(alice, erin);
    assert.equal((await listed(alice.conn, room.id))?.online, 2);
    const offline = nextEvent(alice.conn, 'presence', (e) => e.user === erin.user && !e.online);
    await erin.conn.close();
    await offline;
    assert.deepEqual({ ...(await listed(alice.conn, room.id)) }, { ...room.summary, members: 2, online: 1, head: (await headOf(alice.conn, room.id)) });
  });

  test('a private room needs its check value: without it request.invalid, with it private: true', async () => {
    const name = uniqueName('priv');
    const unsigned = unsignedCreate('alice', name, true);
    await expectCode(alice.conn.request('create_room', { event: signRoomEvent(unsigned, alice.key) }), 'request.invalid');
    assert.equal((await alice.conn.request('list_rooms', {})).rooms.find((r) => r.name === name), undefined);
    await expectServing(tracker);

    const room = await createRoom(alice, name, 'correct horse battery');
    assert.equal(room.summary.private, true);
    assert.deepEqual(await listed(bob.conn, room.id), { ...room.summary, member: false });
  });

  test('a taken name is room.name_taken, and names are lowercase only (request.invalid)', async () => {
    const name = uniqueName('dup');
    const room = await createRoom(alice, name);
    // Another owner, another salt: another room id, but the same name.
    await expectCode(bob.conn.request('create_room', { event: signRoomEvent(unsignedCreate('bob', name, false), bob.key) }), 'room.name_taken');
    await expectCode(alice.conn.request('create_room', { event: signRoomEvent(unsignedCreate('alice', name, true), alice.key), check: toBase64Url(randomBytes(32)) }), 'room.name_taken');
    // Resending the very same create event is no second room either.
    await expectCode(alice.conn.request('create_room', { event: room.create }), 'room.name_taken');
    await expectServing(tracker);
    // "DUP7" would be the same name; it is refused outright, so no case variant can exist.
    await expectCode(bob.conn.request('create_room', { event: signRoomEvent(unsignedCreate('bob', name.toUpperCase(), false), bob.key) }), 'request.invalid');
    await expectCode(bob.conn.request('create_room', { event: signRoomEvent(unsignedCreate('bob', `#${name}`, false), bob.key) }), 'request.invalid');
    const same = (await bob.conn.request('list_rooms', {})).rooms.filter((r) => r.name.toLowerCase() === name);
    assert.deepEqual(same.map((r) => r.id), [room.id]);
    await expectServing(tracker);
  });

  test('create_room takes only a create event, signed by the logged-in user', async () => {
    const room = await roomWith(alice);
    const joinEvent = signedEvent(bob, room, 'join', room.summary.head);
    await expectCode(bob.conn.request('create_room', { event: joinEvent }), 'room.invalid_event');
    const byAlice = signRoomEvent(unsignedCreate('alice', uniqueName('notmine'), false), alice.key);
    await expectCode(bob.conn.request('create_room', { event: byAlice }), 'room.invalid_event');
    await expectServing(tracker);
  });
});

describe('joining, leaving, kicking', () => {
  test('a join is pushed as room_event to every member, the joiner included, and as room_listed to the rest', async () => {
    const room = await roomWith(alice);
    const toAlice = roomEventOf(alice, room, 1);
    const toBob = roomEventOf(bob, room, 1);
    const toCarol = nextEvent(carol.conn, 'room_listed', (e) => e.room.id === room.id && e.room.head.seq === 1);
    const { event, summary } = await join(bob, room);

    assert.deepEqual(summary, { ...room.summary, members: 2, online: 2, head: { seq: 1, hash: eventHash(event) } });
    for (const pushed of [await toAlice, await toBob]) assert.deepEqual(pushed.entry, event);
    assert.equal((await toAlice).room.member, true);
    assert.deepEqual((await toCarol).room, { ...summary, member: false });
    // Carol is not a member: she never gets the event itself.
    await expectNoEvent(carol.conn, isRoomEvent(room), () => carol.conn.request('ping', {}));
    assert.equal((await listed(bob.conn, room.id))?.member, true);
  });

  test('a private room: the right check joins, a wrong or missing one is room.bad_password', async () => {
    const room = await createRoom(alice, uniqueName('priv'), 'the right room password');
    const wrong = await deriveRoomPasswordKeys('not the room password', room.create.salt!, FAST_ROOM_SCRYPT);
    const head = room.summary.head;

    await expectCode(bob.conn.request('append', { event: signedEvent(bob, room, 'join', head, { keys: wrong }), check: wrong.check }), 'room.bad_password');
    await expectServing(tracker);
    await expectCode(bob.conn.request('append', { event: signedEvent(bob, room, 'join', head) }), 'room.bad_password');
    await expectServing(tracker);
    assert.deepEqual(await listed(bob.conn, room.id), { ...room.summary, member: false });

    const toAlice = roomEventOf(alice, room, 1);
    const { event, summary } = await join(bob, room);
    assert.deepEqual(summary, { ...room.summary, members: 2, online: 2, head: { seq: 1, hash: eventHash(event) } });
    assert.deepEqual((await toAlice).entry, event);
    // The tracker stored the joiner's proof untouched, for members to check.
    const { events } = await carol.conn.request('room_log', { room: room.id, from: 1 });
    assert.deepEqual(events, [event]);
    assert.ok(event.proof);
  });

  test('a member leaves: members and the leaver hear it, and it is no longer a member', async () => {
    const room = await roomWith(alice, bob);
    const toAlice = roomEventOf(alice, room, 2);
    const toBob = roomEventOf(bob, room, 2);
    const { event, summary } = await leave(bob, room);
    assert.equal(event.type, 'leave');
    assert.deepEqual((await toAlice).entry, event);
    assert.deepEqual((await toBob).entry, event);
    assert.equal(summary.member, false);
    assert.equal(summary.members, 1);
    assert.deepEqual(await listed(bob.conn, room.id), { ...summary, member: false });
    // Leaving twice: not a member any more.
    await expectCode(appendEvent(bob, room, 'leave'), 'room.not_member');
    await expectServing(tracker);
  });

  test('the owner kicks: the kicked user receives the event and is no longer a member', async () => {
    const room = await roomWith(alice, bob, carol);
    const toCarol = roomEventOf(carol, room, 3);
    const toBob = roomEventOf(bob, room, 3);
    const { event, summary } = await appendEvent(alice, room, 'kick', { subject: 'carol' });
    assert.deepEqual((await toCarol).entry, event);
    assert.equal((await toCarol).room.member, false);
    assert.deepEqual((await toBob).entry, event);
    assert.equal(summary.members, 2);
    assert.equal((await listed(carol.conn, room.id))?.member, false);
    // Later events of the room no longer reach her.
    const toAlice = roomEventOf(alice, room, 4);
    await appendEvent(bob, room, 'leave');
    await toAlice;
    await expectNoEvent(carol.conn, (e) => isRoomEvent(room)(e) && (e as { entry: RoomEvent }).entry.seq === 4, () => carol.conn.request('ping', {}));
    // She can come back by joining again (a public room).
    await join(carol, room);
  });

  test('a kick by someone other than the owner is room.not_owner and changes nothing', async () => {
    const room = await roomWith(alice, bob, carol);
    const before = await headOf(alice.conn, room.id);
    await expectCode(appendEvent(bob, room, 'kick', { subject: 'carol' }), 'room.not_owner');
    await expectServing(tracker);
    assert.deepEqual(await headOf(alice.conn, room.id), before);
    assert.equal((await listed(carol.conn, room.id))?.member, true);
  });

  test('a join by a member is room.already_member', async () => {
    const room = await roomWith(alice, bob);
    await expectCode(appendEvent(bob, room, 'join'), 'room.already_member');
    await expectCode(appendEvent(alice, room, 'join'), 'room.already_member');
    await expectServing(tracker);
  });

  test('when the owner leaves, the longest-standing member owns the room', async () => {
    const room = await roomWith(alice, bob, carol);
    const { summary } = await leave(alice, room);
    assert.equal(summary.owner, 'bob');
    assert.equal((await listed(carol.conn, room.id))?.owner, 'bob');
    // The rights follow: bob may kick, alice (gone) and carol may not.
    await expectCode(appendEvent(carol, room, 'kick', { subject: 'bob' }), 'room.not_owner');
    await join(alice, room);
    await expectCode(appendEvent(alice, room, 'kick', { subject: 'carol' }), 'room.not_owner');
    const kicked = await appendEvent(bob, room, 'kick', { subject: 'alice' });
    assert.equal(kicked.summary.owner, 'bob');
    // Seniority is join order: carol joined before alice came back.
    const next = await leave(bob, room);
    assert.equal(next.summary.owner, 'carol');
  });

  test('when the last member leaves the room has no owner, and the next joiner owns it', async () => {
    const room = await roomWith(alice);
    const { summary } = await leave(alice, room);
    assert.equal(summary.owner, undefined);
    assert.equal(summary.members, 0);
    assert.equal((await listed(bob.conn, room.id))?.owner, undefined);
    assert.equal((await join(bob, room)).summary.owner, 'bob');
  });
});

describe('closing', () => {
  test('the owner closes: members hear it, later appends are room.closed, the room leaves list_rooms', async () => {
    const room = await roomWith(alice, bob);
    const toBob = roomEventOf(bob, room, 2);
    const toCarol = nextEvent(carol.conn, 'room_listed', (e) => e.room.id === room.id && e.room.head.seq === 2);
    const { event, summary } = await appendEvent(alice, room, 'close');
    assert.equal(summary.closed, true);
    assert.deepEqual((await toBob).entry, event);
    assert.equal((await toCarol).room.closed, true);

    assert.equal(await listed(alice.conn, room.id), undefined);
    assert.equal(await listed(carol.conn, room.id), undefined);
    const head = { seq: 2, hash: eventHash(event) };
    await expectCode(bob.conn.request('append', { event: signedEvent(bob, room, 'leave', head) }), 'room.closed');
    await expectCode(carol.conn.request('append', { event: signedEvent(carol, room, 'join', head) }), 'room.closed');
    await expectCode(alice.conn.request('append', { event: signedEvent(alice, room, 'kick', head, { subject: 'bob' }) }), 'room.closed');
    await expectServing(tracker);
    // Its log stays readable, the close included, so a client that was away can verify it.
    const log = await dave.conn.request('room_log', { room: room.id, from: 0 });
    assert.equal(log.room.closed, true);
    assert.deepEqual(log.events.at(-1), event);
    // The name is free again.
    const again = await createRoom(carol, room.name);
    assert.notEqual(again.id, room.id);
  });

  test('a close by someone other than the owner is room.not_owner', async () => {
    const room = await roomWith(alice, bob);
    await expectCode(appendEvent(bob, room, 'close'), 'room.not_owner');
    await expectCode(appendEvent(carol, room, 'close'), 'room.not_owner');
    await expectServing(tracker);
    assert.equal((await listed(bob.conn, room.id))?.closed, false);
  });
});

describe('logs and look-ups', () => {
  test('a user in several rooms at once: the login response lists them all', async () => {
    const erin = await onlineMember(tracker, uniqueName('erin'));
    assert.deepEqual(erin.login.session.rooms, []);
    const one = await roomWith(alice, erin);
    const two = await createRoom(erin, uniqueName('own'));
    const three = await createRoom(bob, uniqueName('priv'), 'a private room password');
    await join(erin, three);
    const notHers = await roomWith(alice, bob);
    const left = await roomWith(alice, erin);
    await leave(erin, left);

    const again = await reconnectMember(tracker, erin.user);
    const rooms = again.login.session.rooms;
    assert.deepEqual(rooms.map((r) => r.id).sort(), [one.id, two.id, three.id].sort());
    assert.ok(rooms.every((r) => r.member));
    assert.ok(!rooms.some((r) => r.id === notHers.id || r.id === left.id));
    assert.deepEqual(rooms.find((r) => r.id === two.id), { ...two.summary, online: 1 });
  });

  test('room_log from 0 returns the whole log, from k the events from seq k on', async () => {
    const room = await roomWith(alice);
    const events: RoomEvent[] = [room.create];
    events.push((await join(bob, room)).event);
    events.push((await join(carol, room)).event);
    events.push((await appendEvent(alice, room, 'kick', { subject: 'bob' })).event);
    events.push((await leave(carol, room)).event);

    const all = await dave.conn.request('room_log', { room: room.id, from: 0 });
    assert.deepEqual(all.events, events);
    assert.deepEqual(all.room.head, { seq: 4, hash: eventHash(events[4]!) });
    assert.equal(all.room.member, false);
    // The chain: each prev is the hash of the one before.
    for (let i = 1; i < events.length; i++) assert.equal(all.events[i]!.prev, eventHash(all.events[i - 1]!));
    assert.deepEqual((await dave.conn.request('room_log', { room: room.id, from: 3 })).events, events.slice(3));
    assert.deepEqual((await dave.conn.request('room_log', { room: room.id, from: 4 })).events, events.slice(4));
    assert.deepEqual((await dave.conn.request('room_log', { room: room.id, from: 5 })).events, []);
  });

  test('an unknown room is room.not_found for room_log, join and every append', async () => {
    const ghost: CreatedRoom = {
      id: toBase64Url(randomBytes(32)),
      name: 'ghost',
      create: signRoomEvent(unsignedCreate('alice', 'ghost', false), alice.key),
      summary: undefined as never,
    };
    const head = { seq: 0, hash: ghost.id };
    await expectCode(alice.conn.request('room_log', { room: ghost.id, from: 0 }), 'room.not_found');
    await expectCode(bob.conn.request('append', { event: signedEvent(bob, ghost, 'join', head) }), 'room.not_found');
    await expectCode(alice.conn.request('append', { event: signedEvent(alice, ghost, 'close', head) }), 'room.not_found');
    await expectServing(tracker);
  });
});

describe('forged, invalid and stale events', () => {
  test('a bad signature is room.bad_signature: another user\'s key, or altered after signing', async () => {
    const room = await roomWith(alice, bob);
    const head = await headOf(alice.conn, room.id);
    const signedByBob = signRoomEvent(unsignedNext(room.id, head, 'join', 'carol'), bob.key);
    await expectCode(carol.conn.request('append', { event: signedByBob }), 'room.bad_signature');
    await expectServing(tracker);

    const genuine = signedEvent(carol, room, 'join', head);
    await expectCode(carol.conn.request('append', { event: { ...genuine, time: genuine.time + 1 } }), 'room.bad_signature');
    const kick = signedEvent(alice, room, 'kick', head, { subject: 'bob' });
    await expectCode(alice.conn.request('append', { event: { ...kick, subject: 'carol' } }), 'room.bad_signature');
    const flipped = Buffer.from(genuine.sig, 'base64url');
    flipped[10]! ^= 1;
    await expectCode(carol.conn.request('append', { event: { ...genuine, sig: toBase64Url(flipped) } }), 'room.bad_signature');
    await expectServing(tracker);
    // Nothing was appended, and the genuine event still is.
    assert.deepEqual(await headOf(alice.conn, room.id), head);
    await carol.conn.request('append', { event: genuine });
  });

  test('an event whose actor is not the logged-in user is room.invalid_event, even genuinely signed', async () => {
    const room = await roomWith(alice, bob);
    const head = await headOf(alice.conn, room.id);
    // Bob's own, correctly signed leave, sent by carol: she cannot act for him.
    await expectCode(carol.conn.request('append', { event: signedEvent(bob, room, 'leave', head) }), 'room.invalid_event');
    // The owner's genuine close, replayed by someone else.
    await expectCode(bob.conn.request('append', { event: signedEvent(alice, room, 'close', head) }), 'room.invalid_event');
    // Actor says bob, signed by carol, sent by carol.
    await expectCode(carol.conn.request('append', { event: signRoomEvent(unsignedNext(room.id, head, 'leave', 'bob'), carol.key) }), 'room.invalid_event');
    await expectServing(tracker);
    assert.deepEqual(await headOf(alice.conn, room.id), head);
    assert.equal((await listed(bob.conn, room.id))?.member, true);
  });

  test('a wrong prev or a wrong seq is room.stale_head', async () => {
    const room = await roomWith(alice, bob);
    const head = await headOf(alice.conn, room.id);
    const wrongPrev = { seq: head.seq, hash: room.id };
    await expectCode(carol.conn.request('append', { event: signedEvent(carol, room, 'join', wrongPrev) }), 'room.stale_head');
    await expectCode(carol.conn.request('append', { event: signRoomEvent(unsignedNext(room.id, head, 'join', 'carol', { seq: head.seq + 2 }), carol.key) }), 'room.stale_head');
    await expectCode(carol.conn.request('append', { event: signRoomEvent(unsignedNext(room.id, head, 'join', 'carol', { seq: head.seq }), carol.key) }), 'room.stale_head');
    await expectServing(tracker);
    // An event on an old head (before bob joined) is stale too.
    await expectCode(carol.conn.request('append', { event: signedEvent(carol, room, 'join', room.summary.head) }), 'room.stale_head');
    assert.deepEqual(await headOf(alice.conn, room.id), head);
  });

  test('two members appending on the same head at once: one wins, the other is stale, re-signs and succeeds', async () => {
    const room = await roomWith(alice);
    const head = room.summary.head;
    const results = await Promise.allSettled([
      bob.conn.request('append', { event: signedEvent(bob, room, 'join', head) }),
      carol.conn.request('append', { event: signedEvent(carol, room, 'join', head) }),
    ]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    assert.equal(won.length, 1, JSON.stringify(results));
    assert.equal(lost.length, 1);
    await expectCode(Promise.reject(lost[0]!.reason), 'room.stale_head');

    const loser = results[0]!.status === 'rejected' ? bob : carol;
    const newHead = await headOf(loser.conn, room.id);
    assert.equal(newHead.seq, 1);
    const retried = await appendEvent(loser, room, 'join', { head: newHead });
    assert.equal(retried.summary.members, 3);
    const { events } = await alice.conn.request('room_log', { room: room.id, from: 1 });
    assert.deepEqual(events.map((e) => e.actor).sort(), ['bob', 'carol']);
  });

  test('a create event sent to append is room.invalid_event', async () => {
    const room = await roomWith(alice);
    const fresh = signRoomEvent(unsignedCreate('alice', uniqueName('sneaky'), false), alice.key);
    await expectCode(alice.conn.request('append', { event: fresh }), 'room.invalid_event');
    await expectCode(alice.conn.request('append', { event: room.create }), 'room.invalid_event');
    // Even dressed up as the room's next event.
    const head = room.summary.head;
    const inRoom = signRoomEvent({ ...unsignedCreate('alice', uniqueName('sneaky'), false), room: room.id, seq: 1, prev: head.hash }, alice.key);
    await expectCode(alice.conn.request('append', { event: inRoom }), 'room.invalid_event');
    await expectServing(tracker);
    assert.equal((await alice.conn.request('list_rooms', {})).rooms.filter((r) => r.name.startsWith('sneaky')).length, 0);
  });

  test('appends to different rooms and creates at the same instant all succeed', async () => {
    // One SQLite connection holds one transaction: concurrent writes must queue, not collide.
    const rooms = await Promise.all([alice, bob, carol].map((m) => createRoom(m, uniqueName('busy'))));
    const [r1, r2, r3] = rooms as [CreatedRoom, CreatedRoom, CreatedRoom];
    for (let round = 0; round < 5; round++) {
      const type = round % 2 === 0 ? 'join' : 'leave';
      const [h1, h2, h3] = await Promise.all([headOf(dave.conn, r1.id), headOf(dave.conn, r2.id), headOf(dave.conn, r3.id)]);
      await Promise.all([
        bob.conn.request('append', { event: signedEvent(bob, r1, type, h1) }),
        carol.conn.request('append', { event: signedEvent(carol, r2, type, h2) }),
        alice.conn.request('append', { event: signedEvent(alice, r3, type, h3) }),
        dave.conn.request('create_room', { event: signRoomEvent(unsignedCreate('dave', uniqueName('busy'), false), dave.key) }),
      ]);
    }
    for (const r of rooms) assert.equal((await headOf(dave.conn, r.id)).seq, 5);
  });
});

test('rooms, members, heads and closes survive a tracker restart', async (t) => {
  const own = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const a = await onlineMember(own, 'alice');
  const b = await onlineMember(own, 'bob');
  const open = await createRoom(a, 'open');
  await join(b, open);
  const secret = await createRoom(b, 'secret', 'a private room password');
  await join(a, secret);
  const shut = await createRoom(a, 'shut');
  const close = await appendEvent(a, shut, 'close');
  const before = (await a.conn.request('list_rooms', {})).rooms;

  const restarted = await restartTracker(t, own, { args: [...FAST_TRACKER_ARGS] });
  const a2 = await reconnectMember(restarted, 'alice');
  assert.deepEqual(a2.login.session.rooms.map((r) => r.name).sort(), ['open', 'secret']);
  const after = (await a2.conn.request('list_rooms', {})).rooms;
  assert.deepEqual(after.map((r) => ({ ...r, online: 0 })), before.map((r) => ({ ...r, online: 0 })));
  await expectCode(a2.conn.request('append', { event: signedEvent(a2, shut, 'leave', { seq: 1, hash: eventHash(close.event) }) }), 'room.closed');
  // The private room still checks its password after the restart.
  const c = await onlineMember(restarted, 'carol');
  await expectCode(c.conn.request('append', { event: signedEvent(c, secret, 'join', await headOf(c.conn, secret.id)) }), 'room.bad_password');
  await join(c, secret);
});
