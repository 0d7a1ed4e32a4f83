// A burst by an honest member (real tracker, real engines): bob sends 1,001 messages in a row, 11
// of his sender sessions (100 messages each), while alice keeps 8 per sender. Before, the first
// send opened bob's link to alice; both sent their catch-up summaries as it opened, bob's sends
// queued meanwhile went out live, and his answer to alice's summary (which held nothing of his
// yet) sent every message and session key again on the same link. Alice had evicted his oldest
// sessions by then and refused each of their keys with a `session.ended` error the user saw
// (nothing was lost: she had every message). A catch-up answer now leaves out what its link
// carried already (peer/link-carried.ts); a forwarded old key of an evicted session is still
// refused and said.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PeerMessage } from '../../protocol/peer.ts';
import type { Signed } from '../../peer/signed-session.ts';
import { collect, messagesShown, roomOf, waitFor } from '../helpers/engines.ts';
import { storeOf } from '../helpers/conversation.ts';
import { linkTo, savedKeys } from '../helpers/proxy.ts';
import { FAST_TRACKER_ARGS, startTracker } from '../helpers/tracker-process.ts';

const BURST = 1001;

test('an honest burst through more sessions than a receiver keeps: every message arrives once, no error; a forwarded evicted session key is still refused', { timeout: 120_000 }, async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const { engines, id } = await roomOf(t, tracker, ['alice', 'bob', 'mallory'], 'ops');
  const { alice, bob, mallory } = engines;
  const keys = { alice: savedKeys(alice, 'alice'), mallory: savedKeys(mallory, 'mallory') };
  // mallory is away during the burst (bob's sends to her wait in his outbox); she comes back by hand.
  const away = waitFor(bob, 'presence', (p) => p.user === 'mallory' && !p.online);
  await mallory.close();
  await away;

  const errors = collect(alice, 'error');
  // Every envelope of bob's that reaches alice, live or by catch-up, counted per message.
  const carried = new Map<string, number>();
  (alice as unknown as { s: Signed }).s.pool.on('message', (from: string, msg: PeerMessage) => {
    if (from !== 'bob' || msg.t !== 'envelope') return;
    const k = `${msg.envelope.session} ${msg.envelope.seq}`;
    carried.set(k, (carried.get(k) ?? 0) + 1);
  });
  const shown = messagesShown(alice, BURST, (m) => m.roomId === id && m.from === 'bob', 60_000);
  const started = performance.now();
  for (let i = 0; i < BURST; i++) await bob.sendRoom(id, `burst ${i}`);
  const got = await shown;
  const tookMs = performance.now() - started;
  assert.deepEqual(got.map((m) => m.text), Array.from({ length: BURST }, (_, i) => `burst ${i}`), 'every message, once, in order');
  // Delivered: bob's outbox waits only for mallory (and every ack came after the copies would have).
  const delivered = async () => (await bob.outbox()).pending.every((p) => p.waitingFor.join() === 'mallory');
  while (!(await delivered())) await waitFor(bob, 'delivered', () => true);
  const total = [...carried.values()].reduce((a, b) => a + b, 0);
  t.diagnostic(`${BURST} messages: all shown at alice in ${tookMs.toFixed(0)} ms; ${total} envelopes reached her; ${errors.length} errors`);
  assert.deepEqual(errors, [], 'no session key refused, no error');
  const twice = [...carried.values()].filter((n) => n > 1).length;
  assert.equal(carried.size, BURST);
  assert.equal(twice, 0, `${twice} messages reached alice more than once`);

  // A replay stays refused: mallory (by hand) forwards bob's oldest session key, which alice
  // evicted, and its first message.
  const { held } = storeOf(alice);
  const bundles = held.summary(id).filter((s) => s.sender === 'bob').map((s) => held.bundle(id, 'bob', s.session)!);
  assert.equal(bundles.length, Math.ceil(BURST / 100));
  const oldest = bundles.sort((a, b) => a.created - b.created)[0];
  const [first] = held.after(id, 'bob', oldest.session, -1, 1);
  const link = await linkTo(t, alice, keys.mallory, keys.alice);
  const acked = new Promise<void>((resolve) => link.on('message', (m: PeerMessage) => m.t === 'ack' && m.session === oldest.session && resolve()));
  const again = collect(alice, 'message');
  const refused = waitFor(alice, 'error', (e) => e.code === 'session.ended');
  link.send({ t: 'session', bundle: oldest });
  link.send({ t: 'envelope', envelope: first });
  assert.match((await refused).message, /refused a session key from bob: a newer session of bob's replaced it here/);
  await acked; // the copy of a message she holds is acknowledged, not shown
  assert.deepEqual(again, [], 'nothing shown again');
});
