// An edit goes in the room's current session, which every member now reads: a member who joined
// after the message (never given its key) would get its new text. Such an edit is refused in words
// (peer/conversation-actions.ts edit); a message everyone now was there for is edited as before.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { registered, roomOf, seesMember, waitFor } from '../helpers/engines.ts';
import { filesHolding } from '../helpers/files-under.ts';
import { FAST_TRACKER_ARGS, startTracker } from '../helpers/tracker-process.ts';

test('an edit that would show a newcomer the new text of a message from before they joined is refused; later messages are edited as before', { timeout: 60_000 }, async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const { engines, id } = await roomOf(t, tracker, ['alice', 'bob'], 'ops');
  const { alice, bob } = engines;
  const atBob = waitFor(bob, 'message', (m) => m.text === 'the key is in the usual place');
  const old = await alice.sendRoom(id, 'the key is in the usual place');
  await atBob;
  const dave = await registered(t, tracker, 'dave');
  await dave.joinRoom(id);
  await seesMember(alice, id, 'dave');
  await assert.rejects(alice.edit({ room: id }, old.id, 'SECRET-ROTATED: the key is under the mat'), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'request.invalid');
    assert.match(err.message, /^dave joined ops after this message: .*delete it and send a new message instead$/);
    return true;
  });
  // A message dave was there for is edited, and the edit reaches him and bob.
  const atDave = waitFor(dave, 'message', (m) => m.text === 'deploy at five');
  const later = await alice.sendRoom(id, 'deploy at five');
  await atDave;
  const edited = Promise.all([bob, dave].map((e) => waitFor(e, 'edited', (x) => x.id === later.id && x.text === 'deploy at six')));
  await alice.edit({ room: id }, later.id, 'deploy at six');
  await edited;
  assert.deepEqual(filesHolding(dave.dataDir, 'SECRET-ROTATED'), [], "the refused edit's text reached no file of dave's");
  const h = await bob.history({ room: id });
  assert.equal(h.messages.find((m) => m.id === old.id)?.text, 'the key is in the usual place');
});

test('a member who was there for the message, left and came back, is no newcomer: the edit goes out and reaches them', { timeout: 60_000 }, async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const { engines, id } = await roomOf(t, tracker, ['alice', 'bob'], 'ops');
  const { alice, bob } = engines;
  const atBob = waitFor(bob, 'message', (m) => m.text === 'deploy at five');
  const m = await alice.sendRoom(id, 'deploy at five');
  await atBob;
  const left = waitFor(alice, 'member_left', (e) => e.user === 'bob');
  await bob.leaveRoom(id);
  await left;
  const back = waitFor(alice, 'member_joined', (e) => e.user === 'bob');
  await bob.joinRoom(id);
  await back;
  const edited = waitFor(bob, 'edited', (e) => e.id === m.id && e.text === 'deploy at six');
  await alice.edit({ room: id }, m.id, 'deploy at six');
  await edited;
});
