// Messages written to a member who is offline while the tracker is down cannot be deposited then
// (peer/mailbox.ts refused: the tracker is not online). They go to the member's mailbox after the
// sender's client is back with the tracker: on its resume (the connection came back) and on its
// next sign-in (a restart), for every member with something waiting whom the tracker shows
// offline (Delivery.resumeAll). Before, only a later failed send deposited again: the member got
// none of them from the mailbox (0 of 5).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FAST_TRACKER_ARGS, restartTracker, startTracker } from '../helpers/tracker-process.ts';
import { away, PASSWORD, allowErrors, makeEngine, messagesShown, registered, waitFor, type TestEngine } from '../helpers/engines.ts';
import { inMailbox, mailboxHolds } from '../helpers/tracker-mailbox.ts';

const ARGS = [...FAST_TRACKER_ARGS, '--mailbox'];
const N = 5;

/** alice and bob, who wrote once; bob signed off and alice saw him go. */
async function pair(t: Parameters<typeof registered>[0], tracker: { host: string; port: number }): Promise<{ alice: TestEngine; bob: TestEngine }> {
  const alice = await registered(t, tracker, 'alice');
  const bob = await registered(t, tracker, 'bob');
  const acked = waitFor(alice, 'delivered', () => true, 30_000);
  await alice.sendDirect('bob', 'hello bob');
  await acked;
  await away(bob, alice);
  return { alice, bob };
}

/** The tracker stops; alice writes N messages to bob, which wait in her outbox. */
async function writeWhileTrackerDown(alice: TestEngine, tracker: { stop(): Promise<unknown> }): Promise<void> {
  // The tracker going away is reported (the connection is lost); the sends are not refused.
  allowErrors(alice, (e) => /tracker/.test(e.message));
  const lost = waitFor(alice, 'connection', (c) => c.state !== 'online');
  await tracker.stop();
  await lost;
  for (let i = 0; i < N; i++) await alice.sendDirect('bob', `written while the tracker was down ${i}`);
}

/** Bob comes back from his folder and is shown all N, from his mailbox (alice is gone). */
async function bobGetsThem(t: Parameters<typeof registered>[0], tracker: { host: string; port: number }, bob: TestEngine): Promise<void> {
  const bob2 = await makeEngine(t, tracker, { dataDir: bob.dataDir });
  const shown = messagesShown(bob2, N, (m) => m.text.startsWith('written while'), 60_000);
  await bob2.login('bob', PASSWORD);
  assert.equal((await shown).length, N);
}

test('after the sender reconnects to the tracker, what waited for an offline member goes to their mailbox', { timeout: 120_000 }, async (t) => {
  const tracker = await startTracker(t, { args: ARGS });
  const { alice, bob } = await pair(t, tracker);
  await writeWhileTrackerDown(alice, tracker);
  const back = waitFor(alice, 'connection', (c) => c.state === 'online', 60_000);
  const again = await restartTracker(t, tracker, { args: [...ARGS, '--port', String(tracker.port)] });
  await back;
  await mailboxHolds(again, 'alice', 'bob', N);
  await alice.close();
  assert.equal((await inMailbox(again, 'alice', 'bob')).n, N, 'each once');
  await bobGetsThem(t, again, bob);
});

test('after the sender restarts, what waited for an offline member goes to their mailbox at sign-in', { timeout: 120_000 }, async (t) => {
  const tracker = await startTracker(t, { args: ARGS });
  const { alice, bob } = await pair(t, tracker);
  await writeWhileTrackerDown(alice, tracker);
  await alice.close();
  const again = await restartTracker(t, tracker, { args: [...ARGS, '--port', String(tracker.port)] });
  const alice2 = await makeEngine(t, again, { dataDir: alice.dataDir });
  await alice2.login('alice', PASSWORD);
  await mailboxHolds(again, 'alice', 'bob', N);
  await alice2.close();
  assert.equal((await inMailbox(again, 'alice', 'bob')).n, N, 'each once');
  await bobGetsThem(t, again, bob);
});
