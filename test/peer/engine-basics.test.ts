import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FAST_TRACKER_ARGS, startTracker } from '../helpers/tracker-process.ts';
import { registered, waitFor } from '../helpers/engines.ts';

test('two engines: a room message and a direct message arrive, and are acknowledged', async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const alice = await registered(t, tracker, 'alice');
  const bob = await registered(t, tracker, 'bob');
  await alice.createRoom('general');
  const bobIn = waitFor(alice, 'member_joined', (e) => e.user === 'bob');
  await bob.joinRoom('general');
  await bobIn;

  const got = waitFor(bob, 'message', (m) => m.room === 'general');
  const delivered = waitFor(alice, 'delivered');
  const sent = await alice.sendRoom('general', 'hello bob');
  const m = await got;
  assert.equal(m.text, 'hello bob');
  assert.equal(m.from, 'alice');
  assert.equal(m.id, sent.id);
  assert.equal(m.direct, false);
  assert.deepEqual(await delivered, { room: 'general', roomId: m.roomId, id: sent.id, count: 1, of: 1 });

  const dm = waitFor(alice, 'message', (e) => e.direct);
  await bob.sendDirect('alice', 'psst');
  const d = await dm;
  assert.equal(d.room, 'dm:alice:bob');
  assert.equal(d.text, 'psst');
});
