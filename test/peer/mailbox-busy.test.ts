// A deposit the tracker refuses for now (server.busy) is tried again on a backoff
// (peer/mailbox.ts retryLater) while the tracker stays online. Before, it was reported as an error
// and the messages waited only in the sender's outbox until a later failed send or sign-in.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FAST_TRACKER_ARGS, startTracker } from '../helpers/tracker-process.ts';
import { away, registered, waitFor } from '../helpers/engines.ts';
import { startLyingTracker, type Frame } from '../helpers/lying-tracker.ts';
import { inMailbox, mailboxHolds } from '../helpers/tracker-mailbox.ts';

test('a deposit refused with server.busy is tried again, and the mailbox then holds the message', { timeout: 60_000 }, async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS, '--mailbox'] });
  // In front of the real tracker: relays everything, and answers alice's first deposit "busy".
  const lie = await startLyingTracker(t, tracker);
  const alice = await registered(t, lie, 'alice');
  const bob = await registered(t, lie, 'bob');
  const acked = waitFor(alice, 'delivered', () => true, 30_000);
  await alice.sendDirect('bob', 'hello bob');
  await acked;
  await away(bob, alice);

  const refused: Frame[] = [];
  lie.toTracker((frame, ctx) => {
    if (frame.type !== 'mailbox_put' || ctx.user !== 'alice' || refused.length) return frame;
    refused.push(frame);
    ctx.reply({ id: frame.id, ok: false, error: { code: 'server.busy', message: 'the mailbox is busy; retry in a moment' } });
    return null;
  });
  await alice.sendDirect('bob', 'while the mailbox was busy');
  await mailboxHolds(tracker, 'alice', 'bob', 1);
  assert.equal(refused.length, 1, 'the first deposit was refused');
  assert.equal((await inMailbox(tracker, 'alice', 'bob')).n, 1);
});
