// Replay protection that outlives a crash and a rejoin (issue 7, item 5), with a real `node tracker`
// and the receiver as a real `node peer --json` process. A member may store and forward any
// envelope and bundle (DESIGN.md "Delivery"), so a member forwarding what was already shown is
// the attack: the receiver must never show it again, whether it was SIGKILLed right after showing
// it, or left the room and joined again. "Not shown" is proved the STYLE.md way: a good marker
// sent after the replays, over the same link, arrives, and nothing else did.

import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { ChatEngine } from '../../peer/engine.ts';
import type { PeerLink } from '../../peer/link.ts';
import { registered, waitFor, type TestEngine } from '../helpers/engines.ts';
import { checkPeerBundle, messageShown, startWatchedPeer } from '../helpers/peer-process.ts';
import { freePort, HandSession, linkTo, savedHead, savedKeys, type AccountKeys } from '../helpers/proxy.ts';
import { FAST_TRACKER_ARGS, startTracker, type TrackerProcess } from '../helpers/tracker-process.ts';

const SLOW = { timeout: 240_000 };
const EVENT_MS = 60_000;

interface World {
  tracker: TrackerProcess;
  alice: TestEngine;
  bobDir: string;
  bobPort: number;
  room: string;
  keys: Record<'alice' | 'bob' | 'mallory', AccountKeys>;
}

/**
 * alice owns `lab`, bob and mallory joined it. bob's and mallory's engines are closed: bob comes
 * back as a `node peer` process on his data folder, and the test speaks for mallory (a member
 * who forwards) and, by hand, for alice's old sessions. alice's engine stays, to follow the log.
 */
async function world(t: TestContext): Promise<World> {
  checkPeerBundle();
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const bobPort = await freePort();
  const alice = await registered(t, tracker, 'alice');
  const bob = await registered(t, tracker, 'bob', { peerPort: bobPort });
  const mallory = await registered(t, tracker, 'mallory');
  const { id: room } = await alice.createRoom('lab');
  await bob.joinRoom('lab');
  const seen = waitFor(alice, 'member_joined', (e) => e.user === 'mallory');
  await mallory.joinRoom('lab');
  await seen;
  const keys = { alice: savedKeys(alice, 'alice'), bob: savedKeys(bob, 'bob'), mallory: savedKeys(mallory, 'mallory') };
  const gone = waitFor(alice, 'presence', (p) => p.user === 'bob' && !p.online, EVENT_MS);
  await Promise.all([bob.close(), mallory.close()]);
  await gone;
  return { tracker, alice, bobDir: bob.dataDir, bobPort, room, keys };
}

/** bob as a `node peer --json` process on his data folder (it resumes his session), ready. */
function startBob(t: TestContext, w: World, label: string) {
  return startWatchedPeer(t, { tracker: `${w.tracker.host}:${w.tracker.port}`, data: w.bobDir, port: w.bobPort, label }, EVENT_MS);
}

/** A link to bob's process as `as` (a member who forwards what it was given). */
function linkToBob(t: TestContext, w: World, as: AccountKeys): Promise<PeerLink> {
  return linkTo(t, { peerPort: w.bobPort } as ChatEngine, as, w.keys.bob);
}

test('a receiver SIGKILLed right after it shows a message does not show it again when a member forwards it after the restart', SLOW, async (t) => {
  const w = await world(t);
  const head = savedHead(w.alice, w.room);
  const everShown: string[] = [];
  for (let round = 0; round < 3; round++) {
    const alice = new HandSession(w.keys.alice, w.room, head, [w.keys.bob, w.keys.mallory]);
    const texts = Array.from({ length: 5 }, (_, i) => `round ${round} message ${i}`);
    const envelopes = texts.map((text) => alice.envelope(text));

    // bob shows the first one and is killed at once (what got out before the kill is counted).
    const first = await startBob(t, w, `bob (round ${round})`);
    const killed = new Promise<void>((resolve) => {
      first.peer.on('event', (e) => {
        if (e.event !== 'message' || !first.peer.running) return;
        first.peer.child.kill('SIGKILL');
        resolve();
      });
    });
    const link = await linkToBob(t, w, w.keys.alice);
    link.send({ t: 'session', bundle: alice.bundle });
    for (const envelope of envelopes) link.send({ t: 'envelope', envelope });
    await killed;
    await first.peer.exited;
    link.close();
    assert.ok(first.shown.length >= 1, 'bob showed a message before he was killed');

    // Restarted, bob is sent the same bundle and every envelope again by mallory, then a new
    // message of the same session as the marker.
    const second = await startBob(t, w, `bob again (round ${round})`);
    const forward = await linkToBob(t, w, w.keys.mallory);
    const marker = `round ${round} marker`;
    const markerShown = messageShown(second.peer, marker, EVENT_MS);
    forward.send({ t: 'session', bundle: alice.bundle });
    for (const envelope of envelopes) forward.send({ t: 'envelope', envelope });
    forward.send({ t: 'envelope', envelope: alice.envelope(marker) });
    await markerShown;
    forward.close();
    await second.peer.stop();

    const again = second.shown.filter((text) => first.shown.includes(text));
    assert.deepEqual(again, [], `shown before the SIGKILL (${first.shown.join(', ')}) and again after the restart`);
    // What the kill cut off before it was shown may be shown now, once; nothing else.
    assert.deepEqual(second.shown, [...texts.filter((x) => !first.shown.includes(x)), marker]);
    everShown.push(...first.shown, ...second.shown);
  }
  assert.equal(new Set(everShown).size, everShown.length, 'no text was shown twice');
});

test('after leaving and joining again, a member forwarding old bundles and envelopes shows none of them, also after a restart', SLOW, async (t) => {
  const w = await world(t);
  const oldHead = savedHead(w.alice, w.room);
  const alice = new HandSession(w.keys.alice, w.room, oldHead, [w.keys.bob, w.keys.mallory]);
  const texts = ['before leaving 1', 'before leaving 2', 'before leaving 3'];
  const envelopes = texts.map((text) => alice.envelope(text));

  const run1 = await startBob(t, w, 'bob');
  let link = await linkToBob(t, w, w.keys.mallory);
  const last = messageShown(run1.peer, texts.at(-1)!, EVENT_MS);
  link.send({ t: 'session', bundle: alice.bundle });
  for (const envelope of envelopes) link.send({ t: 'envelope', envelope });
  await last;
  assert.deepEqual(run1.shown, texts);

  // bob leaves and joins again; alice follows the log.
  const left = waitFor(w.alice, 'member_left', (e) => e.user === 'bob', EVENT_MS);
  await run1.peer.ok({ cmd: 'leave_room', room: 'lab' });
  await left;
  const back = waitFor(w.alice, 'member_joined', (e) => e.user === 'bob', EVENT_MS);
  await run1.peer.ok({ cmd: 'join_room', room: 'lab' });
  await back;
  const newHead = savedHead(w.alice, w.room);
  const current = new HandSession(w.keys.alice, w.room, newHead, [w.keys.bob, w.keys.mallory]);

  // mallory forwards alice's old bundle and envelopes: refused; then a message of a session at
  // the new head, on the same link, is shown.
  const replayBefore = run1.shown.length;
  const ended = run1.peer.waitEvent('error', (e) => e.code === 'session.ended', EVENT_MS);
  let marker = messageShown(run1.peer, 'after rejoining', EVENT_MS);
  link.send({ t: 'session', bundle: alice.bundle });
  for (const envelope of envelopes) link.send({ t: 'envelope', envelope });
  link.send({ t: 'session', bundle: current.bundle });
  link.send({ t: 'envelope', envelope: current.envelope('after rejoining') });
  await marker;
  assert.deepEqual(run1.shown.slice(replayBefore), ['after rejoining']);
  await ended;
  link.close();
  await run1.peer.stop();

  // The record survives a restart: the same replays, then the current session's next message.
  const run2 = await startBob(t, w, 'bob restarted');
  link = await linkToBob(t, w, w.keys.mallory);
  const endedAgain = run2.peer.waitEvent('error', (e) => e.code === 'session.ended', EVENT_MS);
  marker = messageShown(run2.peer, 'after the restart', EVENT_MS);
  link.send({ t: 'session', bundle: alice.bundle });
  for (const envelope of envelopes) link.send({ t: 'envelope', envelope });
  link.send({ t: 'session', bundle: current.bundle });
  link.send({ t: 'envelope', envelope: current.envelope('after the restart') });
  await marker;
  assert.deepEqual(run2.shown, ['after the restart']);
  await endedAgain;
});
