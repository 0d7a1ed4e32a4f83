// A message sent while its recipient was online but never acknowledged (their client suspended,
// then killed: the link took it, nobody read it) goes to the tracker's mailbox when the tracker
// says they went offline (peer/tracker-events.ts presence, Delivery.wentOffline). Before, it
// waited only in the sender's outbox, and reached the member only when both were online together.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FAST_TRACKER_ARGS, startTracker } from '../helpers/tracker-process.ts';
import { PASSWORD, registered, waitFor } from '../helpers/engines.ts';
import { PeerProcess, messageShown, signedInPeer } from '../helpers/peer-process.ts';
import { inMailbox, mailboxHolds } from '../helpers/tracker-mailbox.ts';

test('a message the member never acknowledged goes to their mailbox when they go offline, and they get it from there', { timeout: 120_000 }, async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS, '--mailbox'] });
  const address = `${tracker.host}:${tracker.port}`;
  const alice = await registered(t, tracker, 'alice');
  const { peer: bob0, data: bobData } = await signedInPeer(t, address, 'bob', PASSWORD, 'p2p-unacked-bob-');
  // A link to bob that works: the first message is acknowledged. His exit saves alice's key.
  const acked = waitFor(alice, 'delivered', () => true, 30_000);
  await alice.sendDirect('bob', 'hello bob');
  await acked;
  await bob0.ok({ cmd: 'exit' });
  await bob0.exited;
  const back = waitFor(alice, 'presence', (p) => p.user === 'bob' && p.online, 60_000);
  const bob = new PeerProcess({ tracker: address, data: bobData, label: 'bob' });
  t.after(() => bob.stop());
  await bob.waitEvent('ready', () => true, 60_000);
  await back;
  const again = waitFor(alice, 'delivered', () => true, 30_000);
  await alice.sendDirect('bob', 'hello again');
  await again;
  // A send that failed on the way (an old address) deposited: counted, it is not the one looked for.
  const before = (await inMailbox(tracker, 'alice', 'bob')).n;

  // Bob's client stops reading (a suspended laptop): the second message goes over the live link
  // and is never acknowledged. Then it is killed: the tracker says he is offline.
  process.kill(bob.pid, 'SIGSTOP');
  const sent = await alice.sendDirect('bob', 'never acknowledged');
  assert.deepEqual((await alice.outbox()).pending.map((m) => [m.id, m.waitingFor]), [[sent.id, ['bob']]]);
  const gone = waitFor(alice, 'presence', (p) => p.user === 'bob' && !p.online, 30_000);
  await bob.stop('SIGKILL');
  await gone;
  await mailboxHolds(tracker, 'alice', 'bob', before + 1);
  assert.equal((await inMailbox(tracker, 'alice', 'bob')).n, before + 1, 'the unacknowledged message, once');

  // Alice leaves; bob comes back and is shown it: from his mailbox, the only place it can come from.
  await alice.close();
  const bob2 = new PeerProcess({ tracker: address, data: bobData, label: 'bob2' });
  t.after(() => bob2.stop());
  await messageShown(bob2, 'never acknowledged', 60_000);
});
