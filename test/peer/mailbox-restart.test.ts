// What the tracker's mailbox (`node tracker --mailbox`) confirmed holding is not deposited again
// after its sender restarts (peer/mailbox.ts, the `deposited` mark of peer/outbox.ts). The tracker
// does not deduplicate: each copy is a row of its own, counted against the recipient's and the
// sender's quotas, and taken by the recipient again (who shows it once: the copy is a duplicate).
// A message withdrawn from the mailbox (deleted) does not come back after the restart either.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FAST_TRACKER_ARGS, startTracker, type TrackerProcess } from '../helpers/tracker-process.ts';
import { away, PASSWORD, collect, makeEngine, roomOf, waitFor } from '../helpers/engines.ts';
import { queryDb } from '../helpers/tracker-accounts-extra.ts';
import { inMailbox } from '../helpers/tracker-mailbox.ts';

/** Envelopes held more than once (the same session and seq). */
const copies = async (tracker: TrackerProcess) =>
  (await queryDb<{ n: number }>(tracker.dbPath, 'SELECT COUNT(*) AS n FROM (SELECT 1 FROM mailbox WHERE seq IS NOT NULL GROUP BY recipient, room, session, seq HAVING COUNT(*) > 1)'))[0].n;

test('after the sender restarts, only what the mailbox does not hold yet is deposited; a withdrawn message does not come back', async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS, '--mailbox'] });
  const { engines } = await roomOf(t, tracker, ['alice', 'carol'], 'any');
  const { alice, carol } = engines;
  await away(carol, alice);

  const secret = 'the gate code is 8812-heron';
  const m = await alice.sendDirect('carol', secret);
  for (let i = 0; i < 30; i++) await alice.sendDirect('carol', `before ${i}`);
  const withdrawn = tracker.waitForOutput(/mailbox items withdrawn .*depositor=alice recipient=carol/, 30_000);
  await alice.deleteMessage({ user: 'carol' }, m.id);
  assert.match(await withdrawn, /removed=1\b/);
  // Her close lets deposits finish: 30 messages and the delete are in carol's mailbox.
  await alice.close();
  const first = await inMailbox(tracker, 'alice', 'carol');
  assert.equal(first.n, 31);

  // She comes back from her folder (a reload) and writes once more: only that one is deposited.
  const alice2 = await makeEngine(t, tracker, { dataDir: alice.dataDir });
  await alice2.login('alice', PASSWORD);
  await alice2.sendDirect('carol', 'after the restart');
  await alice2.close();
  const second = await inMailbox(tracker, 'alice', 'carol');
  assert.equal(second.n, 32, `one more envelope, not the ${first.n} she had deposited already (${second.bytes - first.bytes} bytes added)`);
  assert.equal(await copies(tracker), 0, 'no envelope is held twice');

  // Carol gets each message once, and never the deleted one.
  const carol2 = await makeEngine(t, tracker, { dataDir: carol.dataDir });
  const shown = collect(carol2, 'message');
  const end = waitFor(carol2, 'message', (x) => x.text === 'after the restart', 60_000);
  await carol2.login('carol', PASSWORD);
  await end;
  assert.equal(shown.filter((x) => x.text.startsWith('before ')).length, 30);
  assert.equal(new Set(shown.map((x) => x.id)).size, shown.length, 'none shown twice');
  assert.equal(shown.some((x) => x.text.includes(secret)), false, 'the withdrawn message never came back');
});
