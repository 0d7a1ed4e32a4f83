// Search across conversations (issue 12) with real engines and a real tracker: it finds words of
// messages received while offline, finds an edited message by its new text and not its old one,
// never finds a deleted one, scopes to a room or a direct conversation, and says who a direct
// conversation is with; the same after a restart (the index is built again from the sealed store);
// a room left is not searched.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isCoded } from '../../protocol/errors.ts';
import { FAST_TRACKER_ARGS, startTracker } from '../helpers/tracker-process.ts';
import { PASSWORD, makeEngine, roomOf, waitFor, type TestEngine } from '../helpers/engines.ts';
import { historyShows } from '../helpers/conversation.ts';

const presence = (engine: TestEngine, user: string, online: boolean) => waitFor(engine, 'presence', (p) => p.user === user && p.online === online);

test('search finds messages received while offline and edited text, never deleted text, in a room or a direct conversation, also after a restart', async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const { engines, id } = await roomOf(t, tracker, ['alice', 'bob'], 'planning');
  const { alice, bob } = engines;
  const gone = presence(alice, 'bob', false);
  await bob.close();
  await gone;

  const room = { room: id };
  const budget = await alice.sendRoom(id, 'The quarterly BUDGET review is on Thursday');
  const typo = await alice.sendRoom(id, 'see the attached spredsheet');
  await alice.edit(room, typo.id, 'see the attached spreadsheet');
  const oops = await alice.sendRoom(id, 'my password is hunter2 budget');
  await alice.deleteMessage(room, oops.id);
  const dm = await alice.sendDirect('bob', 'private note about the budget café');
  // The sender's own index is current at once.
  assert.deepEqual((await alice.search('budget')).results.map((r) => r.id), [dm.id, budget.id]);

  const bob2 = await makeEngine(t, tracker, { dataDir: bob.dataDir });
  await bob2.login('bob', PASSWORD);
  // The deleted one was never served to bob (away when it was deleted): two messages, one edited.
  await historyShows(bob2, room, (h) => h.messages.length === 2 && !h.messages.some((m) => m.id === oops.id) && h.messages.some((m) => m.edited === true));
  await historyShows(bob2, { user: 'alice' }, (h) => h.messages.length === 1);

  const check = async (engine: TestEngine) => {
    const all = await engine.search('budget');
    assert.deepEqual(all.results.map((r) => r.id), [dm.id, budget.id], `${engine.user}: newest first, the deleted one not found`);
    const [inDm, inRoom] = all.results;
    assert.equal(inDm!.room, 'alice', 'a direct conversation is named by the other person');
    assert.equal(inRoom!.room, 'planning');
    assert.equal(inRoom!.roomId, id);
    assert.equal(inRoom!.from, 'alice');
    assert.match(inRoom!.text, /BUDGET review/);
    assert.deepEqual((await engine.search('spreadsheet')).results.map((r) => r.id), [typo.id], 'found by its edited text');
    assert.deepEqual((await engine.search('spredsheet')).results, [], 'not by the text it had before');
    assert.deepEqual((await engine.search('hunter2')).results, [], 'a deleted message is never found');
    assert.deepEqual((await engine.search('cafe')).results.map((r) => r.id), [dm.id], 'accents folded');
    assert.deepEqual((await engine.search('budget', { room: 'planning' })).results.map((r) => r.id), [budget.id], 'scoped to a room by name');
    assert.deepEqual((await engine.search('budget', { room: 'alice' })).results.map((r) => r.id), [dm.id], 'scoped to the direct conversation with a user');
    assert.deepEqual((await engine.search('budget', { limit: 1 })).results.map((r) => r.id), [dm.id]);
    await assert.rejects(engine.search('budget', { room: 'nowhere' }), (err) => isCoded(err) && err.code === 'room.not_found');
  };
  await check(bob2);

  // Built again from the sealed store after a restart.
  await bob2.close();
  const bob3 = await makeEngine(t, tracker, { dataDir: bob.dataDir });
  await bob3.login('bob', PASSWORD);
  await check(bob3);

  // A room left is not searched any more, also after a restart (its history stays readable).
  await bob3.leaveRoom(id);
  assert.deepEqual((await bob3.search('budget')).results.map((r) => r.id), [dm.id]);
  await bob3.close();
  const bob4 = await makeEngine(t, tracker, { dataDir: bob.dataDir });
  await bob4.login('bob', PASSWORD);
  assert.deepEqual((await bob4.search('budget')).results.map((r) => r.id), [dm.id]);
  assert.equal((await bob4.history(room)).messages.length, 2, 'the left room\'s history is still here');
});
