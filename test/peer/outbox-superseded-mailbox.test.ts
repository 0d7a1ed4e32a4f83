// Through the tracker's mailbox (`node tracker --mailbox`): my receipts and toggles that a newer
// one covers are not deposited for a member away, and a copy deposited already is withdrawn
// (peer/outbox.ts add, peer/mailbox.ts withdraw): before, every one went into their mailbox
// (MAILBOX_MAX_ITEMS_PER_USER, 5,000), ahead of my later messages. The member back, with me
// offline, still gets the message, my read position and the reaction's state from the mailbox.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FAST_TRACKER_ARGS, startTracker, type TrackerProcess } from '../helpers/tracker-process.ts';
import { PASSWORD, collect, makeEngine, roomOf, waitFor, away } from '../helpers/engines.ts';
import { queryDb } from '../helpers/tracker-accounts-extra.ts';

const N = 40;
/** Envelopes `from` has waiting for `to` in the tracker's mailbox (its database, read directly). */
const inMailbox = async (tracker: TrackerProcess, from: string, to: string) =>
  (await queryDb<{ n: number }>(tracker.dbPath, 'SELECT COUNT(*) AS n FROM mailbox WHERE depositor = ? AND recipient = ? AND seq IS NOT NULL', from, to))[0].n;

test('superseded receipts and toggles leave the mailbox of a member away; back, they get the newest from it', { timeout: 120_000 }, async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS, '--mailbox'] });
  const { engines, id } = await roomOf(t, tracker, ['alice', 'carol'], 'team');
  const { alice, carol } = engines;
  await away(carol, alice);
  const m = await alice.sendRoom(id, 'the release is blocked, do not deploy');
  const n = await alice.sendRoom(id, 'details follow');
  // The position ends at the furthest, 👍 ends on (N is even).
  for (let i = 0; i < N; i++) {
    await alice.markRead({ room: id }, i % 2 === 0 ? m.id : n.id);
    await alice.react({ room: id }, m.id, '👍', i % 2 === 1);
  }
  await alice.sendRoom(id, 'the end');
  // Shutdown lets deposits and withdrawals finish; then only the mailbox holds what carol lacks.
  await alice.close();
  const held = await inMailbox(tracker, 'alice', 'carol');
  if (process.env.P2P_DEBUG) console.log(`alice's envelopes in carol's mailbox: ${held} of ${2 * N + 3}`);
  assert.ok(held < N / 2, `${held} of alice's envelopes are in carol's mailbox (${2 * N + 3} sent): about the 3 messages, the newest receipt and toggle`);

  const carol2 = await makeEngine(t, tracker, { dataDir: carol.dataDir });
  const shown = collect(carol2, 'message');
  const end = waitFor(carol2, 'message', (x) => x.text === 'the end', 60_000);
  await carol2.login('carol', PASSWORD);
  await end;
  assert.deepEqual(shown.map((x) => x.text), ['the release is blocked, do not deploy', 'details follow', 'the end']);
  assert.deepEqual(carol2.reads({ room: id }), [{ user: 'alice', upTo: n.id, mine: null }], 'alice\'s furthest position');
  const page = await carol2.history({ room: id }, { limit: 10 });
  assert.deepEqual(page.messages.find((x) => x.id === m.id)?.reactions, [{ emoji: '👍', users: ['alice'] }]);
});
