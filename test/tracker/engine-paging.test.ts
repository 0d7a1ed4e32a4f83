// The chat engine against a tracker whose every list comes in small pages (issue 7, item 6): a
// tracker with many rooms once answered list_rooms with one answer bigger than its queue limit
// and dropped whoever asked, so join_room failed for everyone with "cannot reach the tracker".
// Now join_room looks one room up by name, list_rooms and the login and resume answers follow
// the pages, and nobody is dropped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PASSWORD, makeEngine, registered } from '../helpers/engines.ts';
import { startRamTracker } from '../helpers/rooms.ts';

test('with 60 rooms, --page-size 5 and a 1 KiB queue limit, the engine lists, joins and resumes with every room', async (t) => {
  const tracker = await startRamTracker(t, ['--page-size', '5', '--max-queue-bytes', '1024']);
  const owner = await registered(t, tracker, 'owner');
  const names = Array.from({ length: 60 }, (_, i) => `hall${String(i).padStart(2, '0')}`);
  for (const name of names) await owner.createRoom(name);

  const joiner = await registered(t, tracker, 'joiner');
  const listed = await joiner.listRooms();
  assert.deepEqual(listed.map((r) => r.name), names);
  for (const name of names.slice(40, 52)) await joiner.joinRoom(name);
  assert.deepEqual(joiner.joinedRooms().map((r) => r.name).sort(), names.slice(40, 52));
  assert.ok((await joiner.listPeers()).some((p) => p.user === 'owner' && p.online));

  // A new engine on the same data folder resumes with the token.
  const dataDir = joiner.dataDir;
  await joiner.close();
  const again = await makeEngine(t, tracker, { dataDir });
  assert.equal(await again.resume('joiner'), true);
  assert.deepEqual(again.joinedRooms().map((r) => r.name).sort(), names.slice(40, 52));
  await again.joinRoom('hall07');
  // Another machine (an empty data folder) knows the rooms only from the login answer, which
  // holds five of the thirteen: the session fetched the rest.
  const elsewhere = await makeEngine(t, tracker);
  await elsewhere.login('joiner', PASSWORD);
  assert.deepEqual(elsewhere.joinedRooms().map((r) => r.name).sort(), ['hall07', ...names.slice(40, 52)]);
  assert.doesNotMatch(tracker.output(), /slow_consumer/);
});
