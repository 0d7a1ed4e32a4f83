// An author edits one message at most MAX_EDITS_NAMED times (issue 12): a delete names every edit
// of its message, so members who were away close those holes; a 65th edit would be one the
// delete cannot name, a gap for ever on every member who was away. Refused with words instead.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isCoded } from '../../protocol/errors.ts';
import { MAX_EDITS_NAMED } from '../../protocol/message-actions.ts';
import { roomOf, waitFor } from '../helpers/engines.ts';
import { FAST_TRACKER_ARGS, startTracker } from '../helpers/tracker-process.ts';

test(`an author's edit beyond ${MAX_EDITS_NAMED} of one message is refused with words; other messages still edit`, async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const { engines, id } = await roomOf(t, tracker, ['alice', 'bob'], 'status');
  const { alice, bob } = engines;
  const room = { room: id };
  const m = await alice.sendRoom(id, 'build status: pending');
  for (let i = 1; i <= MAX_EDITS_NAMED; i++) await alice.edit(room, m.id, `build status: step ${i}`);
  await assert.rejects(alice.edit(room, m.id, 'build status: one too many'), (err) => {
    assert.ok(isCoded(err) && err.code === 'request.invalid', String(err));
    assert.match(err.message, new RegExp(`edited that message ${MAX_EDITS_NAMED} times.*send a new message instead`));
    return true;
  });
  const last = `build status: step ${MAX_EDITS_NAMED}`;
  const [shown] = (await alice.history(room, { limit: 1 })).messages;
  assert.equal(shown?.text, last);
  assert.equal(shown?.edited, true);

  // Bob has the last edit; another message of alice's still edits.
  const other = await alice.sendRoom(id, 'lunch?');
  const edited = waitFor(bob, 'edited', (e) => e.id === other.id);
  await alice.edit(room, other.id, 'lunch at noon?');
  assert.equal((await edited).text, 'lunch at noon?');
  const page = await bob.history(room, { limit: 2 });
  assert.equal(page.messages.find((x) => x.id === m.id)?.text, last);
});
