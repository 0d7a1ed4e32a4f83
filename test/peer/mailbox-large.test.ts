// Deposits in the tracker's mailbox are paged by bytes as well as items (peer/mailbox.ts pages):
// 20 long messages (60 KB each) for a member who is away made one request over the tracker's
// 1 MiB limit, refused every time, so none reached her.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FAST_TRACKER_ARGS, startTracker } from '../helpers/tracker-process.ts';
import { away, PASSWORD, makeEngine, messagesShown, roomOf } from '../helpers/engines.ts';
import { inMailbox } from '../helpers/tracker-mailbox.ts';

test('20 messages of 60 KB for a member who is away all go to her mailbox, and she gets them all', { timeout: 120_000 }, async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS, '--mailbox'] });
  const { engines } = await roomOf(t, tracker, ['alice', 'carol'], 'any');
  const { alice, carol } = engines;
  await away(carol, alice);
  const N = 20;
  for (let i = 0; i < N; i++) await alice.sendDirect('carol', `log ${i} ${'x'.repeat(60_000)}`);
  // Her close lets deposits finish.
  await alice.close();
  assert.equal((await inMailbox(tracker, 'alice', 'carol')).n, N);
  const again = await makeEngine(t, tracker, { dataDir: carol.dataDir });
  const all = messagesShown(again, N, (m) => m.from === 'alice', 60_000);
  await again.login('carol', PASSWORD);
  assert.equal((await all).length, N);
});
