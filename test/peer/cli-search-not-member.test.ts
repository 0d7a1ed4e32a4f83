// `search` scoped to a room I am not in (left, or never joined) is refused with `room.not_member`
// and words that say so, over a spawned `node peer --json` against a real engine (bob). Before,
// a room left answered an empty result, as if nothing there matched (its messages leave the
// search index with the room, while its history stays readable), and a room never joined was
// "no room named" that: a search that cannot look must not read as one that found nothing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { registered, waitFor } from '../helpers/engines.ts';
import { checkPeerBundle, signedInPeer } from '../helpers/peer-process.ts';
import { FAST_TRACKER_ARGS, startTracker } from '../helpers/tracker-process.ts';

const PASSWORD = 'plum kettle orbit 93 lantern';

test('node peer --json: search in a room left or never joined says so; an unknown name is not found', { timeout: 180_000 }, async (t) => {
  checkPeerBundle();
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const bob = await registered(t, tracker, 'bob');
  const general = await bob.createRoom('general');
  await bob.createRoom('planning');
  const retro = await bob.createRoom('retro');

  const { peer: alice } = await signedInPeer(t, `${tracker.host}:${tracker.port}`, 'alice', PASSWORD, 'p2p-cli-search-');
  const joined = waitFor(bob, 'member_joined', (e) => e.user === 'alice');
  await alice.ok({ cmd: 'join_room', room: 'general' });
  await joined;
  // Bob has it before she leaves (after the leave he refuses what she sends).
  const atBob = waitFor(bob, 'message', (m) => m.text === 'budget draft is up');
  const sent = await alice.ok({ cmd: 'msg_room', room: 'general', text: 'budget draft is up' });
  await atBob;
  const found = await alice.ok({ cmd: 'search', query: 'budget', room: 'general' });
  assert.deepEqual((found.results as { id: string }[]).map((r) => r.id), [sent.messageId], 'found while a member');

  await alice.ok({ cmd: 'leave_room', room: 'general' });
  assert.equal(((await alice.ok({ cmd: 'history', room: general.id })).messages as unknown[]).length, 1, "the left room's history stays readable");
  const refused = async (room: string) => (await alice.request({ cmd: 'search', query: 'budget', room })).answer.error;
  for (const ref of [general.id, 'general']) {
    const err = await refused(ref);
    assert.equal(err?.code, 'room.not_member', `room ${ref}: refused, not an empty result`);
    assert.match(err!.message, /you are not in #general/, `room ${ref}: the words say why`);
  }
  const never = await refused('planning');
  assert.equal(never?.code, 'room.not_member', 'a room never joined');
  assert.match(never!.message, /you are not in #planning/);
  assert.equal((await refused('nowhere'))?.code, 'room.not_found', 'a name that is no room and no user');
  // A room closed while I was in it, its history kept.
  const joinedRetro = waitFor(bob, 'member_joined', (e) => e.user === 'alice' && e.roomId === retro.id);
  await alice.ok({ cmd: 'join_room', room: 'retro' });
  await joinedRetro;
  const atBob2 = waitFor(bob, 'message', (m) => m.text === 'budget retro notes');
  await alice.ok({ cmd: 'msg_room', room: 'retro', text: 'budget retro notes' });
  await atBob2;
  const closed = alice.waitEvent('room_closed', (e) => e.roomId === retro.id);
  await bob.closeRoom(retro.id);
  await closed;
  assert.equal((await refused(retro.id))?.code, 'room.not_member', 'a closed room is refused too, not answered empty');
  // Unscoped search still answers (the left room's messages are simply not searched).
  assert.deepEqual((await alice.ok({ cmd: 'search', query: 'budget' })).results, []);
});
