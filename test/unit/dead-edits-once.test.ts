// The edits an edit or delete makes dead are looked up once per action applied (peer/message-actions.ts
// applied hands them back; peer/room-messages.ts tombstones their held envelopes from that list),
// with a real tracker and real engines: the author's engine applying its own edit and delete, and
// a member's receiving them. Before, RoomMessages looked them up a second time (deadEditsAfter), one
// more indexed query for every edit or delete. What catch-up serves is unchanged: the deleted
// message's edit is tombstoned at both (test/peer/edit-then-delete.test.ts covers the rest).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MessageActions } from '../../peer/message-actions.ts';
import { roomOf, waitFor } from '../helpers/engines.ts';
import { storeOf } from '../helpers/conversation.ts';
import { FAST_TRACKER_ARGS, startTracker } from '../helpers/tracker-process.ts';

test('an edit and a delete each look up their dead edits once, at their author and at a member receiving them', async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const { engines, id } = await roomOf(t, tracker, ['alice', 'bob'], 'ops');
  const { alice, bob } = engines;
  const seen = waitFor(bob, 'message', (m) => m.text === 'the staging host is db-7');
  const m = await alice.sendRoom(id, 'the staging host is db-7');
  await seen;

  // Calls of deadEdits, by the engine (its MessageActions) that made them, from here on.
  const calls = new Map<MessageActions, string[]>();
  const deadEdits = MessageActions.prototype.deadEdits;
  t.mock.method(MessageActions.prototype, 'deadEdits', function (this: MessageActions, row: Parameters<typeof deadEdits>[0]) {
    calls.set(this, [...(calls.get(this) ?? []), row.action?.t ?? 'message']);
    return deadEdits.call(this, row);
  });
  const edited = waitFor(bob, 'edited', (e) => e.id === m.id);
  await alice.edit({ room: id }, m.id, 'the staging host is db-8');
  await edited;
  const deleted = waitFor(bob, 'deleted', (e) => e.id === m.id);
  await alice.deleteMessage({ room: id }, m.id);
  await deleted;

  assert.equal(calls.size, 2, "alice's engine and bob's");
  for (const made of calls.values()) assert.deepEqual(made, ['edit', 'delete'], 'once for each action applied');
  // The edit is dead with its message: neither serves it to catch-up.
  for (const engine of [alice, bob]) {
    const [edit] = storeOf(engine).history.actionsOn(id, m.id, ['edit'], { from: 'alice', limit: -1 });
    assert.ok(edit, `${engine.user} keeps the edit row`);
    assert.equal(edit.text, '', `${engine.user} keeps no text of it`);
    assert.equal(storeOf(engine).held.after(id, 'alice', edit.session, -1, 100).some((e) => e.seq === edit.seq), false, `${engine.user} does not serve it`);
  }
});
