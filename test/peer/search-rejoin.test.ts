// A room left or kicked from is dropped from the search index (forgetRoom); joining it again puts
// its stored history back at once (SearchIndex.restore), current texts only: it used to stay
// unsearchable ("No stored message contains that.") while `history` showed it, until a restart.
// Real engines and a real tracker.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FAST_TRACKER_ARGS, startTracker } from '../helpers/tracker-process.ts';
import { roomOf, waitFor, type TestEngine } from '../helpers/engines.ts';

const found = async (engine: TestEngine, query: string) => (await engine.search(query)).results.map((r) => r.id);

test('after leaving or being kicked and joining again, the room history is searchable at once, edited text only, deleted not', { timeout: 120_000 }, async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const { engines, id } = await roomOf(t, tracker, ['alice', 'carol'], 'team');
  const { alice, carol } = engines;
  const room = { room: id };

  const got = waitFor(carol, 'message', (m) => m.text === 'meet at 10');
  const meet = await alice.sendRoom(id, 'meet at 10');
  await got;
  const plan = await alice.sendRoom(id, 'the old plan');
  const edited = waitFor(carol, 'edited', (e) => e.id === plan.id);
  await alice.edit(room, plan.id, 'the budget plan');
  await edited;
  const secret = await alice.sendRoom(id, 'a secret word');
  const deleted = waitFor(carol, 'deleted', (e) => e.id === secret.id);
  await alice.deleteMessage(room, secret.id);
  await deleted;
  // The index is built before the leave (the case that failed: a cold index loads everything on its first search).
  assert.deepEqual(await found(carol, 'meet'), [meet.id]);

  const left = waitFor(alice, 'member_left', (e) => e.user === 'carol');
  await carol.leaveRoom(id);
  await left;
  assert.deepEqual(await found(carol, 'meet'), [], 'a room left is not searched');

  const back = waitFor(alice, 'member_joined', (e) => e.user === 'carol');
  await carol.joinRoom(id);
  await back;
  assert.ok((await carol.history(room)).messages.some((m) => m.id === meet.id), 'history shows it');
  assert.deepEqual(await found(carol, 'meet'), [meet.id], 'found again after the rejoin, without a restart');
  assert.deepEqual(await found(carol, 'budget'), [plan.id], 'by its edited text');
  assert.deepEqual(await found(carol, 'old plan'), [], 'not by the text it had before');
  assert.deepEqual(await found(carol, 'secret'), [], 'a deleted message stays out');

  const kicked = waitFor(carol, 'member_kicked', (e) => e.user === 'carol');
  await alice.kick('team', 'carol');
  await kicked;
  assert.deepEqual(await found(carol, 'meet'), [], 'a room kicked from is not searched');
  const again = waitFor(alice, 'member_joined', (e) => e.user === 'carol');
  await carol.joinRoom(id);
  await again;
  assert.deepEqual(await found(carol, 'meet'), [meet.id], 'found again after a kick and a rejoin');
  assert.deepEqual(await found(carol, 'budget'), [plan.id]);
});
