// A member who leaves a room (her history of it stays readable) and joins it again gets what was
// deleted and edited while she was out (peer/rejoin-resend.ts): those actions were sealed in a
// session made while she was not a member, whose key she never gets, so the author sends them
// again in the session she gets. Her store and search then lose the deleted text, also after a
// restart, and show the edit; members who stayed are told nothing new.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PASSWORD, collect, makeEngine, roomOf, waitFor, type TestEngine } from '../helpers/engines.ts';
import { keepsNothingOf } from '../helpers/conversation.ts';
import { FAST_TRACKER_ARGS, startTracker } from '../helpers/tracker-process.ts';

const SECRET = 'salary review: dave gets 0%';

/** How `engine` shows the room's messages: "text", "(deleted)", "text (edited)". */
async function shown(engine: TestEngine, room: string): Promise<string[]> {
  const h = await engine.history({ room });
  return h.messages.map((m) => (m.deleted ? `(deleted)${m.text}` : `${m.text}${m.edited ? ' (edited)' : ''}`));
}

test('a member back in a room gets the deletes and edits made while she was out', { timeout: 180_000 }, async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const { engines, id } = await roomOf(t, tracker, ['alice', 'bob', 'carol'], 'team');
  const { alice, bob, carol } = engines;
  for (let i = 0; i < 100 && !alice.members(id).some((r) => r.user === 'carol'); i++) await new Promise((r) => setTimeout(r, 100));
  const got = [waitFor(carol, 'message', (m) => m.text.startsWith('salary')), waitFor(carol, 'message', (m) => m.text === 'meet at 10')];
  const m1 = await alice.sendRoom(id, `${SECRET} (meant for #managers)`);
  const m2 = await alice.sendRoom(id, 'meet at 10');
  await Promise.all(got);
  const left = waitFor(alice, 'member_left', (e) => e.user === 'carol');
  await carol.leaveRoom(id);
  await left;
  const atBob = [waitFor(bob, 'deleted', (e) => e.id === m1.id), waitFor(bob, 'edited', (e) => e.id === m2.id)];
  await alice.deleteMessage({ room: id }, m1.id);
  await alice.edit({ room: id }, m2.id, 'meet at 11 (moved)');
  await Promise.all(atBob);
  // From here on bob must be told nothing more about m1 and m2.
  const bobDeleted = collect(bob, 'deleted');
  const bobEdited = collect(bob, 'edited');

  const atCarol = [waitFor(carol, 'deleted', (e) => e.id === m1.id, 30_000), waitFor(carol, 'edited', (e) => e.id === m2.id && e.text === 'meet at 11 (moved)', 30_000)];
  await carol.joinRoom(id);
  await Promise.all(atCarol);
  assert.deepEqual(await shown(carol, id), ['(deleted)', 'meet at 11 (moved) (edited)']);
  keepsNothingOf(carol, id, SECRET);
  assert.deepEqual((await carol.search('salary')).results, []);
  assert.deepEqual((await carol.search('moved')).results.map((r) => r.id), [m2.id]);

  // Sent after the re-sent actions on the same links: once bob shows it, he has handled them.
  const hello = waitFor(bob, 'message', (m) => m.text === 'welcome back');
  await alice.sendRoom(id, 'welcome back');
  await hello;
  assert.deepEqual(bobDeleted, [], 'bob, who had the delete, is not told again');
  assert.deepEqual(bobEdited, [], 'nor the edit');
  assert.deepEqual(await shown(bob, id), ['(deleted)', 'meet at 11 (moved) (edited)', 'welcome back']);

  // After a restart carol's store and index still hold nothing of it.
  await carol.close();
  const carol2 = await makeEngine(t, tracker, { dataDir: carol.dataDir });
  await carol2.login('carol', PASSWORD);
  assert.deepEqual((await carol2.search('salary')).results, []);
  assert.deepEqual((await carol2.search('moved')).results.map((r) => r.id), [m2.id]);
  assert.deepEqual((await shown(carol2, id)).slice(0, 2), ['(deleted)', 'meet at 11 (moved) (edited)']);
  keepsNothingOf(carol2, id, SECRET);
});

test('after a kick too, from any author; an edit of a message sent while she was out never reaches her', { timeout: 180_000 }, async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const { engines, id } = await roomOf(t, tracker, ['alice', 'bob', 'carol'], 'team');
  const { alice, bob, carol } = engines;
  for (let i = 0; i < 100 && !bob.members(id).some((r) => r.user === 'carol'); i++) await new Promise((r) => setTimeout(r, 100));
  const got = [waitFor(carol, 'message', (m) => m.text.startsWith('salary')), waitFor(carol, 'message', (m) => m.text === 'meet at 10')];
  const m1 = await bob.sendRoom(id, `${SECRET} (meant for #managers)`);
  const m2 = await bob.sendRoom(id, 'meet at 10');
  await Promise.all(got);
  const kicked = waitFor(bob, 'member_kicked', (e) => e.user === 'carol');
  await alice.kick(id, 'carol');
  await kicked;
  const m3 = await bob.sendRoom(id, 'plan while carol is out');
  const atAlice = [waitFor(alice, 'deleted', (e) => e.id === m1.id), waitFor(alice, 'edited', (e) => e.id === m2.id), waitFor(alice, 'edited', (e) => e.id === m3.id)];
  await bob.deleteMessage({ room: id }, m1.id);
  await bob.edit({ room: id }, m2.id, 'meet at 11 (moved)');
  await bob.edit({ room: id }, m3.id, 'plan while carol is out, revised');
  await Promise.all(atAlice);

  const carolEdited = collect(carol, 'edited');
  const atCarol = [waitFor(carol, 'deleted', (e) => e.id === m1.id, 30_000), waitFor(carol, 'edited', (e) => e.id === m2.id, 30_000)];
  await carol.joinRoom(id);
  await Promise.all(atCarol);
  const hello = waitFor(carol, 'message', (m) => m.text === 'welcome back');
  await bob.sendRoom(id, 'welcome back');
  await hello;
  assert.deepEqual(await shown(carol, id), ['(deleted)', 'meet at 11 (moved) (edited)', 'welcome back']);
  assert.deepEqual(carolEdited.map((e) => e.id), [m2.id], 'nothing of m3, sent while she was out');
  keepsNothingOf(carol, id, 'plan while carol is out');
  assert.deepEqual((await carol.search('plan')).results, []);
  keepsNothingOf(carol, id, SECRET);
});
