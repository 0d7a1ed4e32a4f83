// Leaving a room while my messages there reached no member yet would lose them (my outbox for the
// room goes with the leave; what reached one member spreads in catch-up): the leave is refused in
// words (room.undelivered) unless forced (peer/room-commands.ts leave, peer/outbox.ts unreached).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { away, makeEngine, PASSWORD, roomOf, waitFor, type TestEngine } from '../helpers/engines.ts';
import { storeOf } from '../helpers/conversation.ts';
import { FAST_TRACKER_ARGS, startTracker } from '../helpers/tracker-process.ts';

const SLOW = { timeout: 120_000 };

const inRoom = (e: TestEngine, id: string) => e.joinedRooms().some((r) => r.id === id);

test('a leave is refused while a message of mine reached no member; once one has it, or forced, it goes', SLOW, async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const { engines, id } = await roomOf(t, tracker, ['alice', 'bob'], 'ops');
  const { alice, bob } = engines;
  for (let i = 0; i < 100 && !alice.members(id).some((r) => r.user === 'bob' && r.online); i++) await new Promise((r) => setTimeout(r, 100));
  await away(bob, alice);
  await alice.sendRoom(id, 'the deploy key is in the vault');
  await assert.rejects(alice.leaveRoom(id), (err: { code?: string; message?: string }) => {
    assert.equal(err.code, 'room.undelivered');
    assert.match(err.message!, /1 of your messages there has not reached any member yet/);
    return true;
  });
  assert.ok(inRoom(alice, id), 'alice is still in the room');

  // bob comes back and gets it: nothing would be lost now.
  const again = await makeEngine(t, tracker, { dataDir: bob.dataDir });
  const delivered = waitFor(alice, 'delivered', (d) => d.roomId === id, 30_000);
  const got = waitFor(again, 'message', (m) => m.text.startsWith('the deploy key'), 30_000);
  await again.login('bob', PASSWORD);
  await Promise.all([got, delivered]);
  await away(again, alice);
  await alice.sendRoom(id, 'and one more');
  await assert.rejects(alice.leaveRoom(id), { code: 'room.undelivered' });
  await alice.leaveRoom(id, { force: true });
  assert.ok(!inRoom(alice, id), 'forced: alice left');
});

test('a message in a member\'s mailbox has reached them: the leave is not refused', SLOW, async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS, '--mailbox'] });
  const { engines, id } = await roomOf(t, tracker, ['alice', 'bob'], 'ops');
  const { alice, bob } = engines;
  for (let i = 0; i < 100 && !alice.members(id).some((r) => r.user === 'bob' && r.online); i++) await new Promise((r) => setTimeout(r, 100));
  await away(bob, alice);
  await alice.sendRoom(id, 'in the mailbox');
  // Until the tracker confirms the deposit, it reached nobody.
  for (let i = 0; i < 200 && storeOf(alice).outbox.unreached(id) > 0; i++) await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(storeOf(alice).outbox.pending().map((p) => p.waitingFor), [['bob']], 'still waiting for bob to take it from his mailbox');
  await alice.leaveRoom(id);
  assert.ok(!inRoom(alice, id), 'alice left once the mailbox held it');
});

test('closing a room is refused while a message of mine there has not reached every member (naming them); forced, it closes', SLOW, async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const { engines, id } = await roomOf(t, tracker, ['alice', 'bob', 'carol'], 'ops');
  const { alice, bob, carol } = engines;
  for (let i = 0; i < 100 && !alice.members(id).some((r) => r.user === 'carol' && r.online); i++) await new Promise((r) => setTimeout(r, 100));
  await away(carol, alice);
  // bob has it, carol does not: a leave would be fine (catch-up), a close would leave carol without it.
  const atBob = waitFor(bob, 'message', (m) => m.text === 'salary review (wrong room)');
  const m = await alice.sendRoom(id, 'salary review (wrong room)');
  await atBob;
  const deleted = waitFor(bob, 'deleted', (d) => d.id === m.id);
  await alice.deleteMessage({ room: id }, m.id);
  await deleted;
  await assert.rejects(alice.closeRoom(id), (err: { code?: string; message?: string }) => {
    assert.equal(err.code, 'room.undelivered');
    assert.match(err.message!, /1 of your messages there has not reached carol yet and never will once it is closed \(for a delete: they would keep the text\)/);
    return true;
  });
  assert.ok(inRoom(alice, id), 'the room is still open');
  await alice.closeRoom(id, { force: true });
  assert.ok(!inRoom(alice, id), 'forced: closed');
});
