// Rooms end to end with real engines (own sockets and data folders) against the real tracker.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FAST_TRACKER_ARGS, startTracker } from '../helpers/tracker-process.ts';
import { collect, registered, waitFor } from '../helpers/engines.ts';

test('private room: the right password joins, a wrong one is refused with room.bad_password', async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const alice = await registered(t, tracker, 'alice');
  const bob = await registered(t, tracker, 'bob');
  const carol = await registered(t, tracker, 'carol');
  await alice.createRoom('secret', { password: 'the room password' });
  await assert.rejects(bob.joinRoom('secret', 'not the password'), { code: 'room.bad_password' });
  await assert.rejects(bob.joinRoom('secret'), { code: 'room.bad_password' });
  await bob.joinRoom('secret', 'the room password');
  // Carol's client checks bob's proof in the log with the key from her password.
  await assert.rejects(carol.joinRoom('secret', 'wrong again'), { code: 'room.bad_password' });
  const bobSawCarol = waitFor(bob, 'member_joined', (e) => e.user === 'carol');
  await carol.joinRoom('secret', 'the room password');
  await bobSawCarol;
  const got = waitFor(carol, 'message', (m) => m.room === 'secret');
  await bob.sendRoom('secret', 'only for members');
  assert.equal((await got).text, 'only for members');
});

test('kick: the kicked member receives nothing sent after it, even with its old keys and port', async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const alice = await registered(t, tracker, 'alice');
  const bob = await registered(t, tracker, 'bob');
  const carol = await registered(t, tracker, 'carol');
  const team = await alice.createRoom('team');
  const carolIn = waitFor(alice, 'member_joined', (e) => e.user === 'carol');
  await bob.joinRoom('team');
  await carol.joinRoom('team');
  await carolIn;

  const before = waitFor(carol, 'message', (m) => m.text === 'before the kick');
  await alice.sendRoom('team', 'before the kick');
  await before;

  const carolMessages = collect(carol, 'message');
  const kicked = waitFor(carol, 'member_kicked', (e) => e.user === 'carol');
  const bobSaw = waitFor(bob, 'member_kicked', (e) => e.user === 'carol');
  await alice.kick('team', 'carol');
  assert.deepEqual(await kicked, { room: 'team', roomId: team.id, user: 'carol', by: 'alice' });
  await bobSaw;
  assert.throws(() => carol.members('team'), { code: 'room.not_found' });

  const after = waitFor(bob, 'message', (m) => m.text === 'after the kick');
  const sent = await alice.sendRoom('team', 'after the kick');
  await after;
  assert.equal(sent.recipients, 1, 'only bob was a recipient');
  // A marker DM to carol from alice arrives after anything alice sent before it on the same link.
  const marker = waitFor(carol, 'message', (m) => m.text === 'marker');
  await alice.sendDirect('carol', 'marker');
  await marker;
  assert.deepEqual(carolMessages.map((m) => m.text), ['marker']);
});

test('the owner leaving hands ownership to the longest-standing member; close ends the room', async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const alice = await registered(t, tracker, 'alice');
  const bob = await registered(t, tracker, 'bob');
  const carol = await registered(t, tracker, 'carol');
  const handover = await alice.createRoom('handover');
  const carolIn = waitFor(bob, 'member_joined', (e) => e.user === 'carol');
  await bob.joinRoom('handover');
  await carol.joinRoom('handover');
  await carolIn;
  const owner = waitFor(carol, 'owner_changed');
  await alice.leaveRoom('handover');
  assert.deepEqual(await owner, { room: 'handover', roomId: handover.id, owner: 'bob' });
  assert.deepEqual(carol.members('handover').filter((m) => m.owner).map((m) => m.user), ['bob']);
  await assert.rejects(carol.kick('handover', 'bob'), { code: 'room.not_owner' });
  await assert.rejects(carol.closeRoom('handover'), { code: 'room.not_owner' });

  const closed = waitFor(carol, 'room_closed');
  await bob.closeRoom('handover');
  assert.deepEqual(await closed, { room: 'handover', roomId: handover.id, by: 'bob' });
  await assert.rejects(carol.sendRoom('handover', 'anyone?'), { code: 'room.not_found' });
  assert.equal((await alice.listRooms()).some((r) => r.name === 'handover'), false);
});

test('several rooms at once; a 64 KiB message and 4-byte emoji arrive intact', async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const alice = await registered(t, tracker, 'alice');
  const bob = await registered(t, tracker, 'bob');
  for (const room of ['one', 'two', 'three']) {
    await alice.createRoom(room);
    const joined = waitFor(alice, 'member_joined', (e) => e.room === room && e.user === 'bob');
    await bob.joinRoom(room);
    await joined;
  }
  const got = collect(bob, 'message');
  const big = 'x'.repeat(64 * 1024 - 4) + '😀';
  const emoji = '🦄🚀👩‍👩‍👧‍👦'.repeat(100);
  const last = waitFor(bob, 'message', (m) => m.room === 'three');
  await alice.sendRoom('one', big);
  await alice.sendRoom('two', emoji);
  await alice.sendRoom('three', 'done');
  await last;
  assert.deepEqual(got.map((m) => m.room), ['one', 'two', 'three']);
  assert.ok(Buffer.from(got[0].text).equals(Buffer.from(big)), '64 KiB arrives byte for byte');
  assert.equal(got[1].text, emoji);
  await assert.rejects(alice.sendRoom('one', 'y'.repeat(64 * 1024 + 1)), { code: 'request.too_large' });
});
