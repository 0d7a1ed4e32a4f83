// A direct conversation that shows nothing yet is anyone's to start (accounts are free to make): a
// stranger's reactions and edits there naming messages bob does not have were kept, unseen, as
// each sender's newest few (8 edits of 64 KiB a stranger: +6.2 MiB for 4 strangers in an attacker's
// probe). They are not kept now; a delete is (a message arriving after its delete loses its text),
// and once the conversation shows a message the usual bound applies (MAX_PENDING_ACTIONS).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dmRoom } from '../../protocol/peer.ts';
import { collect, registered, waitFor } from '../helpers/engines.ts';
import { sendRawAction, storeOf } from '../helpers/conversation.ts';
import { FAST_TRACKER_ARGS, startTracker } from '../helpers/tracker-process.ts';

test('a stranger\'s reactions and edits naming nothing, in a direct conversation showing nothing, are not kept', { timeout: 120_000 }, async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const bob = await registered(t, tracker, 'bob');
  const errors = collect(bob, 'error');
  const mallory = await registered(t, tracker, 'mallory');
  const dm = dmRoom('mallory', 'bob');
  const big = 'x'.repeat(60 * 1024);
  for (let j = 0; j < 10; j++) {
    await sendRawAction(mallory, dm, { t: 'edit', of: `madeup-edit-${j}` }, big + j);
    await sendRawAction(mallory, dm, { t: 'react', of: `madeup-react-${j}`, emoji: '👍', on: true });
  }
  await sendRawAction(mallory, dm, { t: 'delete', of: 'madeup-delete' });
  // Then a message: everything before it in her session has been handled when bob shows it.
  const hi = waitFor(bob, 'message', (m) => m.text === 'hi');
  await mallory.sendDirect('bob', 'hi');
  await hi;
  const rows = (kind: string) => Number(storeOf(bob).db.get('SELECT count(*) AS n FROM messages WHERE conversation = ? AND kind = ?', [dm, kind])!.n);
  assert.equal(rows('edit'), 0, 'no edit of hers is kept');
  assert.equal(rows('react'), 0, 'no reaction of hers is kept');
  assert.equal(rows('delete'), 1, 'her delete is kept');

  // Now the conversation shows a message: a reaction naming one not here yet is kept (it may come).
  const later = waitFor(bob, 'message', (m) => m.text === 'and again');
  await sendRawAction(mallory, dm, { t: 'react', of: 'not-here-yet', emoji: '👍', on: true });
  await mallory.sendDirect('bob', 'and again');
  await later;
  assert.equal(rows('react'), 1, 'kept under the usual bound');
  assert.deepEqual(errors, []);
});
