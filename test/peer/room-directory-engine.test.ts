// The engine's room directory and joinRoom by id, against a real tracker: the directory follows
// the tracker's pushes without a request, and joining by id asks for no list.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TrackerSession } from '../../peer/tracker-session.ts';
import { FAST_TRACKER_ARGS, startTracker } from '../helpers/tracker-process.ts';
import { registered, roomOf, waitFor } from '../helpers/engines.ts';

/** Counts the requests of each type every engine in this process makes from now on. */
function countRequests(t: { after(fn: () => unknown): void }): Map<string, number> {
  const counts = new Map<string, number>();
  const original = TrackerSession.prototype.request;
  TrackerSession.prototype.request = function (this: TrackerSession, type: string, params: unknown) {
    counts.set(type, (counts.get(type) ?? 0) + 1);
    return (original as (type: string, params: unknown) => Promise<unknown>).call(this, type, params);
  } as typeof original;
  t.after(() => {
    TrackerSession.prototype.request = original;
  });
  return counts;
}

test('joinRoom by id makes no list_rooms request; by name exactly one', async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const { engines, id } = await roomOf(t, tracker, ['alice', 'bob'], 'general');
  const carol = await registered(t, tracker, 'carol');
  await engines.alice.createRoom('second');
  const counts = countRequests(t);
  const joined = await carol.joinRoom(id);
  assert.deepEqual(joined.members.sort(), ['alice', 'bob', 'carol']);
  assert.equal(counts.get('list_rooms') ?? 0, 0, `requests: ${JSON.stringify([...counts])}`);
  await carol.joinRoom('second');
  assert.equal(counts.get('list_rooms'), 1, 'by name: one filtered list');
  await assert.rejects(carol.joinRoom(id), { code: 'room.already_member' });
  await assert.rejects(carol.joinRoom('A'.repeat(43)), { code: 'room.not_found' });
});

test('the directory follows the tracker\'s pushes, with no list request', async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const alice = await registered(t, tracker, 'alice');
  const bob = await registered(t, tracker, 'bob');
  const counts = countRequests(t);
  const listed = waitFor(bob, 'directory_changed', (e) => e.rooms.some((r) => r.name === 'lobby'));
  const { id } = await alice.createRoom('lobby');
  assert.equal((await listed).rooms.find((r) => r.name === 'lobby')!.id, id);
  assert.equal(bob.directory().find((r) => r.id === id)?.members, 1);
  const grew = waitFor(bob, 'directory_changed', (e) => e.rooms.some((r) => r.id === id && r.members === 2));
  await bob.joinRoom(id);
  await grew;
  const closed = waitFor(bob, 'directory_changed', (e) => !e.rooms.some((r) => r.id === id));
  await alice.closeRoom(id);
  await closed;
  assert.equal(counts.get('list_rooms') ?? 0, 0);
});
