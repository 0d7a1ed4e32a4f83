// My read receipts and reaction toggles that a newer one of mine covers leave the outbox
// (peer/outbox.ts add): a member away is waited for with the message, my furthest receipt and the
// newest toggle of each emoji, not with every one I sent. Before, each waited 14 days, and 10,000
// receipts + 10,000 toggles filled the outbox (OUTBOX_MAX_ENTRIES) and pushed a real message out
// undelivered. The member back still gets the message, my read position and each emoji's state.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PASSWORD, makeEngine, roomOf, waitFor, away } from '../helpers/engines.ts';
import { FAST_TRACKER_ARGS, startTracker } from '../helpers/tracker-process.ts';

/** Receipts and toggles of each emoji sent while carol is away (odd: each emoji ends opposite to how it began). */
const N = 61;

test('superseded receipts and toggles stop waiting for a member away; back, they get the message, the read position and each reaction\'s state', { timeout: 120_000 }, async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const { engines, id } = await roomOf(t, tracker, ['alice', 'bob', 'carol'], 'team');
  const { alice, bob, carol } = engines;
  await away(carol, alice);
  const important = await alice.sendRoom(id, 'the release is blocked, do not deploy');
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) {
    const seen = waitFor(alice, 'message', (m) => m.text === `b${i}`);
    await bob.sendRoom(id, `b${i}`);
    ids.push((await seen).id);
  }
  // Read positions cycle (a later receipt may name an earlier message) and end at the furthest;
  // 👍 ends on, 🎉 ends off.
  let lastRead = '';
  let thumbs = '';
  let party = '';
  for (let i = 0; i < N; i++) {
    lastRead = (await alice.markRead({ room: id }, ids[(i + 4) % ids.length]!)).messageId;
    thumbs = (await alice.react({ room: id }, ids[0]!, '👍', i % 2 === 0)).messageId;
    party = (await alice.react({ room: id }, ids[0]!, '🎉', i % 2 === 1)).messageId;
  }
  const forCarol = (await alice.outbox()).pending.filter((p) => p.waitingFor.includes('carol')).map((p) => p.id);
  assert.deepEqual(forCarol.sort(), [important.id, lastRead, thumbs, party].sort(), `the message, the newest receipt and one toggle per emoji wait for carol (of ${3 * N + 1} sent)`);

  // Carol back: the entries that waited reach her (her acks end them in alice's outbox).
  const delivered = [important.id, lastRead, thumbs, party].map((m) => waitFor(alice, 'delivered', (e) => e.id === m && e.count === e.of, 60_000));
  const carol2 = await makeEngine(t, tracker, { dataDir: carol.dataDir });
  const shown = waitFor(carol2, 'message', (m) => m.id === important.id, 60_000);
  await carol2.login('carol', PASSWORD);
  await shown;
  await Promise.all(delivered);
  assert.deepEqual(carol2.reads({ room: id }).filter((r) => r.user === 'alice'), [{ user: 'alice', upTo: ids[4], mine: null }], 'alice\'s read position is her furthest');
  const page = await carol2.history({ room: id }, { limit: 50 });
  const first = page.messages.find((m) => m.id === ids[0]);
  assert.deepEqual(first?.reactions, [{ emoji: '👍', users: ['alice'] }], '👍 on, 🎉 off');
  assert.ok(page.messages.some((m) => m.id === important.id && m.text === 'the release is blocked, do not deploy'));
  assert.deepEqual((await alice.outbox()).pending.filter((p) => p.waitingFor.includes('carol')), [], 'nothing waits for carol');
});
