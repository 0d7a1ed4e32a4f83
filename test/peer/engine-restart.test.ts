// Accounts across data folders, and conversations that go on across tracker and peer restarts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FAST_TRACKER_ARGS, restartTracker, startTracker } from '../helpers/tracker-process.ts';
import { PASSWORD, makeEngine, registered, waitFor } from '../helpers/engines.ts';

test('register, log out, log in again, and log in from a second data folder with the same keys', async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const alice = await registered(t, tracker, 'alice');
  const fp = alice.fingerprint().fingerprint;
  await alice.logout();
  assert.equal(alice.user, undefined);
  await assert.rejects(alice.login('alice', 'plum vortex kayak marble 18'), { code: 'auth.bad_credentials' });
  await alice.login('alice', PASSWORD);
  assert.equal(alice.fingerprint().fingerprint, fp);

  const laptop = await makeEngine(t, tracker);
  await laptop.login('Alice', PASSWORD);
  assert.equal(laptop.user, 'alice');
  assert.equal(laptop.fingerprint().fingerprint, fp, 'the same identity keys, fetched encrypted from the tracker');
  const bob = await registered(t, tracker, 'bob');
  const got = waitFor(bob, 'message');
  await laptop.sendDirect('bob', 'from my laptop');
  assert.equal((await got).from, 'alice');
});

test('a tracker restart mid-conversation: clients resume with their token and the conversation goes on', async (t) => {
  const first = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const tracker = { host: first.host, port: first.port };
  const alice = await registered(t, tracker, 'alice');
  const bob = await registered(t, tracker, 'bob');
  await alice.createRoom('standup');
  const bobJoined = waitFor(alice, 'member_joined', (e) => e.user === 'bob');
  await bob.joinRoom('standup');
  await bobJoined;
  const one = waitFor(bob, 'message', (m) => m.text === 'one');
  await alice.sendRoom('standup', 'one');
  await one;

  const aliceBack = waitFor(alice, 'connection', (c) => c.state === 'online');
  const bobBack = waitFor(bob, 'connection', (c) => c.state === 'online');
  const reconnecting = waitFor(alice, 'connection', (c) => c.state === 'reconnecting');
  assert.equal(await first.stop(), 0);
  await reconnecting;
  // Peer links do not need the tracker: the conversation goes on while it is down.
  const two = waitFor(bob, 'message', (m) => m.text === 'two');
  await alice.sendRoom('standup', 'two');
  await two;
  await restartTracker(t, first, { args: [...FAST_TRACKER_ARGS, '--port', String(first.port)] });
  await Promise.all([aliceBack, bobBack]);

  // Room changes go through the tracker again, and messages still flow, without any password.
  const carol = await registered(t, tracker, 'carol');
  const joined = Promise.all([alice, bob].map((e) => waitFor(e, 'member_joined', (j) => j.user === 'carol')));
  await carol.joinRoom('standup');
  await joined;
  const three = waitFor(carol, 'message', (m) => m.text === 'three');
  await bob.sendRoom('standup', 'three');
  assert.equal((await three).from, 'bob');
});

test('a peer restart mid-conversation: it resumes from its data folder without a password', async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const alice = await registered(t, tracker, 'alice');
  const bob = await registered(t, tracker, 'bob');
  await alice.createRoom('ops');
  const bobJoined = waitFor(alice, 'member_joined', (e) => e.user === 'bob');
  await bob.joinRoom('ops');
  await bobJoined;
  const hello = waitFor(bob, 'message', (m) => m.text === 'hello');
  await alice.sendRoom('ops', 'hello');
  await hello;

  const wentOffline = waitFor(alice, 'presence', (p) => p.user === 'bob' && !p.online);
  await bob.close();
  await wentOffline;
  const cameBack = waitFor(alice, 'presence', (p) => p.user === 'bob' && p.online);
  const bob2 = await makeEngine(t, tracker, { dataDir: bob.dataDir });
  assert.equal(await bob2.resume(), true, 'resumed with the saved token');
  assert.equal(bob2.user, 'bob');
  await cameBack;

  const again = waitFor(bob2, 'message', (m) => m.text === 'welcome back');
  await alice.sendRoom('ops', 'welcome back');
  assert.equal((await again).from, 'alice');
  const reply = waitFor(alice, 'message', (m) => m.text === 'thanks');
  await bob2.sendRoom('ops', 'thanks');
  assert.equal((await reply).from, 'bob');
});

test('after a tracker restart, a client is told who came and went while it was down (no ghosts in presence)', async (t) => {
  const first = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const tracker = { host: first.host, port: first.port };
  const alice = await registered(t, tracker, 'alice');
  const bob = await registered(t, tracker, 'bob');
  const carol = await makeEngine(t, tracker);
  await carol.register('carol', PASSWORD);
  const reconnecting = waitFor(alice, 'connection', (c) => c.state === 'reconnecting');
  assert.equal(await first.stop(), 0);
  await reconnecting;
  // While the tracker is down: bob leaves for good, carol (registered, offline before) will come.
  await bob.close();
  const bobGone = waitFor(alice, 'presence', (p) => p.user === 'bob' && !p.online, 20_000);
  const carolCame = waitFor(alice, 'presence', (p) => p.user === 'carol' && p.online, 20_000);
  const aliceBack = waitFor(alice, 'connection', (c) => c.state === 'online', 20_000);
  await restartTracker(t, first, { args: [...FAST_TRACKER_ARGS, '--port', String(first.port)] });
  await carol.login('carol', PASSWORD);
  await aliceBack;
  await Promise.all([bobGone, carolCame]);
  assert.deepEqual((await alice.listPeers()).filter((p) => p.online).map((p) => p.user).sort(), ['alice', 'carol']);
});
