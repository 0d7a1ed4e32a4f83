// What the user is told waits in the outbox (a close or leave refused, "N of your messages") counts
// messages, edits and deletes, not the read receipts and reaction toggles the view sent: a close
// was refused over "5 of your messages" that were 3 receipts and 2 toggles (an attacker pass).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allowErrors, away, roomOf, waitFor } from '../helpers/engines.ts';
import { FAST_TRACKER_ARGS, startTracker } from '../helpers/tracker-process.ts';

test('receipts and toggles waiting for members away are not "messages" that stop a close; a message is', { timeout: 120_000 }, async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const { engines, id } = await roomOf(t, tracker, ['alice', 'bob', 'carol'], 'team');
  const { alice, bob, carol } = engines;
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) {
    const got = waitFor(alice, 'message', (m) => m.text === `b${i}`);
    ids.push((await bob.sendRoom(id, `b${i}`)).id);
    await got;
  }
  // A link between the two closing may be cut mid-handshake: said, and nothing to do with this test.
  allowErrors(carol, (e) => e.code === 'link.closed');
  allowErrors(bob, (e) => e.code === 'link.closed');
  await away(carol, alice);
  await away(bob, alice);
  // Nobody has these: each of them reached no member.
  for (const m of ids) await alice.markRead({ room: id }, m);
  await alice.react({ room: id }, ids[0]!, '👍', true);
  await alice.react({ room: id }, ids[1]!, '🎉', true);
  assert.ok((await alice.outbox()).pending.filter((p) => p.waitingFor.includes('carol')).length >= 3, 'the receipts and toggles wait for carol');
  await alice.sendRoom(id, 'only in my outbox');
  await assert.rejects(alice.closeRoom(id), /^.*\b1 of your messages there has not reached/, 'the message is counted, alone (the old code said 4)');
});
