// A member back with only the tracker's mailbox (`node tracker --mailbox`), everyone else offline:
// my receipts, toggles and edits that a newer one superseded were withdrawn from their mailbox
// (peer/outbox.ts add), so my later envelopes of that session came with holes where they were, and
// peer/gaps.ts counted them as missing ("78 messages from alice not received yet", false: nothing
// that mattered was lost). The newer action names what it covers (protocol/message-actions.ts
// `covers`): nothing is shown missing, and the message, read position, reaction and edit arrive.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FAST_TRACKER_ARGS, startTracker } from '../helpers/tracker-process.ts';
import { PASSWORD, collect, makeEngine, roomOf, waitFor, away } from '../helpers/engines.ts';

const N = 6;

test('back from the mailbox alone, the superseded receipts, toggles and edits are not shown missing', { timeout: 120_000 }, async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS, '--mailbox'] });
  const { engines, id } = await roomOf(t, tracker, ['alice', 'carol'], 'team');
  const { alice, carol } = engines;
  await away(carol, alice);
  const m = await alice.sendRoom(id, 'the release is blocked, do not deploy');
  const n = await alice.sendRoom(id, 'details follow');
  // The position ends at the furthest, 👍 ends on (N is even), the edit at its last text.
  for (let i = 0; i < N; i++) {
    await alice.markRead({ room: id }, i % 2 === 0 ? m.id : n.id);
    await alice.react({ room: id }, m.id, '👍', i % 2 === 1);
    await alice.edit({ room: id }, n.id, `details follow (${i})`);
  }
  const last = await alice.sendRoom(id, 'the end');
  await alice.close();

  const carol2 = await makeEngine(t, tracker, { dataDir: carol.dataDir });
  const gaps = collect(carol2, 'gap');
  const shown = collect(carol2, 'message');
  const end = waitFor(carol2, 'message', (x) => x.text === 'the end', 60_000);
  await carol2.login('carol', PASSWORD);
  await end;
  assert.deepEqual(shown.map((x) => x.id), [m.id, n.id, last.id], 'the three messages, once each');
  const fromAlice = gaps.filter((g) => g.from === 'alice');
  assert.equal(fromAlice.at(-1)?.missing ?? 0, 0, `carol is told nothing of alice's is missing (gap events: ${JSON.stringify(fromAlice.map((g) => g.missing))})`);
  const page = await carol2.history({ room: id }, { limit: 10 });
  assert.equal(page.gaps, undefined, `the newest page shows nothing missing (${JSON.stringify(page.gaps)})`);
  assert.deepEqual(carol2.reads({ room: id }), [{ user: 'alice', upTo: n.id, mine: null }], 'alice\'s furthest position');
  assert.deepEqual(page.messages.find((x) => x.id === m.id)?.reactions, [{ emoji: '👍', users: ['alice'] }]);
  assert.equal(page.messages.find((x) => x.id === n.id)?.text, `details follow (${N - 1})`, 'the last edit');
  assert.deepEqual(page.messages.map((x) => x.text), ['the release is blocked, do not deploy', `details follow (${N - 1})`, 'the end']);
});
